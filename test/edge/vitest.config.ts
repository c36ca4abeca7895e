import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "../../workers/edge/wrangler.toml" },
      // The isolate cache is off for HTTP tests so every request reads KV; the cache itself is
      // tested directly with a fake clock in isolate-cache.test.ts.
      miniflare: { bindings: { ISOLATE_CACHE_TTL_MS: "0" } },
    }),
  ],
  test: {
    name: "edge",
    root: import.meta.dirname,
    include: ["**/*.test.ts"],
  },
});
