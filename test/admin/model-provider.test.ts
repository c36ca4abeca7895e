/**
 * The playground's model provider on the admin API: who may set it, which base URLs are refused
 * (the webhooks' SSRF rules), and that the API key is sealed in D1 and never comes back — not in
 * an answer, the audit log or an event.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { api, json, keyFor } from "./api";

const path = "/projects/default/model-provider";
const API_KEY = "sk-test-0123456789abcdefWXYZ";
const OTHER_KEY = "sk-other-9876543210zyxwvuQRST";

let editorKey: string;
let publisherKey: string;

beforeAll(async () => {
  editorKey = await keyFor("editor");
  publisherKey = await keyFor("publisher");
});

async function auditOf(action: string) {
  const page = await json(await api("GET", `/projects/default/audit?action=${action}&limit=50`));
  return page.items as Array<{ actor: string; actorRole: string; before: unknown; after: unknown }>;
}

async function storedRow() {
  return env.DB.prepare(
    "SELECT base_url, default_model, api_key_sealed, api_key_hint FROM model_providers WHERE project_id = 'default'",
  ).first<{
    base_url: string;
    default_model: string;
    api_key_sealed: string;
    api_key_hint: string | null;
  }>();
}

async function outboxPayloads(): Promise<string> {
  const rows = await env.DB.prepare(
    "SELECT payload FROM outbox WHERE event_type LIKE 'model_provider.%'",
  ).all<{ payload: string }>();
  return rows.results.map((row) => row.payload).join("\n");
}

describe("setting the model provider", () => {
  it("stores it, answers with only the key's last 4 characters, and seals the key in D1", async () => {
    const response = await api("PUT", path, {
      baseUrl: "https://api.openai.com/v1/",
      defaultModel: "gpt-4o-mini",
      apiKey: API_KEY,
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).not.toContain(API_KEY);
    expect(JSON.parse(text)).toMatchObject({
      baseUrl: "https://api.openai.com/v1",
      defaultModel: "gpt-4o-mini",
      apiKey: { set: true, lastChars: "WXYZ" },
      updatedBy: "test admin",
    });

    const read = await api("GET", path);
    expect(read.status).toBe(200);
    const readText = await read.text();
    expect(readText).not.toContain(API_KEY);
    expect(JSON.parse(readText).apiKey).toEqual({ set: true, lastChars: "WXYZ" });

    const row = await storedRow();
    expect(row?.api_key_sealed).toMatch(/^v1\./);
    expect(row?.api_key_sealed).not.toContain(API_KEY);
    expect(row?.api_key_sealed).not.toContain(btoa(API_KEY));
  });

  it("keeps the stored key when a change leaves it out, and replaces it when one is given", async () => {
    const kept = await api("PUT", path, {
      baseUrl: "https://llm.example.com/v1",
      defaultModel: "llama-3.1-8b",
    });
    expect(kept.status).toBe(200);
    expect((await json(kept)).apiKey).toEqual({ set: true, lastChars: "WXYZ" });
    const sealedBefore = (await storedRow())?.api_key_sealed;

    const replaced = await api("PUT", path, {
      baseUrl: "https://llm.example.com/v1",
      defaultModel: "llama-3.1-8b",
      apiKey: OTHER_KEY,
    });
    expect((await json(replaced)).apiKey).toEqual({ set: true, lastChars: "QRST" });
    expect((await storedRow())?.api_key_sealed).not.toBe(sealedBefore);
  });

  it("shows no characters of a key too short to hide the rest", async () => {
    const response = await api("PUT", path, {
      baseUrl: "https://llm.example.com/v1",
      defaultModel: "llama-3.1-8b",
      apiKey: "short-key",
    });
    expect((await json(response)).apiKey).toEqual({ set: true, lastChars: null });
    expect((await storedRow())?.api_key_hint).toBeNull();
    // Back to a known key for the tests after this one.
    await api("PUT", path, {
      baseUrl: "https://llm.example.com/v1",
      defaultModel: "llama-3.1-8b",
      apiKey: OTHER_KEY,
    });
  });

  it("audits every change with who made it and whether the key changed, never the key", async () => {
    const entries = await auditOf("model_provider.update");
    expect(entries.length).toBeGreaterThanOrEqual(4);
    const all = JSON.stringify(entries);
    for (const secret of [API_KEY, OTHER_KEY, "short-key", "WXYZ", "QRST"]) {
      expect(all).not.toContain(secret);
    }
    // Newest first: the last replacement, then the short key, then the one that kept the key.
    expect(entries[0]).toMatchObject({
      actor: expect.stringMatching(/^key_/),
      actorRole: "admin",
      after: { baseUrl: "https://llm.example.com/v1", apiKey: "replaced" },
    });
    expect(entries.map((entry) => (entry.after as { apiKey: string }).apiKey)).toContain("kept");
    expect(entries.at(-1)).toMatchObject({
      before: null,
      after: {
        baseUrl: "https://api.openai.com/v1",
        defaultModel: "gpt-4o-mini",
        apiKey: "replaced",
      },
    });
    const events = await outboxPayloads();
    expect(events).toContain("llm.example.com");
    for (const secret of [API_KEY, OTHER_KEY, "short-key"]) expect(events).not.toContain(secret);
  });
});

describe("what the API refuses", () => {
  const valid = {
    baseUrl: "https://api.openai.com/v1",
    defaultModel: "gpt-4o-mini",
    apiKey: API_KEY,
  };

  it.each([
    ["http://127.0.0.1:8080/v1", "loopback"],
    ["http://localhost:11434/v1", "loopback"],
    ["https://10.0.0.5/v1", "private"],
    ["https://169.254.169.254/latest", "link-local"],
    ["https://[::ffff:192.168.0.1]/v1", "private"],
    ["https://ollama.internal/v1", "internal"],
    ["http://api.openai.com/v1", "https"],
    ["https://user:pass@api.openai.com/v1", "credentials"],
    ["not a url", "absolute URL"],
  ])("a base URL like %s (%s)", async (baseUrl, reason) => {
    const response = await api("PUT", path, { ...valid, baseUrl });
    expect(response.status).toBe(422);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
    const problem = await json(response);
    expect(problem.errors).toEqual([
      { field: "body.baseUrl", message: expect.stringContaining(reason) },
    ]);
  });

  it("names the loopback setting for this feature, not the webhooks'", async () => {
    const problem = await json(
      await api("PUT", path, { ...valid, baseUrl: "http://127.0.0.1:8080/v1" }),
    );
    expect(problem.errors[0].message).toContain("MODEL_PROVIDER_ALLOW_LOOPBACK");
  });

  it.each([
    [{ ...valid, apiKey: "sk-with\nnewline" }, "body.apiKey"],
    [{ ...valid, apiKey: "" }, "body.apiKey"],
    [{ ...valid, apiKey: "k".repeat(1001) }, "body.apiKey"],
    [{ ...valid, defaultModel: "  " }, "body.defaultModel"],
    [{ ...valid, defaultModel: "m".repeat(201) }, "body.defaultModel"],
    [{ ...valid, baseUrl: `https://a.example.com/${"p".repeat(2000)}` }, "body.baseUrl"],
    [{ ...valid, extra: true }, "body"],
    [{ defaultModel: "gpt-4o-mini", apiKey: API_KEY }, "body.baseUrl"],
  ])("a body with a bad field (%#) names it", async (body, field) => {
    const response = await api("PUT", path, body);
    expect(response.status).toBe(422);
    const problem = await json(response);
    expect(problem.errors.map((e: { field: string }) => e.field)).toContain(field);
    // The refused key is not echoed back either.
    expect(JSON.stringify(problem)).not.toContain(API_KEY);
  });

  it("refuses editors and publishers, and leaves the provider as it was", async () => {
    const before = await json(await api("GET", path));
    for (const key of [editorKey, publisherKey]) {
      const headers = { authorization: `Bearer ${key}` };
      expect((await api("GET", path, undefined, headers)).status).toBe(403);
      expect((await api("PUT", path, valid, headers)).status).toBe(403);
      expect((await api("DELETE", path, undefined, headers)).status).toBe(403);
    }
    expect(await json(await api("GET", path))).toEqual(before);
  });

  it("answers 404 for another project", async () => {
    const response = await api("PUT", "/projects/someone-else/model-provider", valid);
    expect(response.status).toBe(404);
  });
});

describe("removing the model provider", () => {
  it("deletes the settings and the sealed key, audited; a first setting then needs a key again", async () => {
    expect((await api("DELETE", path)).status).toBe(204);
    expect((await api("GET", path)).status).toBe(404);
    expect(await storedRow()).toBeNull();
    expect((await api("DELETE", path)).status).toBe(404);
    const [entry] = await auditOf("model_provider.delete");
    expect(entry).toMatchObject({
      actor: expect.stringMatching(/^key_/),
      actorRole: "admin",
      before: { baseUrl: "https://llm.example.com/v1", defaultModel: "llama-3.1-8b" },
    });

    const keyless = await api("PUT", path, {
      baseUrl: "https://api.openai.com/v1",
      defaultModel: "gpt-4o-mini",
    });
    expect(keyless.status).toBe(422);
    expect((await json(keyless)).errors).toEqual([
      { field: "body.apiKey", message: expect.stringContaining("required") },
    ]);
  });
});
