import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Runs in Node against the real workers served by Miniflare (see scripts/platform.ts), not inside
// workerd: these tests drive the platform over HTTP the way users and apps do.
export default defineConfig({
  // The repository root, whether this file is run directly or as a project of a root config.
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    name: "e2e",
    environment: "node",
    include: ["test/e2e/**/*.test.ts"],
    // Bundling both workers and applying migrations takes 10–20 s on a small machine.
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // One platform per file is heavy enough; don't start several at once.
    fileParallelism: false,
  },
});
