import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./workers/platform/db/schema.ts",
  out: "./migrations",
});
