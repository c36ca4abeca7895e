import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Pure rules of @cuecard/core (assignment, telemetry arithmetic) against outside known answers.
// The same files run in the edge and the SDK, so Node is enough to check them.
export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    name: "core",
    environment: "node",
    include: ["test/core/**/*.test.ts"],
  },
});
