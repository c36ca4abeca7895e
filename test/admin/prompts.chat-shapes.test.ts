/**
 * The prompt shapes Langfuse users bring: chat placeholders, any role, names with upper case,
 * spaces and folders, labels with dots. Created through the admin API, checked as stored, as
 * published to KV, and refused (with nothing written) when malformed.
 */
import { env } from "cloudflare:workers";
import type { LabelPointer, VersionRecord } from "@cuecard/core/kv-records";
import { describe, expect, it } from "vitest";
import { api, createTextPrompt, enc, json } from "./api";

let counter = 0;
/** Upper case, spaces and a folder: a name Langfuse allows, unique within this file. */
function langfuseName(): string {
  counter += 1;
  return `Support Bots/Triage Helper ${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

async function expectRefused(response: Response, field: string) {
  expect([400, 422]).toContain(response.status);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  const body = await json(response);
  expect(body.errors.map((e: { field: string }) => e.field)).toContain(field);
  return body;
}

describe("chat placeholders, any role, Langfuse-wide names", () => {
  it("stores a chat version with a placeholder and an unusual role, and publishes it as stored", async () => {
    const name = langfuseName();
    const created = await api("POST", "/projects/default/prompts", {
      name,
      version: {
        prompt: [
          { role: "system", content: "You help {{company}} customers." },
          { type: "placeholder", name: "history" },
          // Langfuse's SDK sends every message with `type: "chatmessage"`.
          { type: "chatmessage", role: "tool-result", content: "Lookup: {{lookup}}" },
        ],
        labels: ["production", "v1.2"],
      },
    });
    expect(created.status).toBe(201);
    const body = await json(created);
    const stored = [
      { role: "system", content: "You help {{company}} customers." },
      { type: "placeholder", name: "history" },
      { role: "tool-result", content: "Lookup: {{lookup}}" },
    ];
    expect(body.prompt).toMatchObject({ name, type: "chat" });
    expect(body.version.prompt).toEqual(stored);
    // Only message contents declare variables; the placeholder is none.
    expect(body.version.variables).toEqual([
      { name: "company", type: "any", required: true },
      { name: "lookup", type: "any", required: true },
    ]);
    expect(body.version.labels).toEqual(["latest", "production", "v1.2"]);

    // The name is one encoded path segment: spaces and the folder's '/' encoded.
    const read = await api("GET", `/projects/default/prompts/${enc(name)}/versions/1`);
    expect(read.status).toBe(200);
    expect((await json(read)).prompt).toEqual(stored);

    const pointer = await env.PROMPTS_KV.get<LabelPointer>(`p/default/${name}@v1.2`, "json");
    expect(pointer?.versions[0]?.prompt).toEqual(stored);
    const version = await env.PROMPTS_KV.get<VersionRecord>(`v/default/${name}#1`, "json");
    expect(version).toMatchObject({ name, prompt: stored });
  });

  it("keeps names that differ only in case apart", async () => {
    const lower = `case-${Math.random().toString(36).slice(2, 8)}`;
    for (const name of [lower, lower.toUpperCase()]) {
      const response = await api("POST", "/projects/default/prompts", {
        name,
        version: { prompt: `I am ${name}` },
      });
      expect(response.status).toBe(201);
    }
    const upper = await api(
      "GET",
      `/projects/default/prompts/${enc(lower.toUpperCase())}/versions/1`,
    );
    expect((await json(upper)).prompt).toBe(`I am ${lower.toUpperCase()}`);
  });

  it("moves a label with a dot in it", async () => {
    const name = await createTextPrompt("x");
    const moved = await api(
      "PUT",
      `/projects/default/prompts/${enc(name)}/labels/release.2026-07`,
      {
        version: 1,
      },
    );
    expect(moved.status).toBe(200);
    expect(await env.PROMPTS_KV.get(`p/default/${name}@release.2026-07`)).not.toBeNull();
  });
});

describe("malformed shapes are refused, naming the field, and nothing is written", () => {
  const chat = (items: unknown[]) => ({ prompt: items });

  it.each([
    [
      "a placeholder name that is not an identifier",
      [{ type: "placeholder", name: "chat-history" }],
      "body.version.prompt.0.name",
    ],
    [
      "a placeholder with a role",
      [{ type: "placeholder", name: "history", role: "user" }],
      "body.version.prompt.0",
    ],
    ["an unknown item type", [{ type: "image", url: "x" }], "body.version.prompt.0.type"],
    ["an empty role", [{ role: "", content: "Hi" }], "body.version.prompt.0.role"],
    ["an over-long role", [{ role: "r".repeat(65), content: "Hi" }], "body.version.prompt.0.role"],
  ])("refuses %s", async (_, items, field) => {
    const name = langfuseName();
    const response = await api("POST", "/projects/default/prompts", {
      name,
      version: chat(items),
    });
    await expectRefused(response, field);
    expect((await api("GET", `/projects/default/prompts/${enc(name)}`)).status).toBe(404);
  });

  it.each([
    ["a '|'", "support|triage"],
    ["a leading slash", "/support/triage"],
    ["a doubled slash", "support//triage"],
  ])("refuses a name with %s", async (_, name) => {
    const response = await api("POST", "/projects/default/prompts", {
      name,
      version: { prompt: "Hi" },
    });
    const problem = await expectRefused(response, "body.name");
    expect(problem.errors[0].message).toBe(
      "use letters, digits, spaces, '.', '_', '-' and '/' between folders (no '|'), e.g. support/Triage bot",
    );
    const list = await json(await api("GET", "/projects/default/prompts?limit=200"));
    expect(list.items.map((item: { name: string }) => item.name)).not.toContain(name);
  });

  it("refuses a label with upper case, and one longer than 36 characters, on a new version", async () => {
    const name = await createTextPrompt("x");
    for (const label of ["Production", "l".repeat(37)]) {
      const response = await api("POST", `/projects/default/prompts/${enc(name)}/versions`, {
        prompt: "y",
        labels: [label],
      });
      await expectRefused(response, "body.labels.0");
    }
    const versions = await json(
      await api("GET", `/projects/default/prompts/${enc(name)}/versions`),
    );
    expect(versions.items.map((v: { version: number }) => v.version)).toEqual([1]);
  });
});
