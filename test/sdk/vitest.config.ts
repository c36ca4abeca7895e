import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The SDK and CLI run in Node (and browsers/Workers, which need nothing Node-specific from the
// library): unit tests use injected fetch and clocks; platform.test.ts drives the real workers
// served by Miniflare (scripts/platform.ts), as an app or a developer's terminal would.
export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    name: "sdk",
    environment: "node",
    include: ["test/sdk/**/*.test.ts"],
    // Bundling both workers and applying migrations takes 10–20 s on a small machine.
    testTimeout: 60_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
