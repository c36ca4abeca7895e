/**
 * The unchanged official Langfuse SDKs against the running platform, configured the way a
 * Langfuse user switches: only the base URL (the edge's) and the key pair change. `@langfuse/client`
 * 5.x and `langfuse` 3.x both read prompts from the edge and write them through it (the edge hands
 * writes to the admin worker); what they write is then read back by the other SDK and the admin API.
 * `@langfuse/otel` spans and `@langfuse/client` scores reach the prompt version's metrics through
 * the edge, the official `langfuse-cli` reads and lists prompts through it, and
 * `cuecard import langfuse` copies a project through this same API.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { LangfuseClient } from "@langfuse/client";
import { LangfuseSpanProcessor } from "@langfuse/otel";
import { setLangfuseTracerProvider, startObservation } from "@langfuse/tracing";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { Langfuse } from "langfuse";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Platform, startEphemeralPlatform } from "../../scripts/platform";
import { demoProject, seedPlatform } from "../../scripts/seed";
import { main } from "../../sdk/src/cli/main";

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

describe("chat placeholders through the Langfuse SDK", () => {
  it("creates a chat prompt with a placeholder, reads it back and fills it with compile", async () => {
    const name = `lf-e2e/${run}/with-history`;
    await v5.prompt.create({
      name,
      type: "chat",
      prompt: [
        { role: "system", content: "You help customers of {{company}}." },
        { type: "placeholder", name: "history" },
        { role: "user", content: "{{question}}" },
      ],
      labels: ["production"],
    });
    // On the wire, messages have no `type` and the placeholder keeps its own, as Langfuse answers.
    const wire = await fetch(
      `${platform.edgeUrl}/api/public/v2/prompts/${encodeURIComponent(name)}`,
      {
        headers: {
          authorization: `Basic ${Buffer.from(`${pair.publicKey}:${pair.secretKey}`).toString("base64")}`,
        },
      },
    );
    expect(((await wire.json()) as { prompt: unknown }).prompt).toEqual([
      { role: "system", content: "You help customers of {{company}}." },
      { type: "placeholder", name: "history" },
      { role: "user", content: "{{question}}" },
    ]);
    // v5's client marks every plain message as a `chatmessage` when it reads them.
    const prompt = await v5.prompt.get(name, { type: "chat", cacheTtlSeconds: 0 });
    expect(prompt.prompt).toEqual([
      { type: "chatmessage", role: "system", content: "You help customers of {{company}}." },
      { type: "placeholder", name: "history" },
      { type: "chatmessage", role: "user", content: "{{question}}" },
    ]);
    expect(
      prompt.compile(
        { company: "Acme", question: "And now?" },
        {
          history: [
            { role: "user", content: "Where is my order?" },
            { role: "assistant", content: "On its way." },
          ],
        },
      ),
    ).toEqual([
      { role: "system", content: "You help customers of Acme." },
      { role: "user", content: "Where is my order?" },
      { role: "assistant", content: "On its way." },
      { role: "user", content: "And now?" },
    ]);
  });
});

describe("the official langfuse-cli against Cuecard", () => {
  /** The CLI's own bin, run by Node as a user's shell would run `langfuse`. */
  const bin = (() => {
    const manifest = createRequire(import.meta.url).resolve("langfuse-cli/package.json");
    return join(dirname(manifest), "bin/langfuse.mjs");
  })();

  /** Runs `langfuse <args>` configured only by environment, the way its README configures it. */
  const langfuse = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [bin, ...args],
        {
          env: {
            LANGFUSE_HOST: pair.baseUrl,
            LANGFUSE_PUBLIC_KEY: pair.publicKey,
            LANGFUSE_SECRET_KEY: pair.secretKey,
          },
          timeout: 30_000,
        },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });

  it("gets a prompt by label and by version, lists prompts page by page, and fails a missing one with the 404", async () => {
    // By the SDKs' tests above: v1 "Hello…", v2 "Hi…" (staging), v3 "Hey…" (production, beta).
    const production = await langfuse(["api", "prompts", "get", TEXT]);
    expect(production.code, production.stderr).toBe(0);
    expect(JSON.parse(production.stdout)).toMatchObject({
      name: TEXT,
      version: 3,
      type: "text",
      prompt: "Hey {{name}}",
      labels: ["beta", "latest", "production"],
    });
    // `--api-version auto` reads /api/public/health for the contract to use.
    const detected = await langfuse(["api", "prompts", "get", TEXT, "--api-version", "auto"]);
    expect(detected.code, detected.stderr).toBe(0);
    expect(JSON.parse(detected.stdout)).toMatchObject({ name: TEXT, version: 3 });
    const staging = await langfuse(["api", "prompts", "get", TEXT, "--label", "staging"]);
    expect(staging.code, staging.stderr).toBe(0);
    expect(JSON.parse(staging.stdout)).toMatchObject({ version: 2, prompt: "Hi {{name}}!" });
    const first = await langfuse(["api", "prompts", "get", TEXT, "--version", "1"]);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      name: TEXT,
      version: 1,
      prompt: "Hello {{name}}, welcome to {{place}}",
      config: { model: "gpt-4o-mini" },
    });

    const listed = await langfuse(["api", "prompts", "list", "--name", TEXT]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({
      data: [{ name: TEXT, type: "text", versions: [1, 2, 3], tags: ["e2e"] }],
      meta: { page: 1, totalItems: 1, totalPages: 1 },
    });
    // `--all` follows the list's pages by `meta.totalPages`, one prompt a page here.
    const everything = await langfuse(["api", "prompts", "list", "--limit", "1", "--all"]);
    expect(everything.code, everything.stderr).toBe(0);
    const all = JSON.parse(everything.stdout) as {
      data: { name: string }[];
      meta: { pages: number; fetchedItems: number; totalItems: number; truncated: boolean };
    };
    expect(all.data.map((prompt) => prompt.name)).toEqual(
      expect.arrayContaining([TEXT, CHAT, `lf-e2e/${run}/with-history`]),
    );
    expect(all.meta.truncated).toBe(false);
    expect(all.meta.fetchedItems).toBe(all.meta.totalItems);
    expect(all.meta.pages).toBe(all.meta.totalItems);
    expect(new Set(all.data.map((prompt) => prompt.name)).size).toBe(all.meta.totalItems);

    // The CLI prints the error body and exits 5, its code for an HTTP error.
    const missing = await langfuse(["api", "prompts", "get", `${TEXT}-missing`]);
    expect(missing.code).toBe(5);
    expect(JSON.parse(missing.stdout)).toEqual({
      message: `Prompt not found: '${TEXT}-missing' with label 'production'`,
      error: "LangfuseNotFoundError",
    });
  });
});

describe("Langfuse telemetry through the edge", () => {
  /** A prompt version's totals, as the admin's metrics API reads them from telemetry. */
  async function versionTotal(prompt: string, version: number) {
    const query = new URLSearchParams({
      groupBy: "version",
      from: new Date(Date.now() - 3_600_000).toISOString(),
      to: new Date(Date.now() + 3_600_000).toISOString(),
    });
    const response = await fetch(
      `${platform.adminUrl}/api/v1/projects/${demoProject}/prompts/${encodeURIComponent(prompt)}/metrics?${query}`,
      { headers: { authorization: `Bearer ${adminKey}` } },
    );
    const body = (await response.json()) as {
      series: {
        version: number;
        total: {
          calls: number;
          inputTokens: number;
          outputTokens: number;
          scores: Record<string, { n: number; mean: number }>;
        };
      }[];
    };
    return body.series.find((series) => series.version === version)?.total;
  }

  it("a generation traced with @langfuse/otel and scored with @langfuse/client shows under its prompt version", async () => {
    const processor = new LangfuseSpanProcessor({ ...pair, exportMode: "immediate" });
    const provider = new BasicTracerProvider({ spanProcessors: [processor] });
    setLangfuseTracerProvider(provider);
    const generation = startObservation(
      "triage",
      {
        model: "gpt-4o",
        input: [{ role: "user", content: "My order never arrived." }],
        usageDetails: { input: 400, output: 100 },
        prompt: { name: TEXT, version: 2, isFallback: false },
      },
      { asType: "generation" },
    );
    generation.update({ output: { role: "assistant", content: "Sorry to hear that." } });
    generation.end();
    await processor.forceFlush();
    v5.score.observation(generation, { name: "helpful", value: 0.8 });
    await v5.score.flush();

    const total = await vi.waitFor(
      async () => {
        const found = await versionTotal(TEXT, 2);
        if (found?.scores.helpful?.n !== 1) throw new Error(`not yet: ${JSON.stringify(found)}`);
        return found;
      },
      { timeout: 30_000, interval: 250 },
    );
    expect(total).toMatchObject({
      calls: 1,
      inputTokens: 400,
      outputTokens: 100,
      scores: { helpful: { n: 1, mean: 0.8 } },
    });
    await provider.shutdown();
  });

  it("refuses a wrong key pair with Langfuse's 401, and a malformed OTLP export whole", async () => {
    const wrong = `Basic ${Buffer.from(`${pair.publicKey}:cc_publisher_${"x".repeat(32)}`).toString("base64")}`;
    const refused = await fetch(`${platform.edgeUrl}/api/public/ingestion`, {
      method: "POST",
      headers: { authorization: wrong, "content-type": "application/json" },
      body: JSON.stringify({ batch: [] }),
    });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: "UnauthorizedError" });

    const right = `Basic ${Buffer.from(`${pair.publicKey}:${pair.secretKey}`).toString("base64")}`;
    const malformed = await fetch(`${platform.edgeUrl}/api/public/otel/v1/traces`, {
      method: "POST",
      headers: { authorization: right, "content-type": "application/json" },
      body: JSON.stringify({ resourceSpans: "not a list" }),
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: "InvalidRequestError" });
  });
});

describe("prompt references through the Langfuse SDK", () => {
  it("serves a prompt with the one it includes resolved, and follows the included label as it moves", async () => {
    const tone = `lf-e2e/${run}/shared-tone`;
    const support = `lf-e2e/${run}/composed`;
    await v5.prompt.create({ name: tone, prompt: "Be kind.", labels: ["production"] });
    await v5.prompt.create({
      name: support,
      prompt: `@@@langfusePrompt:name=${tone}|label=production@@@ Help {{customer}}.`,
      labels: ["production"],
    });
    const served = await v5.prompt.get(support, { cacheTtlSeconds: 0 });
    expect(served.prompt).toBe("Be kind. Help {{customer}}.");
    expect(served.compile({ customer: "Ada" })).toBe("Be kind. Help Ada.");

    await v5.prompt.create({ name: tone, prompt: "Be brief.", labels: ["production"] });
    // The edge's isolate cache and KV's own cache hold the old pointer for a while.
    await expect
      .poll(async () => (await v5.prompt.get(support, { cacheTtlSeconds: 0 })).prompt, {
        timeout: 60_000,
        interval: 500,
      })
      .toBe("Be brief. Help {{customer}}.");

    // A cycle is refused by the SDK's create with Langfuse's 400 naming it; nothing is written.
    await expect(
      v5.prompt.create({
        name: tone,
        prompt: `@@@langfusePrompt:name=${support}|label=production@@@`,
        labels: ["production"],
      }),
    ).rejects.toThrow(/a version cannot include itself/);
  });
});

describe("cuecard import langfuse, from Cuecard's own Langfuse API", () => {
  it("copies the demo project into another one version for version; a second run changes nothing", async () => {
    const target = `lf-import-${run}`;
    const bootstrap = await fetch(`${platform.adminUrl}/api/v1/bootstrap`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${platform.adminToken}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ project: target, keyName: "import" }),
    });
    expect(bootstrap.status).toBe(201);
    const targetKey = ((await bootstrap.json()) as { secret: string }).secret;
    const workDir = await mkdtemp(join(tmpdir(), "cuecard-lf-import-"));
    const cli = async (args: string[]) => {
      let stdout = "";
      let stderr = "";
      const code = await main(args, {
        cwd: workDir,
        env: { CUECARD_API_KEY: targetKey },
        stdout: (text) => {
          stdout += text;
        },
        stderr: (text) => {
          stderr += text;
        },
      });
      return { code, stdout, stderr };
    };
    try {
      const init = await cli([
        "init",
        "--admin-url",
        platform.adminUrl,
        "--edge-url",
        platform.edgeUrl,
        "--project",
        target,
      ]);
      expect(init.code, init.stderr).toBe(0);
      const importArgs = [
        "import",
        "langfuse",
        "--host",
        pair.baseUrl,
        "--public-key",
        pair.publicKey,
        "--secret-key",
        pair.secretKey,
      ];
      const first = await cli(importArgs);
      expect(first.code, `${first.stdout}\n${first.stderr}`).toBe(0);

      const source = await projectSnapshot(demoProject, adminKey);
      expect(source.length).toBeGreaterThan(3);
      expect(await projectSnapshot(target, targetKey)).toEqual(source);

      const second = await cli(importArgs);
      expect(second.code, `${second.stdout}\n${second.stderr}`).toBe(0);
      expect(second.stdout).not.toMatch(/created with|added v/);
      expect(await projectSnapshot(target, targetKey)).toEqual(source);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  });
});

/** Every prompt of a project with its versions' content and its labels (but `latest`), by name. */
async function projectSnapshot(project: string, key: string) {
  const get = async (path: string) => {
    const response = await fetch(`${platform.adminUrl}/api/v1/projects/${project}${path}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(response.status, path).toBe(200);
    return response.json() as Promise<any>;
  };
  const prompts = (await get("/prompts?limit=200")).items as { name: string }[];
  const snapshot = [];
  for (const { name } of prompts.sort((a, b) => a.name.localeCompare(b.name))) {
    const prompt = await get(`/prompts/${encodeURIComponent(name)}`);
    const versions = (await get(`/prompts/${encodeURIComponent(name)}/versions?limit=200`))
      .items as { version: number; prompt: unknown; config: unknown; commitMessage: unknown }[];
    snapshot.push({
      name,
      type: prompt.type,
      tags: [...prompt.tags].sort(),
      labels: (prompt.labels as { name: string; version: number }[])
        .filter((label) => label.name !== "latest")
        .map((label) => [label.name, label.version])
        .sort(),
      versions: versions
        .map((v) => ({
          version: v.version,
          prompt: v.prompt,
          config: v.config,
          commitMessage: v.commitMessage ?? null,
        }))
        .sort((a, b) => a.version - b.version),
    });
  }
  return snapshot;
}
