import { env, exports } from "cloudflare:workers";
import type { LabelPointer } from "@cuecard/core/kv-records";
import { describe, expect, it } from "vitest";
import { api, enc, json, uniqueName } from "./api";

/**
 * The Langfuse prompt API's cold paths on the admin worker, as the edge hands them over: the key
 * pair in HTTP Basic, Langfuse's request and response shapes, the prompts module's rules.
 */

interface Pair {
  publicKey: string;
  secretKey: string;
}

/** A new key's Langfuse pair, as its creation answers it. */
async function pairFor(role: string): Promise<Pair> {
  const response = await api("POST", "/projects/default/keys", { name: `${role} key`, role });
  const body = await json<{ langfuse: Pair }>(response);
  return body.langfuse;
}

describe("the Langfuse key pair of a new key", () => {
  it("is the key's id as public key and the key itself as secret key, with the edge's URL", async () => {
    const response = await api("POST", "/projects/default/keys", { name: "sdk", role: "editor" });
    const body = await json(response);
    expect(body.langfuse).toEqual({
      publicKey: `pk-lf-${body.key.id}`,
      secretKey: body.secret,
      baseUrl: "http://127.0.0.1:8788",
    });
    const browser = await api("POST", "/projects/default/keys", {
      name: "web",
      role: "reader",
      browser: true,
    });
    expect((await json(browser)).langfuse).toBeNull();
  });
});

/** A publisher's pair: `production` is a protected label, which an editor may not move. */
let publisherPair: Promise<Pair> | undefined;
const publisher = () => {
  publisherPair ??= pairFor("publisher");
  return publisherPair;
};

async function lf(method: string, path: string, body?: unknown, pair?: Pair | string) {
  const credentials = pair ?? (await publisher());
  const authorization =
    typeof credentials === "string"
      ? credentials
      : `Basic ${btoa(`${credentials.publicKey}:${credentials.secretKey}`)}`;
  return exports.default.fetch(`http://edge.test/api/public${path}`, {
    method,
    headers: { authorization, "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function errorOf(response: Response) {
  expect(response.headers.get("content-type")).toBe("application/json");
  return json<{ message: string; error: string }>(response);
}

/** The prompt's labels as the admin API shows them: [name, version], by name. */
async function labelsOf(name: string): Promise<[string, number][]> {
  const response = await api("GET", `/projects/default/prompts/${enc(name)}`);
  const prompt = await json<{ labels: { name: string; version: number }[] }>(response);
  return prompt.labels.map((label) => [label.name, label.version]);
}

/** The prompt's versions as the admin API lists them: what a refused write must leave alone. */
async function versionCount(name: string): Promise<number> {
  const response = await api("GET", `/projects/default/prompts/${enc(name)}`);
  if (response.status === 404) return 0;
  return (await json<{ latestVersion: number }>(response)).latestVersion;
}

describe("POST /api/public/v2/prompts", () => {
  it("creates a text prompt, then a new version that takes the labels (201)", async () => {
    const name = uniqueName("lf/greeting");
    const first = await lf("POST", "/v2/prompts", {
      name,
      prompt: "Hello {{name}}",
      config: { model: "gpt-4o-mini" },
      labels: ["production"],
      tags: ["greetings"],
      commitMessage: "first",
    });
    expect(first.status).toBe(201);
    expect(await json(first)).toMatchObject({
      name,
      version: 1,
      type: "text",
      prompt: "Hello {{name}}",
      config: { model: "gpt-4o-mini" },
      labels: ["latest", "production"],
      tags: ["greetings"],
      commitMessage: "first",
      resolutionGraph: null,
      projectId: "default",
    });
    const second = await lf("POST", "/v2/prompts", {
      name,
      type: "text",
      prompt: "Hi {{name}}",
      labels: ["production"],
    });
    expect(second.status).toBe(201);
    // Tags omitted: the prompt keeps its own.
    expect(await json(second)).toMatchObject({
      version: 2,
      labels: ["latest", "production"],
      tags: ["greetings"],
    });
    // Published: the edge's pointer embeds the version with its labels and the prompt's tags.
    const pointer = await env.PROMPTS_KV.get<LabelPointer>(`p/default/${name}@production`, "json");
    expect(pointer?.versions[0]).toMatchObject({
      version: 2,
      labels: ["latest", "production"],
      tags: ["greetings"],
    });
  });

  it("creates a chat prompt from the SDK's messages, dropping their chatmessage type", async () => {
    const name = uniqueName("lf/chat");
    const response = await lf("POST", "/v2/prompts", {
      name,
      type: "chat",
      prompt: [
        { type: "chatmessage", role: "system", content: "You help {{customer}}" },
        { type: "chatmessage", role: "user", content: "{{question}}" },
      ],
    });
    expect(response.status).toBe(201);
    expect(await json(response)).toMatchObject({
      type: "chat",
      prompt: [
        { role: "system", content: "You help {{customer}}" },
        { role: "user", content: "{{question}}" },
      ],
      labels: ["latest"],
    });
  });

  it("refuses bad input with Langfuse's 400 and writes nothing", async () => {
    const name = uniqueName("lf/refused");
    const cases: unknown[] = [
      "{not json",
      { name },
      { name, prompt: 42 },
      { name, type: "chat", prompt: "not messages" },
      { name, prompt: "Hi", labels: ["Not A Label"] },
      { name, prompt: "Hi", tags: ["Bad Tag"] },
      // A placeholder's name starts with a letter.
      { name, type: "chat", prompt: [{ type: "placeholder", name: "1history" }] },
    ];
    for (const body of cases) {
      const response = await lf("POST", "/v2/prompts", body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect((await errorOf(response)).error).toBe("InvalidRequestError");
    }
    expect(await versionCount(name)).toBe(0);
    // A new version may not change the prompt's type.
    await lf("POST", "/v2/prompts", { name, prompt: "text" });
    const changed = await lf("POST", "/v2/prompts", {
      name,
      type: "chat",
      prompt: [{ role: "user", content: "x" }],
    });
    expect(changed.status).toBe(400);
    expect(await versionCount(name)).toBe(1);
  });

  it("resolves prompt references, and refuses a cycle with a 400 naming it", async () => {
    const tone = uniqueName("lf/tone");
    const tag = `@@@langfusePrompt:name=${tone}|label=production@@@`;
    await lf("POST", "/v2/prompts", { name: tone, prompt: "Be kind.", labels: ["production"] });
    const support = uniqueName("lf/support");
    const created = await lf("POST", "/v2/prompts", {
      name: support,
      prompt: `${tag} Help {{customer}}.`,
      labels: ["production"],
    });
    expect(created.status).toBe(201);
    // The create answers the version as written, as Langfuse does.
    expect((await json(created)).prompt).toBe(`${tag} Help {{customer}}.`);
    const pointer = await env.PROMPTS_KV.get<LabelPointer>(
      `p/default/${support}@production`,
      "json",
    );
    expect(pointer?.versions[0]?.prompt).toBe("Be kind. Help {{customer}}.");

    const cycle = await lf("POST", "/v2/prompts", {
      name: tone,
      prompt: `@@@langfusePrompt:name=${support}|label=production@@@`,
      labels: ["production"],
    });
    expect(cycle.status).toBe(400);
    const error = await errorOf(cycle);
    expect(error.error).toBe("InvalidRequestError");
    expect(error.message).toContain(
      `${tone} → ${support}@production → ${tone}@production: a version cannot include itself`,
    );
    expect(await versionCount(tone)).toBe(1);
  });

  it("refuses a body over the limit with 413", async () => {
    const name = uniqueName("lf/huge");
    const response = await lf("POST", "/v2/prompts", {
      name,
      prompt: "x".repeat(300 * 1024),
    });
    expect(response.status).toBe(413);
    expect((await errorOf(response)).error).toBe("PayloadTooLargeError");
    expect(await versionCount(name)).toBe(0);
  });

  it("refuses a reader's pair with 403, and unknown pairs with 401", async () => {
    const reader = await pairFor("reader");
    const name = uniqueName("lf/reader");
    const refused = await lf("POST", "/v2/prompts", { name, prompt: "Hi" }, reader);
    expect(refused.status).toBe(403);
    const mismatched = { ...reader, publicKey: (await publisher()).publicKey };
    const unknown = await lf("POST", "/v2/prompts", { name, prompt: "Hi" }, mismatched);
    expect(unknown.status).toBe(401);
    expect((await errorOf(unknown)).error).toBe("UnauthorizedError");
    // production is protected: an editor's pair may save a version but not move it there.
    const editor = await pairFor("editor");
    const protectedMove = await lf(
      "POST",
      "/v2/prompts",
      { name, prompt: "Hi", labels: ["production"] },
      editor,
    );
    expect(protectedMove.status).toBe(403);
    const bearer = await lf("GET", "/v2/prompts", undefined, `Bearer ${reader.publicKey}`);
    expect(bearer.status).toBe(403);
    expect(await versionCount(name)).toBe(0);
  });
});

describe("PATCH /api/public/v2/prompts/{name}/versions/{version}", () => {
  it("adds labels to a version, moving them off the others", async () => {
    const name = uniqueName("lf/labels");
    await lf("POST", "/v2/prompts", { name, prompt: "one", labels: ["production"] });
    await lf("POST", "/v2/prompts", { name, prompt: "two" });
    const response = await lf("PATCH", `/v2/prompts/${enc(name)}/versions/2`, {
      newLabels: ["production", "staging"],
    });
    expect(response.status).toBe(200);
    expect(await json(response)).toMatchObject({
      version: 2,
      labels: ["latest", "production", "staging"],
    });
    expect(await labelsOf(name)).toEqual([
      ["latest", 2],
      ["production", 2],
      ["staging", 2],
    ]);
  });

  it("answers an unknown version 404 and refuses latest or a bad label with 400, moving none", async () => {
    const name = uniqueName("lf/labels-refused");
    await lf("POST", "/v2/prompts", { name, prompt: "one" });
    const unknown = await lf("PATCH", `/v2/prompts/${enc(name)}/versions/9`, {
      newLabels: ["production"],
    });
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).error).toBe("LangfuseNotFoundError");
    for (const newLabels of [["staging", "latest"], ["staging", "Bad Label"], "staging"]) {
      const response = await lf("PATCH", `/v2/prompts/${enc(name)}/versions/1`, { newLabels });
      expect(response.status, JSON.stringify(newLabels)).toBe(400);
    }
    expect(await labelsOf(name)).toEqual([["latest", 1]]);
    const missing = await lf("PATCH", "/v2/prompts/lf%2Fnobody/versions/1", { newLabels: [] });
    expect(missing.status).toBe(404);
  });
});

describe("GET /api/public/v2/prompts", () => {
  it("lists prompts with versions, labels and tags, in numbered pages", async () => {
    const tag = `t${Math.random().toString(36).slice(2, 8)}`;
    const names = [uniqueName("lf/list-a"), uniqueName("lf/list-b"), uniqueName("lf/list-c")];
    for (const name of names) {
      await lf("POST", "/v2/prompts", { name, prompt: "v1", tags: [tag] });
    }
    await lf("POST", "/v2/prompts", {
      name: names[0],
      prompt: "v2",
      config: { temperature: 0 },
      labels: ["production"],
    });
    const first = await json(await lf("GET", `/v2/prompts?tag=${tag}&limit=2`));
    expect(first.meta).toEqual({ page: 1, limit: 2, totalItems: 3, totalPages: 2 });
    expect(first.data[0]).toMatchObject({
      name: names[0],
      type: "text",
      versions: [1, 2],
      labels: ["latest", "production"],
      tags: [tag],
      lastConfig: { temperature: 0 },
    });
    const second = await json(await lf("GET", `/v2/prompts?tag=${tag}&limit=2&page=2`));
    expect(second.data.map((p: { name: string }) => p.name)).toEqual([names[2]]);
    const byName = await json(await lf("GET", `/v2/prompts?name=${enc(names[1] ?? "")}`));
    expect(byName.data.map((p: { name: string }) => p.name)).toEqual([names[1]]);
    const byLabel = await json(await lf("GET", `/v2/prompts?tag=${tag}&label=production`));
    expect(byLabel.meta.totalItems).toBe(1);
    const tooMany = await lf("GET", "/v2/prompts?limit=101");
    expect(tooMany.status).toBe(400);
  });
});

describe("DELETE /api/public/v2/prompts/{name}", () => {
  it("removes a label, a version's labels, or archives the prompt (204); never a version", async () => {
    const name = uniqueName("lf/delete");
    await lf("POST", "/v2/prompts", { name, prompt: "one", labels: ["production", "staging"] });
    await lf("POST", "/v2/prompts", { name, prompt: "two", labels: ["beta"] });
    const labelsNow = async () => (await labelsOf(name)).map(([label]) => label);

    expect((await lf("DELETE", `/v2/prompts/${enc(name)}?label=staging`)).status).toBe(204);
    expect(await labelsNow()).toEqual(["beta", "latest", "production"]);
    expect((await lf("DELETE", `/v2/prompts/${enc(name)}?version=2`)).status).toBe(204);
    expect(await labelsNow()).toEqual(["latest", "production"]);
    const both = await lf("DELETE", `/v2/prompts/${enc(name)}?version=1&label=production`);
    expect(both.status).toBe(400);
    const unknown = await lf("DELETE", `/v2/prompts/${enc(name)}?version=5`);
    expect(unknown.status).toBe(404);
    // Archiving needs a role that may archive: an editor may not.
    const editor = await pairFor("editor");
    const editorArchive = await lf("DELETE", `/v2/prompts/${enc(name)}`, undefined, editor);
    expect(editorArchive.status).toBe(403);
    expect((await lf("DELETE", `/v2/prompts/${enc(name)}`)).status).toBe(204);
    const archived = await json(await api("GET", `/projects/default/prompts/${enc(name)}`));
    expect(archived.archivedAt).not.toBeNull();
    expect(archived.latestVersion).toBe(2);
  });
});
