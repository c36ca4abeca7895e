import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Runs in Node: these tests drive the build tooling (biome, wrangler, the bundle check) the way CI
// does, against fixture files, to prove that each boundary rule fails a build that breaks it.
export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    name: "build",
    environment: "node",
    include: ["test/build/**/*.test.ts"],
    // One wrangler bundle of the real edge takes 5–10 s on a small, busy machine.
    testTimeout: 60_000,
  },
  // docs.test.ts asks the admin app (its UI is hono/jsx) for its OpenAPI document in process.
  oxc: { jsx: { runtime: "automatic" as const, importSource: "hono/jsx" } },
});
