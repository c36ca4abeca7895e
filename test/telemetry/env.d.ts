declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** INGEST_LIMITER's limit in the tests (see vitest.config.ts). */
    TEST_RATE_LIMIT: number;
  }
}
