import { defineConfig } from "vitest/config";

// Three projects: each worker's suites run inside workerd; e2e runs both workers together.
export default defineConfig({
  test: {
    projects: [
      "test/admin/vitest.config.ts",
      "test/edge/vitest.config.ts",
      "test/e2e/vitest.config.ts",
    ],
  },
});
