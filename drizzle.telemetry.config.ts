import { defineConfig } from "drizzle-kit";

// The telemetry worker's own D1 database (workers/telemetry/wrangler.toml): `npm run db:generate`
// runs drizzle-kit with this config too.
export default defineConfig({
  dialect: "sqlite",
  schema: "./workers/telemetry/db/schema.ts",
  out: "./migrations/telemetry",
});
