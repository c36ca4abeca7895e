/**
 * The whole product loop over real HTTP: both workers bundled by wrangler and served by Miniflare
 * on their own ports over one shared D1/KV, exactly as `npm run dev` runs them.
 */
import { randomUUID } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { type LabelPointer, labelPointerKey } from "@cuecard/core/kv-records";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startEphemeralPlatform } from "../../scripts/platform";
import { demoProject, type SeedResult, seedPlatform } from "../../scripts/seed";

const project = "default";

let platform: Platform;
let persistDir: string;
let seeded: SeedResult;
let readKey: string;

beforeAll(async () => {
  platform = await startEphemeralPlatform("e2e");
  persistDir = platform.persistDir;
  seeded = await seedPlatform(platform);
  const created = await adminRequest("POST", `/projects/${project}/keys`, {
    name: "e2e reader",
    role: "reader",
  });
  expect(created.status).toBe(201);
  readKey = ((await created.json()) as { secret: string }).secret;
});

afterAll(async () => {
  await platform?.dispose();
});

describe("delivery loop: create → version → promote → read → roll back → read", () => {
  it("serves the promoted version at the edge, and the earlier one after a rollback", async () => {
    const name = `e2e/loop-${randomUUID().slice(0, 8)}`;
    const path = `/projects/${project}/prompts/${encodeURIComponent(name)}`;
    const v1Template = "Hello {{customer}}, thanks for writing in.";
    const v2Template = "Hi {{customer}}! Thanks for reaching out.{{#vip}} You are a VIP.{{/vip}}";

    const created = await adminRequest("POST", `/projects/${project}/prompts`, {
      name,
      tags: ["e2e"],
      version: {
        prompt: v1Template,
        config: { model: "gpt-4o-mini", temperature: 0.2 },
        commitMessage: "first greeting",
        labels: ["production"],
      },
    });
    expect(created.status).toBe(201);
    const createdBody = (await created.json()) as {
      prompt: { name: string; type: string; labels: { name: string; version: number }[] };
      version: { version: number };
    };
    expect(createdBody.prompt).toMatchObject({ name, type: "text" });
    expect(createdBody.version.version).toBe(1);

    const first = await edgeRead(name);
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toMatch(/^application\/json/);
    expect(first.headers.get("cuecard-version")).toBe("1");
    expect(first.body).toMatchObject({
      name,
      type: "text",
      version: 1,
      label: "production",
      prompt: v1Template,
      config: { model: "gpt-4o-mini", temperature: 0.2 },
    });
    expect(first.headers.get("etag")).toBe(`"${first.body.hash}.v${first.body.version}"`);

    const added = await adminRequest("POST", `${path}/versions`, {
      prompt: v2Template,
      config: { model: "gpt-4o-mini", temperature: 0.2 },
      commitMessage: "friendlier greeting with a VIP line",
    });
    expect(added.status).toBe(201);
    expect(((await added.json()) as { version: number }).version).toBe(2);

    // A new version is not live until a label points at it, but it can be fetched pinned.
    expect((await edgeRead(name)).body.version).toBe(1);
    const pinned = await edgeRead(name, "?version=2");
    expect(pinned.status).toBe(200);
    expect(pinned.body).toMatchObject({ version: 2, prompt: v2Template });
    expect(pinned.headers.get("cache-control")).toContain("immutable");

    const production = await currentLabel(name, "production");
    expect(production.version).toBe(1);
    const promoted = await adminRequest("PUT", `${path}/labels/production`, {
      version: 2,
      expectedRev: production.rev,
    });
    expect(promoted.status).toBe(200);
    const promotedBody = (await promoted.json()) as {
      label: { version: number; rev: number };
      changed: boolean;
    };
    expect(promotedBody).toMatchObject({ label: { version: 2 }, changed: true });

    // Someone who still holds the old revision must not silently overwrite the promotion.
    const stale = await adminRequest("PUT", `${path}/labels/production`, {
      version: 1,
      expectedRev: production.rev,
    });
    expect(stale.status).toBe(409);
    expect(stale.headers.get("content-type")).toMatch(/^application\/problem\+json/);

    const afterPromotion = await edgeRead(name);
    expect(afterPromotion.status).toBe(200);
    expect(afterPromotion.headers.get("cuecard-version")).toBe("2");
    expect(afterPromotion.body).toMatchObject({
      version: 2,
      label: "production",
      prompt: v2Template,
    });
    // A client holding v1's ETag gets the new body; one holding v2's gets a body-less 304.
    const etagV2 = afterPromotion.headers.get("etag") ?? "";
    expect(etagV2).not.toBe(first.headers.get("etag"));
    const revalidated = await fetch(edgeUrl(name), {
      headers: { authorization: `Bearer ${readKey}`, "if-none-match": etagV2 },
    });
    expect(revalidated.status).toBe(304);
    expect(await revalidated.text()).toBe("");

    const rolledBack = await adminRequest("POST", `${path}/labels/production/rollback`, {});
    expect(rolledBack.status).toBe(200);
    expect(await rolledBack.json()).toMatchObject({ label: { version: 1 }, changed: true });

    const afterRollback = await edgeRead(name);
    expect(afterRollback.status).toBe(200);
    expect(afterRollback.headers.get("cuecard-version")).toBe("1");
    expect(afterRollback.body).toMatchObject({
      version: 1,
      label: "production",
      prompt: v1Template,
    });
    expect(afterRollback.headers.get("etag")).toBe(first.headers.get("etag"));
  });

  it("archiving withdraws every label and pinned version from the edge; restoring serves them again", async () => {
    const name = `e2e/archive-${randomUUID().slice(0, 8)}`;
    const path = `/projects/${project}/prompts/${encodeURIComponent(name)}`;
    const created = await adminRequest("POST", `/projects/${project}/prompts`, {
      name,
      version: { prompt: "the secret is hunter2", labels: ["production"] },
    });
    expect(created.status).toBe(201);
    expect((await edgeRead(name, "?version=1")).status).toBe(200);

    expect((await adminRequest("PATCH", path, { archived: true })).status).toBe(200);
    for (const query of ["", "?version=1", "?label=latest"]) {
      const read = await edgeRead(name, query);
      expect(read.status).toBe(404);
      expect(read.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(JSON.stringify(read.body)).toContain("archived");
      expect(JSON.stringify(read.body)).not.toContain("hunter2");
    }

    expect((await adminRequest("PATCH", path, { archived: false })).status).toBe(200);
    expect((await edgeRead(name, "?version=1")).body).toMatchObject({ version: 1 });
    expect((await edgeRead(name)).body).toMatchObject({ version: 1, label: "production" });
  });

  it("refuses edge reads without a valid read key", async () => {
    const anonymous = await fetch(edgeUrl("support/triage"));
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("content-type")).toMatch(/^application\/problem\+json/);

    const forged = await fetch(edgeUrl("support/triage"), {
      headers: { authorization: `Bearer ${readKey.slice(0, -4)}0000` },
    });
    expect(forged.status).toBe(401);
  });
});

describe("local platform", () => {
  it("seeds the demo prompts with their labels, once", async () => {
    expect(seeded.createdPrompts.sort()).toEqual([
      "marketing/tagline",
      "support/reply",
      "support/triage",
    ]);

    const triage = await edgeRead("support/triage", "", seeded.readKey.secret);
    expect(triage.status).toBe(200);
    expect(triage.body).toMatchObject({ type: "chat", version: 2, label: "production" });
    expect((await edgeRead("support/triage", "?label=staging")).body.version).toBe(3);
    const reply = await edgeRead("support/reply");
    expect(reply.body).toMatchObject({ type: "text", version: 2 });
    expect(reply.body.prompt).toContain("{{#vip}}");
    expect((await edgeRead("marketing/tagline")).body.version).toBe(1);

    const again = await seedPlatform(platform);
    expect(again.createdPrompts).toEqual([]);
    expect(again.createdKeys).toEqual([]);
    expect(again.adminKey.secret).toBe(seeded.adminKey.secret);
    expect(again.readKey.secret).toBe(seeded.readKey.secret);
  });

  it("applies migrations to the two D1 databases: the admin's and telemetry's own", async () => {
    const d1Files = await readdir(join(persistDir, "v3", "d1", "miniflare-D1DatabaseObject"));
    const databases = d1Files.filter(
      (file) => file.endsWith(".sqlite") && file !== "metadata.sqlite",
    );
    // Telemetry has its own store (never the prompt database); nothing else creates one.
    expect(databases).toHaveLength(2);
    // The `default` project only exists because the migrations ran against that database.
    const listed = await adminRequest("GET", `/projects/${demoProject}/prompts?limit=200`);
    expect(listed.status).toBe(200);
  });

  it("answers edge reads from the KV namespace the admin worker publishes to", async () => {
    // Miniflare types bindings with `@cloudflare/workers-types`, not installed for Node code.
    const kv = (await platform.miniflare.getKVNamespace("PROMPTS_KV", "edge")) as unknown as {
      get(key: string): Promise<string | null>;
      put(key: string, value: string): Promise<void>;
      delete(key: string): Promise<void>;
    };
    const pointerKey = labelPointerKey(project, "marketing/tagline", "production");
    const published = await kv.get(pointerKey);
    expect(published).not.toBeNull();
    expect((JSON.parse(published ?? "null") as LabelPointer).targets).toEqual([
      { version: 1, weight: 1 },
    ]);

    // The edge has no D1: with the pointer gone from the shared KV, the label is gone for it.
    await kv.delete(pointerKey);
    try {
      expect((await edgeRead("marketing/tagline")).status).toBe(404);
    } finally {
      await kv.put(pointerKey, published ?? "");
    }
    expect((await edgeRead("marketing/tagline")).status).toBe(200);
  });

  it("limits failed keys with the rate-limiting binding the local platform provides", async () => {
    const wrongKey = (address: string) =>
      fetch(`${platform.adminUrl}/api/v1/projects`, {
        headers: {
          authorization: "Bearer cc_admin_00000000000000000000000000000000",
          "cf-connecting-ip": address,
        },
      });
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 11; attempt++) {
      statuses.push((await wrongKey("198.51.100.7")).status);
    }
    expect(statuses.slice(0, 10).every((status) => status === 401)).toBe(true);
    expect(statuses[10]).toBe(429);
  });

  it("serves the API docs and every asset they load from the admin worker itself", async () => {
    const page = await fetch(`${platform.adminUrl}/api/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const urls = [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"/g)].map(
      (match) => new URL(match[1]!, platform.adminUrl),
    );
    expect(urls.map((url) => url.pathname.split("/").pop()).sort()).toEqual([
      "cuecard-docs.js",
      "swagger-ui-bundle.js",
      "swagger-ui.css",
    ]);
    for (const url of urls) {
      expect(url.origin).toBe(platform.adminUrl);
      const asset = await fetch(url);
      expect(asset.status, url.pathname).toBe(200);
      // The bundled file's text, not a module wrapped by the bundler.
      const text = await asset.text();
      if (url.pathname.endsWith("swagger-ui-bundle.js")) expect(text).toContain("SwaggerUIBundle");
      if (url.pathname.endsWith(".css")) expect(text).toContain(".swagger-ui");
    }
  });
});

async function adminRequest(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${platform.adminUrl}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${seeded.adminKey.secret}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function currentLabel(
  name: string,
  label: string,
): Promise<{ version: number; rev: number }> {
  const response = await adminRequest(
    "GET",
    `/projects/${project}/prompts?q=${encodeURIComponent(name)}&limit=200`,
  );
  expect(response.status).toBe(200);
  const page = (await response.json()) as {
    items: { name: string; labels: { name: string; version: number; rev: number }[] }[];
  };
  const found = page.items.find((item) => item.name === name)?.labels.find((l) => l.name === label);
  if (!found) throw new Error(`label ${label} of ${name} is not in the prompt list`);
  return found;
}

function edgeUrl(name: string, query = ""): string {
  return `${platform.edgeUrl}/v1/prompts/${encodeURIComponent(name)}${query}`;
}

interface EdgePrompt {
  name: string;
  type: string;
  version: number;
  label: string | null;
  prompt: unknown;
  hash: string;
}

async function edgeRead(
  name: string,
  query = "",
  key = readKey,
): Promise<{ status: number; headers: Headers; body: EdgePrompt }> {
  const response = await fetch(edgeUrl(name, query), {
    headers: { authorization: `Bearer ${key}` },
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as EdgePrompt,
  };
}
