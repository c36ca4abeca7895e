import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { exportJWK, generateKeyPair } from "jose";
import { defineProject } from "vitest/config";
import { ECHO_PROVIDER, echoingProvider } from "./echo-provider";
import { fakeTelemetry } from "./telemetry-fake";

const root = path.resolve(import.meta.dirname, "../..");

/** A stand-in Cloudflare Access team: its signing key is made here, its public keys served below. */
export const ACCESS_TEAM = "https://cuecard-test.cloudflareaccess.com";

export default defineProject(async () => {
  const accessKeys = await generateKeyPair("RS256", { extractable: true });
  const publicJwk = { ...(await exportJWK(accessKeys.publicKey)), kid: "test-key", alg: "RS256" };
  const privateJwk = { ...(await exportJWK(accessKeys.privateKey)), kid: "test-key", alg: "RS256" };
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: path.join(root, "wrangler.toml") },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: await readD1Migrations(path.join(root, "migrations")),
            ADMIN_BOOTSTRAP_TOKEN: "test-admin-token",
            // 32 bytes, base64: seals model provider API keys in D1 (tests only).
            SECRETS_ENCRYPTION_KEY: "dGVzdHMgb25seTogbm90IGEgcmVhbCBzZWFsaW5nIGs=",
            ACCESS_TEAM_DOMAIN: ACCESS_TEAM,
            ACCESS_AUD: "test-aud",
            ACCESS_PROJECT: "default",
            ACCESS_MEMBERS: "boss@acme.test=admin,*@acme.test=editor",
            TEST_ACCESS_SIGNING_JWK: JSON.stringify(privateJwk),
          },
          // The telemetry worker is another team's deployable: a Node stand-in answers for it.
          serviceBindings: { TELEMETRY: fakeTelemetry },
          // The worker fetches the team's public keys over the network; answer that one URL here.
          outboundService: (request: Request) => {
            if (request.url === `${ACCESS_TEAM}/cdn-cgi/access/certs`) {
              return Response.json({ keys: [publicJwk] });
            }
            if (request.url.startsWith(`${ECHO_PROVIDER}/`)) return echoingProvider(request);
            return fetch(request);
          },
        },
      }),
    ],
    // The UI's JSX is Hono's (tsconfig says so; Vite's transformer must be told too).
    oxc: { jsx: { runtime: "automatic" as const, importSource: "hono/jsx" } },
    esbuild: { jsx: "automatic" as const, jsxImportSource: "hono/jsx" },
    test: {
      name: "admin",
      include: ["test/admin/**/*.test.ts"],
      root,
      setupFiles: ["test/admin/apply-migrations.ts"],
      // Republish and webhook-retry tests make hundreds of D1/KV calls: on a busy 2-core machine
      // they take seconds, not milliseconds. A hang still fails, just later.
      testTimeout: 20_000,
    },
  };
});
