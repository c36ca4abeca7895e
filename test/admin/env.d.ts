declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
  }
  // Types `exports.default` from "cloudflare:workers" as the admin worker's default export.
  interface GlobalProps {
    mainModule: typeof import("../../workers/admin/index");
  }
}
