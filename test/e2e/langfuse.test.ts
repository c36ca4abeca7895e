/**
 * The unchanged official Langfuse SDKs against the running platform, configured the way a
 * Langfuse user switches: only the base URL (the edge's) and the key pair change. `@langfuse/client`
 * 5.x and `langfuse` 3.x both read prompts from the edge and write them through it (the edge hands
 * writes to the admin worker); what they write is then read back by the other SDK and the admin API.
 */
import { LangfuseClient } from "@langfuse/client";
import { Langfuse } from "langfuse";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startEphemeralPlatform } from "../../scripts/platform";
import { demoProject, seedPlatform } from "../../scripts/seed";

let platform: Platform;
let pair: { publicKey: string; secretKey: string; baseUrl: string };
let adminKey: string;
let v5: LangfuseClient;
let v3: Langfuse;

/** Unique per run, so a rerun over kept state never meets its own prompts. */
const run = Date.now().toString(36);
const TEXT = `lf-e2e/${run}/greeting`;
const CHAT = `lf-e2e/${run}/support`;

beforeAll(async () => {
  platform = await startEphemeralPlatform("e2e-langfuse");
  const seeded = await seedPlatform(platform);
  if (!seeded.langfuse) throw new Error("the seed printed no Langfuse pair");
  pair = seeded.langfuse;
  adminKey = seeded.adminKey.secret;
  v5 = new LangfuseClient(pair);
  v3 = new Langfuse({ ...pair, fetchRetryCount: 0 });
});

afterAll(async () => {
  await v3?.shutdownAsync();
  await platform?.dispose();
});

async function adminLabels(name: string): Promise<[string, number][]> {
  const response = await fetch(
    `${platform.adminUrl}/api/v1/projects/${demoProject}/prompts/${encodeURIComponent(name)}`,
    { headers: { authorization: `Bearer ${adminKey}` } },
  );
  const prompt = (await response.json()) as { labels: { name: string; version: number }[] };
  return prompt.labels.map((label) => [label.name, label.version]);
}

describe("the Langfuse SDKs against Cuecard", () => {
  it("the seed's pair names the edge and a key of the demo project", () => {
    expect(pair.baseUrl).toBe(platform.edgeUrl);
    expect(pair.publicKey).toMatch(/^pk-lf-/);
    expect(pair.secretKey).toMatch(/^cc_publisher_/);
  });

  it("creates text and chat prompts with v5 (201), labels moving to the new version", async () => {
    const first = await v5.prompt.create({
      name: TEXT,
      prompt: "Hello {{name}}, welcome to {{place}}",
      config: { model: "gpt-4o-mini" },
      labels: ["production"],
      tags: ["e2e"],
      commitMessage: "first",
    });
    expect(first.version).toBe(1);
    const second = await v5.prompt.create({
      name: TEXT,
      prompt: "Hi {{name}}!",
      labels: ["staging"],
    });
    expect(second.version).toBe(2);
    const chat = await v5.prompt.create({
      name: CHAT,
      type: "chat",
      prompt: [
        { role: "system", content: "You help customers of {{company}}." },
        { role: "user", content: "{{question}}" },
      ],
      labels: ["production"],
    });
    expect(chat.version).toBe(1);
    expect(await adminLabels(TEXT)).toEqual([
      ["latest", 2],
      ["production", 1],
      ["staging", 2],
    ]);
  });

  it("reads by label and by version with v5, and compiles them", async () => {
    const production = await v5.prompt.get(TEXT, { cacheTtlSeconds: 0 });
    expect(production.version).toBe(1);
    expect(production.isFallback).toBe(false);
    expect(production.labels).toEqual(["production"]);
    expect(production.tags).toEqual(["e2e"]);
    expect(production.config).toEqual({ model: "gpt-4o-mini" });
    expect(production.compile({ name: "Ada", place: "Cuecard" })).toBe(
      "Hello Ada, welcome to Cuecard",
    );
    const staging = await v5.prompt.get(TEXT, { label: "staging", cacheTtlSeconds: 0 });
    expect(staging.compile({ name: "Ada" })).toBe("Hi Ada!");
    const pinned = await v5.prompt.get(TEXT, { version: 2, cacheTtlSeconds: 0 });
    expect(pinned.version).toBe(2);
    const chat = await v5.prompt.get(CHAT, { type: "chat", cacheTtlSeconds: 0 });
    expect(chat.compile({ company: "Acme", question: "Where is my <order>?" })).toEqual([
      { role: "system", content: "You help customers of Acme." },
      // Mustache without HTML escaping, as Langfuse compiles.
      { role: "user", content: "Where is my <order>?" },
    ]);
  });

  it("answers a missing prompt with Langfuse's 404, and v5 serves its fallback", async () => {
    await expect(v5.prompt.get(`${TEXT}-missing`, { cacheTtlSeconds: 0 })).rejects.toThrow(
      `Prompt not found: '${TEXT}-missing' with label 'production'`,
    );
    const fallback = await v5.prompt.get(`${TEXT}-missing`, {
      fallback: "Hello {{name}} (fallback)",
      cacheTtlSeconds: 0,
    });
    expect(fallback.isFallback).toBe(true);
    expect(fallback.compile({ name: "Ada" })).toBe("Hello Ada (fallback)");
  });

  it("moves labels with v5's update and lists prompts in pages", async () => {
    const updated = await v5.prompt.update({ name: TEXT, version: 2, newLabels: ["production"] });
    expect(updated.labels).toEqual(["latest", "production", "staging"]);
    expect(await adminLabels(TEXT)).toEqual([
      ["latest", 2],
      ["production", 2],
      ["staging", 2],
    ]);
    const page1 = await v5.api.prompts.list({ tag: "e2e", limit: 1 });
    expect(page1.meta).toMatchObject({ page: 1, limit: 1, totalItems: 1, totalPages: 1 });
    expect(page1.data[0]).toMatchObject({ name: TEXT, versions: [1, 2], tags: ["e2e"] });
    const all = await v5.api.prompts.list({ limit: 1, page: 2, name: CHAT });
    expect(all.data).toEqual([]);
    expect(all.meta.totalItems).toBe(1);
  });

  it("reads, creates and moves labels with v3, and fails a missing prompt with its message", async () => {
    const text = await v3.getPrompt(TEXT, undefined, { cacheTtlSeconds: 0 });
    expect(text.version).toBe(2);
    expect(text.compile({ name: "Bo" })).toBe("Hi Bo!");
    const pinned = await v3.getPrompt(TEXT, 1, { cacheTtlSeconds: 0 });
    expect(pinned.compile({ name: "Bo", place: "here" })).toBe("Hello Bo, welcome to here");
    const chat = await v3.getPrompt(CHAT, undefined, { type: "chat", cacheTtlSeconds: 0 });
    expect(chat.compile({ company: "Acme", question: "Hi?" })).toEqual([
      { role: "system", content: "You help customers of Acme." },
      { role: "user", content: "Hi?" },
    ]);
    await expect(
      v3.getPrompt(`${TEXT}-missing`, undefined, { cacheTtlSeconds: 0 }),
    ).rejects.toThrow("Prompt not found");
    const created = await v3.createPrompt({
      name: TEXT,
      prompt: "Hey {{name}}",
      labels: ["beta"],
    });
    expect(created.version).toBe(3);
    await v3.updatePrompt({ name: TEXT, version: 3, newLabels: ["production"] });
    const after = await v5.prompt.get(TEXT, { cacheTtlSeconds: 0 });
    expect(after.version).toBe(3);
    expect(after.labels).toEqual(["beta", "latest", "production"]);
  });
});
