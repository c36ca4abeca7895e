import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Runs in Node: starts both workers with Miniflare (scripts/platform.ts) and drives the admin UI
// in Chromium through playwright-core (test/ui/browser.ts), the way a prompt author uses it.
export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    name: "ui",
    environment: "node",
    include: ["test/ui/**/*.test.ts"],
    // A browser journey of a dozen pages on a shared 2-core machine.
    testTimeout: 120_000,
    // Building and starting both workers takes minutes when other work shares the 2 cores.
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
