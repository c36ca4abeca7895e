import { env } from "cloudflare:workers";
import { labelPointerKey, withdrawnRecord } from "@cuecard/core/kv-records";
import { describe, expect, it } from "vitest";
import app from "../../workers/edge";
import { problemOf } from "./edge-client";
import { encodeName, seedPrompt, seedReadKey, uniqueProject } from "./factories";

/**
 * The worker as deployed, with its isolate cache on (the other HTTP tests run with it off): once
 * a key and a prompt are cached, `GET /v1/prompts/{name}` is answered before the router, without
 * an await. Everything a client relies on must be the same there: headers, revalidation, CORS,
 * browser keys, expiry, and the problems of a bad request.
 */
const cachedEnv = { ...env, ISOLATE_CACHE_TTL_MS: "60000" } as unknown as EdgeEnv;
const context = {
  waitUntil: () => {},
  passThroughOnException: () => {},
  props: {},
} as unknown as ExecutionContext;

function send(path: string, headers: Record<string, string>): Response | Promise<Response> {
  return app.fetch(new Request(`https://edge.test${path}`, { headers }), cachedEnv, context);
}

/** The second of two equal requests: the first fills the isolate cache. */
async function warmThenHit(path: string, headers: Record<string, string>) {
  const first = await send(path, headers);
  await first.arrayBuffer();
  return { first, hit: send(path, headers) };
}

const DEV_ORIGINS = ["http://localhost:*"];

async function published(options: Omit<Parameters<typeof seedReadKey>[0], "project"> = {}) {
  const project = uniqueProject();
  const key = await seedReadKey({ origins: DEV_ORIGINS, ...options, project });
  const seeded = await seedPrompt({
    project,
    templates: ["Hello {{customer}}", "Hi {{customer}}"],
  });
  return { project, key, seeded, path: `/v1/prompts/${encodeName(seeded.name)}` };
}

describe("an isolate hit of GET /v1/prompts/{name}", () => {
  it("answers synchronously with the label's version and every header of a miss", async () => {
    const { key, seeded, path } = await published();
    const { first, hit } = await warmThenHit(path, { authorization: `Bearer ${key}` });
    expect(first.headers.get("cuecard-cache")).toBe("miss");
    // A Response, not a Promise of one: served before the router, nothing awaited.
    expect(hit).toBeInstanceOf(Response);
    const response = hit as Response;
    const v2 = seeded.versions[1];
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(response.headers.get("etag")).toBe(`"${v2?.hash}.v2"`);
    expect(response.headers.get("cache-control")).toBe("private, max-age=0, must-revalidate");
    expect(response.headers.get("cuecard-version")).toBe("2");
    expect(response.headers.get("cuecard-cache")).toBe("hit");
    expect(response.headers.get("server-timing")).toMatch(/^cache;desc="isolate";dur=\d+\.\d$/);
    expect(response.headers.get("vary")).toBe("Origin");
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    expect(await response.json()).toEqual({
      name: seeded.name,
      type: "text",
      version: 2,
      label: "production",
      prompt: "Hi {{customer}}",
      config: v2?.config,
      variables: v2?.variables,
      hash: v2?.hash,
      commitMessage: "v2",
      createdAt: v2?.createdAt,
      experiment: null,
    });
  });

  it("serves a pinned ?version= as immutable", async () => {
    const { key, path } = await published();
    const { hit } = await warmThenHit(`${path}?version=1`, { authorization: `Bearer ${key}` });
    expect(hit).toBeInstanceOf(Response);
    const response = await hit;
    expect(response.headers.get("cache-control")).toBe("private, max-age=31536000, immutable");
    expect(await response.json()).toMatchObject({
      version: 1,
      label: null,
      prompt: "Hello {{customer}}",
    });
  });

  it("answers a matching If-None-Match with a body-less 304", async () => {
    const { key, path } = await published();
    const { first } = await warmThenHit(path, { authorization: `Bearer ${key}` });
    const etag = first.headers.get("etag") as string;
    const response = await send(path, {
      authorization: `Bearer ${key}`,
      "if-none-match": `W/"other", ${etag}`,
    });
    expect(response.status).toBe(304);
    expect(response.headers.get("etag")).toBe(etag);
    expect(response.headers.get("cuecard-cache")).toBe("hit");
    expect(await response.text()).toBe("");
  });

  it("grants an allowed origin CORS and gives another none", async () => {
    const { key, path } = await published();
    const headers = { authorization: `Bearer ${key}`, origin: "http://localhost:5173" };
    const { hit } = await warmThenHit(path, headers);
    const allowed = await hit;
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(allowed.headers.get("access-control-expose-headers")).toContain("ETag");
    expect(allowed.headers.get("vary")).toBe("Origin");

    const other = await send(path, { ...headers, origin: "https://evil.example" });
    expect(other.status).toBe(200);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    expect(other.headers.get("vary")).toBe("Origin");
  });

  it("refuses a cached browser key outside its origins with 403 and no CORS headers", async () => {
    const { key, path } = await published({ browser: true, sendTelemetry: false });
    const { hit } = await warmThenHit(path, {
      authorization: `Bearer ${key}`,
      origin: "http://localhost:3000",
    });
    expect((await hit).status).toBe(200);
    for (const origin of [{ origin: "https://evil.example" }, {} as Record<string, string>]) {
      const response = await send(path, { authorization: `Bearer ${key}`, ...origin });
      expect(response.status).toBe(403);
      expect(response.headers.get("access-control-allow-origin")).toBeNull();
      expect((await problemOf(response)).code).toBe("origin_not_allowed");
    }
  });

  it("keeps refusing an expired key once its record is cached", async () => {
    const project = uniqueProject();
    const key = await seedReadKey({ project, expiresAt: "2020-01-01T00:00:00.000Z" });
    const seeded = await seedPrompt({ project, templates: ["x"] });
    const { first, hit } = await warmThenHit(`/v1/prompts/${encodeName(seeded.name)}`, {
      authorization: `Bearer ${key}`,
    });
    expect(first.status).toBe(401);
    const response = await hit;
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="cuecard"');
    expect((await problemOf(response)).code).toBe("unauthorized");
  });

  it("answers bad queries and units with the same 422s when everything is cached", async () => {
    const { key, path } = await published();
    await warmThenHit(path, { authorization: `Bearer ${key}` });
    const cases: [string, Record<string, string>, string][] = [
      ["?definition=yes", {}, "query.definition"],
      ["?label=Bad%20Label", {}, "query.label"],
      ["?label=production&version=1", {}, "query.version"],
      ["?unit=a", { "cuecard-unit": "b" }, "header.cuecard-unit"],
      ["", { "cuecard-unit": "é" }, "header.cuecard-unit"],
    ];
    for (const [query, headers, field] of cases) {
      const response = await send(`${path}${query}`, {
        authorization: `Bearer ${key}`,
        ...headers,
      });
      expect(response.status, query).toBe(422);
      expect((await problemOf(response)).errors?.[0]?.field, query).toBe(field);
    }
  });

  it("answers a cached missing label and an archived prompt with 404", async () => {
    const { project, key, seeded, path } = await published();
    const missing = await warmThenHit(`${path}?label=staging`, { authorization: `Bearer ${key}` });
    expect(missing.first.status).toBe(404);
    expect((await problemOf(await missing.hit)).detail).toContain("label 'staging'");

    await env.PROMPTS_KV.put(
      labelPointerKey(project, seeded.name, "production"),
      JSON.stringify(withdrawnRecord(seeded.name, "2026-08-01T00:00:00.000Z")),
    );
    // The production pointer was not read before: the first read caches the withdrawn record.
    const archived = await warmThenHit(path, { authorization: `Bearer ${key}` });
    expect(archived.first.status).toBe(404);
    expect((await problemOf(await archived.hit)).detail).toContain("archived");
  });

  it("leaves other routes on the path to the router", async () => {
    const { key, path } = await published();
    await warmThenHit(path, { authorization: `Bearer ${key}` });
    const trailing = await send(`${path}/`, { authorization: `Bearer ${key}` });
    expect(trailing.status).toBe(404);
    expect((await problemOf(trailing)).code).toBe("not_found");
    const head = await app.fetch(
      new Request(`https://edge.test${path}`, {
        method: "HEAD",
        headers: { authorization: `Bearer ${key}` },
      }),
      cachedEnv,
      context,
    );
    expect(head.status).toBe(200);
    expect(head.headers.get("etag")).not.toBeNull();
  });
});
