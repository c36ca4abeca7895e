import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { fakeAdmin } from "./fake-admin";
import { fakeTelemetry, fakeTelemetryRecords } from "./fake-telemetry";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "../../workers/edge/wrangler.toml" },
      miniflare: {
        // The isolate cache is off for HTTP tests so every request reads KV; the cache itself is
        // tested directly with a fake clock in isolate-cache.test.ts.
        bindings: { ISOLATE_CACHE_TTL_MS: "0" },
        // The telemetry worker is someone else's deployable: a Node stand-in that records what
        // the edge forwards (fake-telemetry.ts). The second binding reads those records back.
        serviceBindings: {
          TELEMETRY: fakeTelemetry,
          FAKE_TELEMETRY_RECORDS: fakeTelemetryRecords,
          ADMIN: fakeAdmin,
        },
      },
    }),
  ],
  test: {
    name: "edge",
    root: import.meta.dirname,
    include: ["**/*.test.ts"],
    // A thousand-unit assignment sweep on a busy 2-core machine takes seconds, not milliseconds.
    // A hang still fails, just later.
    testTimeout: 20_000,
  },
});
