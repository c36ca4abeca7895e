declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    /** Private JWK of the stand-in Cloudflare Access team (see vitest.config.ts). */
    TEST_ACCESS_SIGNING_JWK: string;
  }
  // Types `exports.default` from "cloudflare:workers" as the admin worker's default export.
  interface GlobalProps {
    mainModule: typeof import("../../workers/admin/index");
  }
}

/** A file's text, imported with Vite's `?raw` suffix (the README's tables, say). */
declare module "*?raw" {
  const text: string;
  export default text;
}
