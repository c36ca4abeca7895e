import { env } from "cloudflare:workers";
import { generateKey, hashKey } from "@cuecard/core/keys";
import { KV_FORMAT, readKeyRecordKey } from "@cuecard/core/kv-records";
import { describe, expect, it } from "vitest";
import { edgeFetch, problemOf } from "./edge-client";
import { encodeName, seedPrompt, seedReadKey, uniqueName, uniqueProject } from "./factories";

/**
 * Browser apps calling the edge: preflights, the CORS headers of actual responses, the project's
 * allowed origins and a key's narrower ones, and browser keys (origins only, scores at most).
 */

const DEV_ORIGINS = ["http://localhost:*", "http://127.0.0.1:*"];

/** A project allowing the dev origins, a key of it and one published prompt. */
async function project(options: Omit<Parameters<typeof seedReadKey>[0], "project"> = {}) {
  const projectId = uniqueProject();
  const key = await seedReadKey({ origins: DEV_ORIGINS, ...options, project: projectId });
  const seeded = await seedPrompt({ project: projectId, templates: ["Hello {{customer}}"] });
  return {
    project: projectId,
    key,
    name: seeded.name,
    path: `/v1/prompts/${encodeName(seeded.name)}`,
  };
}

function preflight(
  path: string,
  origin: string | undefined,
  method = "GET",
  headers = "authorization",
) {
  const requestHeaders: Record<string, string> = {
    "access-control-request-method": method,
    "access-control-request-headers": headers,
  };
  if (origin !== undefined) requestHeaders.origin = origin;
  return edgeFetch(path, { method: "OPTIONS", headers: requestHeaders });
}

const allowOrigin = (response: Response) => response.headers.get("access-control-allow-origin");
const exposed = (response: Response) =>
  (response.headers.get("access-control-expose-headers") ?? "")
    .split(",")
    .map((header) => header.trim().toLowerCase());

describe("CORS preflight", () => {
  it("answers 204 for an http(s) origin on every route, with the route's method, the SDK's headers and a max age", async () => {
    const routes: [string, string][] = [
      ["/v1/prompts/support%2Ftriage", "GET"],
      ["/v1/prompts?names=a,b", "GET"],
      ["/v1/prompts/support%2Ftriage/render", "POST"],
      ["/v1/events", "POST"],
      ["/v1/scores", "POST"],
      ["/v1/otel/v1/traces", "POST"],
    ];
    for (const [path, method] of routes) {
      const response = await preflight(
        path,
        "http://127.0.0.1:4173",
        method,
        "authorization, content-type, if-none-match",
      );
      expect(response.status, path).toBe(204);
      expect(allowOrigin(response), path).toBe("http://127.0.0.1:4173");
      expect(response.headers.get("access-control-allow-methods"), path).toBe(method);
      const allowed = (response.headers.get("access-control-allow-headers") ?? "").toLowerCase();
      for (const header of ["authorization", "content-type", "if-none-match", "cuecard-unit"]) {
        expect(allowed, path).toContain(header);
      }
      expect(response.headers.get("access-control-max-age"), path).toBe("7200");
      expect(response.headers.get("vary"), path).toContain("Origin");
      // A preflight never needs the key: none was sent, and it carries no body.
      expect(await response.text()).toBe("");
    }
  });

  it("refuses an origin no project can allow (null, another scheme, none) without CORS headers", async () => {
    for (const origin of [
      "null",
      "file://",
      "chrome-extension://abcdef",
      "http://a.test/path",
      undefined,
    ]) {
      const response = await preflight("/v1/prompts/x", origin);
      expect(response.status, String(origin)).toBe(403);
      expect(allowOrigin(response), String(origin)).toBeNull();
      expect(response.headers.get("access-control-allow-methods")).toBeNull();
      expect((await problemOf(response)).code).toBe("origin_not_allowed");
    }
  });
});

describe("CORS on actual requests", () => {
  it("grants an allowed origin (a :* pattern matches any port) and exposes ETag and the Cuecard-* headers", async () => {
    const { key, path } = await project();
    const response = await edgeFetch(path, { key, headers: { origin: "http://localhost:5173" } });
    expect(response.status).toBe(200);
    expect(allowOrigin(response)).toBe("http://localhost:5173");
    expect(response.headers.get("vary")).toBe("Origin");
    for (const header of ["etag", "cuecard-version", "cuecard-cache", "server-timing"]) {
      expect(exposed(response)).toContain(header);
    }
    // Never credentials: the key travels in Authorization, cookies are not involved.
    expect(response.headers.get("access-control-allow-credentials")).toBeNull();
    expect(await response.json()).toMatchObject({ version: 1 });

    // Revalidation answers a 304 a page can see too.
    const etag = response.headers.get("etag") as string;
    const again = await edgeFetch(path, {
      key,
      headers: { origin: "http://127.0.0.1:8080", "if-none-match": etag },
    });
    expect(again.status).toBe(304);
    expect(allowOrigin(again)).toBe("http://127.0.0.1:8080");
    expect(again.headers.get("vary")).toBe("Origin");
  });

  it("gives an origin the project does not allow no CORS headers, and still varies by Origin", async () => {
    const { key, path } = await project();
    for (const origin of [
      "https://evil.example",
      "https://localhost:5173", // another scheme than the pattern's
      "http://localhost.evil.example:5173", // a host that only starts like an allowed one
      "http://127.0.0.1.evil.example",
    ]) {
      const response = await edgeFetch(path, { key, headers: { origin } });
      // A server key: the response is not withheld from non-browser callers forwarding Origin,
      // but without Access-Control-Allow-Origin no page on that origin can read it.
      expect(response.status, origin).toBe(200);
      expect(allowOrigin(response), origin).toBeNull();
      expect(response.headers.get("access-control-expose-headers"), origin).toBeNull();
      expect(response.headers.get("vary"), origin).toBe("Origin");
    }
    const withoutOrigin = await edgeFetch(path, { key });
    expect(allowOrigin(withoutOrigin)).toBeNull();
    expect(withoutOrigin.headers.get("vary")).toBe("Origin");
  });

  it("grants no origin to a project that lists none, nor to a key record published before origins existed", async () => {
    const none = await project({ origins: [] });
    const response = await edgeFetch(none.path, {
      key: none.key,
      headers: { origin: "http://localhost:3000" },
    });
    expect(response.status).toBe(200);
    expect(allowOrigin(response)).toBeNull();

    const old = generateKey("reader");
    await env.PROMPTS_KV.put(
      readKeyRecordKey(await hashKey(old)),
      JSON.stringify({
        format: KV_FORMAT,
        keyId: uniqueName("key"),
        projectId: none.project,
        role: "reader",
        expiresAt: null,
        sendTelemetry: true,
      }),
    );
    const oldResponse = await edgeFetch(none.path, {
      key: old,
      headers: { origin: "http://localhost:3000" },
    });
    expect(oldResponse.status).toBe(200);
    expect(allowOrigin(oldResponse)).toBeNull();
  });

  it("lets a key narrow its project's origins: an origin must be allowed by both", async () => {
    const { key, path } = await project({
      origins: ["http://localhost:*", "https://app.example.com", "https://admin.example.com"],
      keyOrigins: ["https://app.example.com", "https://not-in-the-project.example"],
    });
    const app = await edgeFetch(path, { key, headers: { origin: "https://app.example.com" } });
    expect(allowOrigin(app)).toBe("https://app.example.com");
    for (const origin of [
      "http://localhost:5173",
      "https://admin.example.com",
      "https://not-in-the-project.example",
    ]) {
      const response = await edgeFetch(path, { key, headers: { origin } });
      expect(allowOrigin(response), origin).toBeNull();
    }
  });

  it("shows problems to an allowed page (404, 422) and a bad key's 401 to any page, but nothing to another origin", async () => {
    const { key } = await project();
    const origin = "http://localhost:3000";
    const missing = await edgeFetch("/v1/prompts/no-such-prompt", { key, headers: { origin } });
    expect(missing.status).toBe(404);
    expect(allowOrigin(missing)).toBe(origin);
    expect(missing.headers.get("vary")).toBe("Origin");
    const invalid = await edgeFetch("/v1/prompts/x?version=0", { key, headers: { origin } });
    expect(invalid.status).toBe(422);
    expect(allowOrigin(invalid)).toBe(origin);
    const elsewhere = await edgeFetch("/v1/prompts/no-such-prompt", {
      key,
      headers: { origin: "https://evil.example" },
    });
    expect(elsewhere.status).toBe(404);
    expect(allowOrigin(elsewhere)).toBeNull();

    // An unknown key tells a page nothing about any project: the SDK can report the 401.
    const unknown = await edgeFetch("/v1/prompts/x", {
      key: generateKey("reader"),
      headers: { origin: "https://anywhere.example" },
    });
    expect(unknown.status).toBe(401);
    expect(allowOrigin(unknown)).toBe("https://anywhere.example");
  });

  it("grants batch reads and renders, with Vary and the exposed headers", async () => {
    const { key, name, path } = await project();
    const origin = "http://127.0.0.1:5500";
    const batch = await edgeFetch(`/v1/prompts?names=${encodeName(name)}`, {
      key,
      headers: { origin },
    });
    expect(batch.status).toBe(200);
    expect(allowOrigin(batch)).toBe(origin);
    expect(batch.headers.get("vary")).toBe("Origin");
    expect(exposed(batch)).toContain("cuecard-cache");

    const render = await edgeFetch(`${path}/render`, {
      key,
      method: "POST",
      headers: { origin, "content-type": "application/json" },
      body: JSON.stringify({ variables: { customer: "Ada" } }),
    });
    expect(render.status).toBe(200);
    expect(allowOrigin(render)).toBe(origin);
    expect(render.headers.get("vary")).toBe("Origin");
    expect(exposed(render)).toContain("cuecard-version");
    expect(await render.json()).toMatchObject({ prompt: "Hello Ada" });
  });
});

const SCORES = `{"scores":[{"id":"s1","timestamp":"2026-07-01T12:00:00.000Z","name":"helpful","value":1,"traceId":"t1"}]}`;

function telemetry(path: string, key: string, headers: Record<string, string> = {}) {
  return edgeFetch(path, {
    key,
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: SCORES,
  });
}

describe("browser keys", () => {
  it("are served only from an allowed origin: another origin or no Origin at all is refused", async () => {
    const { key, path } = await project({ browser: true, sendTelemetry: false });
    const allowed = await edgeFetch(path, { key, headers: { origin: "http://localhost:4173" } });
    expect(allowed.status).toBe(200);
    expect(allowOrigin(allowed)).toBe("http://localhost:4173");

    for (const headers of [{ origin: "https://evil.example" }, {} as Record<string, string>]) {
      const response = await edgeFetch(path, { key, headers });
      expect(response.status, JSON.stringify(headers)).toBe(403);
      expect(allowOrigin(response)).toBeNull();
      expect(response.headers.get("vary")).toBe("Origin");
      expect((await problemOf(response)).code).toBe("origin_not_allowed");
    }
  });

  it("follow their own narrower origins too", async () => {
    const { key, path } = await project({ browser: true, keyOrigins: ["http://localhost:3000"] });
    expect(
      (await edgeFetch(path, { key, headers: { origin: "http://localhost:3000" } })).status,
    ).toBe(200);
    expect(
      (await edgeFetch(path, { key, headers: { origin: "http://localhost:3001" } })).status,
    ).toBe(403);
  });

  it("never send events or traces, even when allowed telemetry; scores go through when allowed", async () => {
    const origin = "http://localhost:4173";
    const withScores = await project({ browser: true, sendTelemetry: true });
    for (const path of ["/v1/events", "/v1/otel/v1/traces"]) {
      const response = await telemetry(path, withScores.key, { origin });
      expect(response.status, path).toBe(403);
      const problem = await problemOf(response);
      expect(problem.code).toBe("telemetry_not_allowed");
      expect(problem.detail).toContain("scores");
      // The page may read why: the origin is allowed.
      expect(allowOrigin(response)).toBe(origin);
    }
    const scores = await telemetry("/v1/scores", withScores.key, { origin });
    expect(scores.status).toBe(200);
    expect(allowOrigin(scores)).toBe(origin);
    expect(scores.headers.get("vary")).toBe("Origin");

    const readOnly = await project({ browser: true, sendTelemetry: false });
    const refused = await telemetry("/v1/scores", readOnly.key, { origin });
    expect(refused.status).toBe(403);
    expect((await problemOf(refused)).code).toBe("telemetry_not_allowed");
  });

  it("leave server keys' telemetry as it was: events from a server (no Origin) go through", async () => {
    const server = await project({ sendTelemetry: true });
    const response = await telemetry("/v1/scores", server.key);
    expect(response.status).toBe(200);
    expect(allowOrigin(response)).toBeNull();
  });
});
