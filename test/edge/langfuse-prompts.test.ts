import { env } from "cloudflare:workers";
import {
  labelPointerKey,
  labelPointerRecord,
  versionKey,
  versionRecord,
} from "@cuecard/core/kv-records";
import { describe, expect, it } from "vitest";
import app from "../../workers/edge";
import { edgeFetch } from "./edge-client";
import {
  encodeName,
  publishedVersion,
  putPointer,
  seedPrompt,
  seedReadKey,
  uniqueName,
  uniqueProject,
} from "./factories";

/**
 * The Langfuse-compatible prompt read, as the Langfuse SDKs call it: Basic credentials
 * (pk-lf-<key id> : the Cuecard key), Langfuse's JSON shape, and its `{message, error}` errors.
 */

async function langfuseProject(options: { sendTelemetry?: boolean } = {}) {
  const project = uniqueProject();
  const keyId = uniqueName("key");
  const secretKey = await seedReadKey({ project, keyId, ...options });
  const publicKey = `pk-lf-${keyId}`;
  return { project, keyId, secretKey, publicKey, auth: basic(publicKey, secretKey) };
}

const basic = (publicKey: string, secretKey: string) =>
  `Basic ${btoa(`${publicKey}:${secretKey}`)}`;

function lf(path: string, authorization?: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  if (authorization !== undefined) headers.set("authorization", authorization);
  return edgeFetch(path, {
    method: init.method,
    headers: Object.fromEntries(headers),
    body: init.body as string,
  });
}

async function errorOf(response: Response) {
  expect(response.headers.get("content-type")).toBe("application/json");
  return (await response.json()) as { message: string; error: string };
}

describe("GET /api/public/v2/prompts/{name}", () => {
  it("serves the production label by default in Langfuse's prompt shape", async () => {
    const { project, auth } = await langfuseProject();
    const seeded = await seedPrompt({
      project,
      name: uniqueName("support/triage"),
      templates: ["Hello {{customer}}", "Hi {{customer}}"],
      labels: { production: 1, staging: 2 },
    });
    const v1 = seeded.versions[0];
    const response = await lf(`/api/public/v2/prompts/${encodeName(seeded.name)}`, auth);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      id: `${v1?.hash}.v1`,
      name: seeded.name,
      version: 1,
      type: "text",
      prompt: "Hello {{customer}}",
      config: { model: "gpt-test", temperature: 0.2 },
      labels: ["production"],
      tags: [],
      commitMessage: "v1",
      resolutionGraph: null,
      createdAt: "2026-01-01T00:00:00.000Z",
      updatedAt: "2026-01-01T00:00:00.000Z",
      projectId: project,
      createdBy: "API",
      isActive: true,
    });
  });

  it("serves ?label= and ?version=, and treats version 0 or empty as absent", async () => {
    const { project, auth } = await langfuseProject();
    const seeded = await seedPrompt({
      project,
      templates: ["one", "two", "three"],
      labels: { production: 1, staging: 2 },
    });
    const path = `/api/public/v2/prompts/${seeded.name}`;
    const staging = (await (await lf(`${path}?label=staging`, auth)).json()) as {
      version: number;
      prompt: string;
      labels: string[];
    };
    expect(staging).toMatchObject({ version: 2, prompt: "two", labels: ["staging"] });
    const pinned = (await (await lf(`${path}?version=3`, auth)).json()) as {
      version: number;
      prompt: string;
    };
    expect(pinned).toMatchObject({ version: 3, prompt: "three" });
    for (const absent of ["?version=0", "?version="]) {
      const body = (await (await lf(`${path}${absent}`, auth)).json()) as { version: number };
      expect(body.version).toBe(1);
    }
  });

  it("serves chat messages as {role, content}, and the labels and tags the pointer carries", async () => {
    const { project, auth } = await langfuseProject();
    const seeded = await seedPrompt({
      project,
      templates: [[{ role: "system", content: "You help {{customer}}" }]],
    });
    const version = seeded.versions[0];
    if (!version) throw new Error("seeded no version");
    await env.PROMPTS_KV.put(
      labelPointerKey(project, seeded.name, "production"),
      JSON.stringify(
        labelPointerRecord({
          rev: 100,
          name: seeded.name,
          label: "production",
          targets: [{ version: 1, weight: 1 }],
          versions: [{ ...version, labels: ["latest", "production"], tags: ["support"] }],
          updatedAt: new Date().toISOString(),
        }),
      ),
    );
    const body = await (await lf(`/api/public/v2/prompts/${seeded.name}`, auth)).json();
    expect(body).toMatchObject({
      type: "chat",
      prompt: [{ role: "system", content: "You help {{customer}}" }],
      labels: ["latest", "production"],
      tags: ["support"],
      isActive: true,
    });
  });

  it("refuses both version and label with Langfuse's 400", async () => {
    const { project, auth } = await langfuseProject();
    const seeded = await seedPrompt({ project, templates: ["one"] });
    const response = await lf(
      `/api/public/v2/prompts/${seeded.name}?version=1&label=production`,
      auth,
    );
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toEqual({
      message: "Cannot specify both version and label",
      error: "InvalidRequestError",
    });
    const bad = await lf(`/api/public/v2/prompts/${seeded.name}?version=two`, auth);
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).error).toBe("InvalidRequestError");
  });

  it("answers a missing prompt, label or version with Langfuse's 404 message", async () => {
    const { project, auth } = await langfuseProject();
    const seeded = await seedPrompt({ project, templates: ["one"] });
    const cases: [string, string][] = [
      ["nope", "Prompt not found: 'nope' with label 'production'"],
      [`${seeded.name}?label=staging`, `Prompt not found: '${seeded.name}' with label 'staging'`],
      [`${seeded.name}?version=7`, `Prompt not found: '${seeded.name}' with version 7`],
      // Langfuse allows names Cuecard cannot hold: they do not exist here either.
      ["My%20Prompt", "Prompt not found: 'My Prompt' with label 'production'"],
    ];
    for (const [path, message] of cases) {
      const response = await lf(`/api/public/v2/prompts/${path}`, auth);
      expect(response.status).toBe(404);
      expect(await errorOf(response)).toEqual({ message, error: "LangfuseNotFoundError" });
    }
  });
});

describe("Langfuse credentials", () => {
  it("refuses missing, malformed and mismatched pairs with 401 UnauthorizedError", async () => {
    const { project, secretKey, publicKey } = await langfuseProject();
    const other = await langfuseProject();
    const seeded = await seedPrompt({ project, templates: ["one"] });
    const path = `/api/public/v2/prompts/${seeded.name}`;
    for (const authorization of [
      undefined,
      "Basic !!!not-base64",
      basic(publicKey, "sk-lf-not-a-cuecard-key"),
      // The public key of another key: the halves of a pair must name the same key.
      basic(other.publicKey, secretKey),
      basic(
        publicKey,
        secretKey.replace(/.$/, (c) => (c === "a" ? "b" : "a")),
      ),
    ]) {
      const response = await lf(path, authorization);
      expect(response.status, String(authorization)).toBe(401);
      expect((await errorOf(response)).error).toBe("UnauthorizedError");
    }
  });

  it("answers v3's Bearer <publicKey> with 403, as Langfuse does", async () => {
    const { project, publicKey } = await langfuseProject();
    const seeded = await seedPrompt({ project, templates: ["one"] });
    const response = await lf(`/api/public/v2/prompts/${seeded.name}`, `Bearer ${publicKey}`);
    expect(response.status).toBe(403);
    expect(await errorOf(response)).toEqual({
      message: "Access denied - need to use basic auth with secret key to GET prompts",
      error: "AccessDeniedError",
    });
  });

  it("never serves another project's prompt", async () => {
    const mine = await langfuseProject();
    const theirs = await langfuseProject();
    const seeded = await seedPrompt({ project: theirs.project, templates: ["secret"] });
    const response = await lf(`/api/public/v2/prompts/${seeded.name}`, mine.auth);
    expect(response.status).toBe(404);
  });
});

describe("an isolate hit of the Langfuse read", () => {
  const cachedEnv = { ...env, ISOLATE_CACHE_TTL_MS: "60000" } as unknown as EdgeEnv;
  const context = {
    waitUntil: () => {},
    passThroughOnException: () => {},
    props: {},
  } as unknown as ExecutionContext;
  const send = (path: string, authorization: string) =>
    app.fetch(
      new Request(`https://edge.test${path}`, { headers: { authorization } }),
      cachedEnv,
      context,
    );

  it("is answered synchronously, before the router, with the same body as the miss", async () => {
    const { project, auth, secretKey } = await langfuseProject();
    const seeded = await seedPrompt({ project, templates: ["one", "two"] });
    const path = `/api/public/v2/prompts/${seeded.name}`;
    const miss = await send(path, auth);
    expect(miss.headers.get("cuecard-cache")).toBe("miss");
    const missBody = await miss.json();
    const hit = send(path, auth);
    expect(hit).toBeInstanceOf(Response);
    const response = hit as Response;
    expect(response.status).toBe(200);
    expect(response.headers.get("cuecard-cache")).toBe("hit");
    expect(response.headers.get("server-timing")).toMatch(/^cache;desc="isolate";dur=/);
    expect(await response.json()).toEqual(missBody);
    // A wrong pair is never served from the cache either.
    const other = await langfuseProject();
    const refused = await send(path, basic(other.publicKey, secretKey));
    expect(refused.status).toBe(401);
    expect((await errorOf(refused)).error).toBe("UnauthorizedError");
  });
});

describe("the rest of /api/public", () => {
  it("answers health without a key", async () => {
    const response = await lf("/api/public/health");
    expect(response.status).toBe(200);
    // A semantic version: langfuse-cli --api-version auto picks its API contract by it.
    expect(await response.json()).toEqual({ status: "OK", version: "4.35.0" });
  });

  it("hands prompt writes and lists to the admin worker unchanged", async () => {
    const { auth } = await langfuseProject();
    const body = JSON.stringify({ name: "greeting", prompt: "Hi" });
    const cases: [string, string, string | undefined][] = [
      ["POST", "/api/public/v2/prompts", body],
      ["GET", "/api/public/v2/prompts?page=2&limit=5", undefined],
      ["PATCH", "/api/public/v2/prompts/a%2Fb/versions/2", '{"newLabels":["production"]}'],
      ["DELETE", "/api/public/v2/prompts/greeting?label=staging", undefined],
    ];
    for (const [method, path, sent] of cases) {
      const response = await lf(path, auth, { method, body: sent });
      expect(response.status).toBe(201);
      expect(response.headers.get("admin-answer")).toBe("forwarded");
      expect(await response.json()).toEqual({
        method,
        url: `https://edge.test${path}`,
        authorization: auth,
        body: sent ?? "",
      });
    }
  });

  it("answers an unknown path with Langfuse's 404", async () => {
    const response = await lf("/api/public/v1/nothing");
    expect(response.status).toBe(404);
    expect((await errorOf(response)).error).toBe("LangfuseNotFoundError");
  });
});

describe("Langfuse's telemetry routes", () => {
  it("are checked with the key pair and handed to the telemetry worker on the same path", async () => {
    const { auth } = await langfuseProject();
    for (const path of [
      "/api/public/ingestion",
      "/api/public/scores",
      "/api/public/otel/v1/traces",
    ]) {
      const response = await lf(path, auth, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      expect(response.status, path).toBe(200);
      expect(response.headers.get("telemetry-answer")).toBe("accepted");
    }
    const refused = await langfuseProject({ sendTelemetry: false });
    const response = await lf("/api/public/scores", refused.auth, { method: "POST", body: "{}" });
    expect(response.status).toBe(403);
    expect((await errorOf(response)).error).toBe("AccessDeniedError");
  });
});

describe("a version that includes other prompts (prompt references)", () => {
  /** Published as the admin's publisher writes it: resolved, with what was written beside. */
  async function seedIncluding(project: string) {
    const name = uniqueName("support/composed");
    const authored = "@@@langfusePrompt:name=tone|label=production@@@ Answer {{question}}";
    const base = await publishedVersion(name, 1, "Be kind. Answer {{question}}");
    const graph = {
      root: { name, version: 1 },
      dependencies: { [`${name}#1`]: [{ name: "tone", version: 3, label: "production" }] },
    };
    const version = { ...base, resolution: { authored, graph, followsLabels: true } };
    await env.PROMPTS_KV.put(versionKey(project, name, 1), JSON.stringify(versionRecord(version)));
    await putPointer(env.PROMPTS_KV, project, name, "production", version);
    return { name, authored, graph };
  }

  it("serves the resolved prompt with its resolutionGraph, and the tags with resolve=false", async () => {
    const { project, auth } = await langfuseProject();
    const { name, authored, graph } = await seedIncluding(project);
    const path = `/api/public/v2/prompts/${encodeName(name)}`;
    const resolved = await (await lf(path, auth)).json();
    expect(resolved).toMatchObject({
      prompt: "Be kind. Answer {{question}}",
      resolutionGraph: graph,
    });
    // Asked twice, so the second answer comes from the isolate cache's prebuilt body.
    expect(await (await lf(path, auth)).json()).toEqual(resolved);
    const raw = await (await lf(`${path}?resolve=false`, auth)).json();
    expect(raw).toMatchObject({ prompt: authored, resolutionGraph: null });
    expect(await (await lf(path, auth)).json()).toEqual(resolved);
  });

  it("revalidates a pinned read of it, since the label it follows can move", async () => {
    const { project, secretKey } = await langfuseProject();
    const { name } = await seedIncluding(project);
    const response = await edgeFetch(`/v1/prompts/${encodeName(name)}?version=1`, {
      key: secretKey,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("private, max-age=0, must-revalidate");
  });
});
