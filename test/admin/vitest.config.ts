import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";

const root = path.resolve(import.meta.dirname, "../..");

export default defineProject(async () => ({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: path.join(root, "wrangler.toml") },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations(path.join(root, "migrations")),
          ADMIN_BOOTSTRAP_TOKEN: "test-admin-token",
        },
      },
    }),
  ],
  test: {
    name: "admin",
    include: ["test/admin/**/*.test.ts"],
    root,
    setupFiles: ["test/admin/apply-migrations.ts"],
  },
}));
