import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./workers/admin/db/schema.ts",
  out: "./migrations",
});
