import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";

const root = path.resolve(import.meta.dirname, "../..");

/** Ingest requests per key and minute in these tests (rate-limit.test.ts reads it as a binding). */
const RATE_LIMIT_IN_TESTS = 10;

export default defineProject(async () => ({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: path.join(root, "workers/telemetry/wrangler.toml") },
      miniflare: {
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations(path.join(root, "migrations/telemetry")),
          TEST_RATE_LIMIT: RATE_LIMIT_IN_TESTS,
        },
        // The production limit (600 a minute) takes too many requests to reach in a test; the
        // limiter itself is the real one. Each test sends with a key of its own.
        ratelimits: {
          INGEST_LIMITER: {
            namespace_id: "1101",
            simple: { limit: RATE_LIMIT_IN_TESTS, period: 60 },
          },
        },
      },
    }),
  ],
  test: {
    name: "telemetry",
    include: ["test/telemetry/**/*.test.ts"],
    root,
    setupFiles: ["test/telemetry/apply-migrations.ts"],
    // Ingest tests wait for the real queue to deliver to the consumer (a batch every 2 s).
    testTimeout: 20_000,
  },
}));
