import { env } from "cloudflare:workers";
import type { PublishedVersion } from "@cuecard/core/kv-records";
import { describe, expect, it } from "vitest";
import { edgeFetch } from "./edge-client";
import { encodeName, putPointer, seedProject, seedPrompt, uniqueName } from "./factories";

describe("GET /v1/prompts/{name}", () => {
  it("serves the production label by default, with its version and content hash", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({
      project,
      templates: ["Hello {{customer}}", "Hi {{customer}}, how can I help?"],
      labels: { production: 1, staging: 2 },
    });
    const v1 = seeded.versions[0];

    const response = await edgeFetch(`/v1/prompts/${seeded.name}`, { key });

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.headers.get("cuecard-version")).toBe("1");
    expect(response.headers.get("etag")).toBe(`"${v1?.hash}.v1"`);
    expect(response.headers.get("cache-control")).toBe("private, max-age=0, must-revalidate");
    expect(await response.json()).toEqual({
      name: seeded.name,
      type: "text",
      version: 1,
      label: "production",
      prompt: "Hello {{customer}}",
      config: v1?.config,
      variables: [{ name: "customer", type: "any", required: true }],
      hash: v1?.hash,
      commitMessage: "v1",
      createdAt: v1?.createdAt,
      experiment: null,
    });
  });

  it("serves another label with ?label=", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({
      project,
      templates: ["one", "two"],
      labels: { production: 1, staging: 2 },
    });

    const response = await edgeFetch(`/v1/prompts/${seeded.name}?label=staging`, { key });

    expect(response.status).toBe(200);
    const body = (await response.json()) as { version: number; label: string; prompt: string };
    expect(body).toMatchObject({ version: 2, label: "staging", prompt: "two" });
    expect(response.headers.get("cuecard-version")).toBe("2");
  });

  it("serves a pinned ?version= as immutable, with no label", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["one", "two", "three"] });

    const response = await edgeFetch(`/v1/prompts/${seeded.name}?version=2`, { key });

    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("private, max-age=31536000, immutable");
    expect(response.headers.get("etag")).toBe(`"${seeded.versions[1]?.hash}.v2"`);
    expect(await response.json()).toMatchObject({ version: 2, label: null, prompt: "two" });
  });

  it("answers 304 without a body when If-None-Match holds the current ETag", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["cached text"] });
    const first = await edgeFetch(`/v1/prompts/${seeded.name}`, { key });
    const etag = first.headers.get("etag") as string;

    const again = await edgeFetch(`/v1/prompts/${seeded.name}`, {
      key,
      headers: { "if-none-match": etag },
    });
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe(etag);
    expect(await again.text()).toBe("");

    const weakInList = await edgeFetch(`/v1/prompts/${seeded.name}`, {
      key,
      headers: { "if-none-match": `"other", W/${etag}` },
    });
    expect(weakInList.status).toBe(304);
  });

  it("sends the new version once the label has moved, even to a client holding the old ETag", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({
      project,
      templates: ["old", "new"],
      labels: { production: 1 },
    });
    const first = await edgeFetch(`/v1/prompts/${seeded.name}`, { key });
    const oldEtag = first.headers.get("etag") as string;
    await seedPrompt({
      project,
      name: seeded.name,
      templates: ["old", "new"],
      labels: { production: 2 },
    });

    const response = await edgeFetch(`/v1/prompts/${seeded.name}`, {
      key,
      headers: { "if-none-match": oldEtag },
    });

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ version: 2, prompt: "new" });
  });

  it("sends the new version when the label moves to a version with the same content", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({
      project,
      templates: ["same {{x}}", "same {{x}}"],
      labels: { production: 1 },
    });
    const [v1, v2] = seeded.versions as [PublishedVersion, PublishedVersion];
    expect(v2.hash).toBe(v1.hash);
    const first = await edgeFetch(`/v1/prompts/${seeded.name}`, { key });
    const oldEtag = first.headers.get("etag") as string;
    await putPointer(env.PROMPTS_KV, project, seeded.name, "production", v2);

    const response = await edgeFetch(`/v1/prompts/${seeded.name}`, {
      key,
      headers: { "if-none-match": oldEtag },
    });

    expect(response.status).toBe(200);
    expect(response.headers.get("etag")).not.toBe(oldEtag);
    expect(response.headers.get("cuecard-version")).toBe("2");
    expect(await response.json()).toMatchObject({ version: 2, hash: v1.hash, commitMessage: "v2" });
  });

  it("takes a folder-like name as one URL-encoded path segment", async () => {
    const { project, key } = await seedProject();
    const name = `support/${uniqueName("triage")}`;
    await seedPrompt({ project, name, templates: ["Triage {{ticket}}"] });

    const response = await edgeFetch(`/v1/prompts/${encodeName(name)}`, { key });

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ name, prompt: "Triage {{ticket}}" });
  });

  it("returns a chat prompt as its list of messages", async () => {
    const { project, key } = await seedProject();
    const messages = [
      { role: "system" as const, content: "You are {{persona}}." },
      { role: "user" as const, content: "{{question}}" },
    ];
    const seeded = await seedPrompt({ project, templates: [messages] });

    const response = await edgeFetch(`/v1/prompts/${seeded.name}`, { key });

    expect(await response.json()).toMatchObject({ type: "chat", prompt: messages });
  });

  it("says which layer answered and how long it took", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["timed"] });

    const response = await edgeFetch(`/v1/prompts/${seeded.name}`, { key });

    // The tests run with the isolate cache off, so KV answers.
    expect(response.headers.get("cuecard-cache")).toBe("miss");
    expect(response.headers.get("server-timing")).toMatch(/^cache;desc="kv";dur=\d+(\.\d)?$/);
  });
});
