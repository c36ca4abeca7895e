import { defineConfig } from "vitest/config";

// Each worker's suites (admin, edge, telemetry) run inside workerd; e2e runs both workers
// together; ui drives the admin UI in Chromium against both workers; build runs the build tooling
// against fixtures in Node.
export default defineConfig({
  test: {
    projects: [
      "test/admin/vitest.config.ts",
      "test/edge/vitest.config.ts",
      "test/telemetry/vitest.config.ts",
      "test/e2e/vitest.config.ts",
      "test/sdk/vitest.config.ts",
      "test/build/vitest.config.ts",
      "test/core/vitest.config.ts",
      "test/ui/vitest.config.ts",
    ],
  },
});
