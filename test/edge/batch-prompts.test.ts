import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import app from "../../workers/edge/index";
import { edgeFetch, problemOf } from "./edge-client";
import { seedProject, seedPrompt, uniqueName } from "./factories";
import { probeKv, testExecutionContext } from "./faulty-kv";

interface Batch {
  label: string;
  prompts: { name: string; version: number; prompt: string }[];
  missing: string[];
}

describe("GET /v1/prompts?names=", () => {
  it("returns the prompts found in request order and lists the missing names", async () => {
    const { project, key } = await seedProject();
    const a = await seedPrompt({ project, templates: ["A"] });
    const b = await seedPrompt({ project, name: `team/${uniqueName()}`, templates: ["B1", "B2"] });
    const ghost = uniqueName("ghost");

    const response = await edgeFetch(`/v1/prompts?names=${b.name},${ghost},${a.name}`, { key });

    expect(response.status).toBe(200);
    const body = (await response.json()) as Batch;
    expect(body.label).toBe("production");
    expect(body.prompts.map((p) => [p.name, p.version, p.prompt])).toEqual([
      [b.name, 2, "B2"],
      [a.name, 1, "A"],
    ]);
    expect(body.missing).toEqual([ghost]);
  });

  it("resolves the label given, listing prompts without it as missing", async () => {
    const { project, key } = await seedProject();
    const both = await seedPrompt({
      project,
      templates: ["p", "s"],
      labels: { production: 1, staging: 2 },
    });
    const prodOnly = await seedPrompt({ project, templates: ["p"] });

    const response = await edgeFetch(
      `/v1/prompts?names=${both.name},${prodOnly.name}&label=staging`,
      {
        key,
      },
    );

    const body = (await response.json()) as Batch;
    expect(body.prompts.map((p) => p.prompt)).toEqual(["s"]);
    expect(body.missing).toEqual([prodOnly.name]);
  });

  it("collapses duplicate names and reads all misses with ONE bulk KV get", async () => {
    const { project, key } = await seedProject();
    const seeded = await Promise.all(
      [1, 2, 3].map(() => seedPrompt({ project, templates: ["x"] })),
    );
    const names = seeded.map((s) => s.name);
    const probe = probeKv(env.PROMPTS_KV);
    const { ctx } = testExecutionContext();

    const response = await app.fetch(
      new Request(`https://edge.test/v1/prompts?names=${[...names, ...names].join(",")}`, {
        headers: { authorization: `Bearer ${key}` },
      }),
      { PROMPTS_KV: probe.kv, ISOLATE_CACHE_TTL_MS: "0" },
      ctx,
    );

    const body = (await response.json()) as Batch;
    expect(body.prompts.map((p) => p.name)).toEqual(names);
    const promptReads = probe.gets.filter((keys) => keys.some((k) => k.startsWith("p/")));
    expect(promptReads).toHaveLength(1);
    expect(promptReads[0]).toHaveLength(3);
  });

  it("accepts 100 distinct names and refuses 101", async () => {
    const { key } = await seedProject();
    const names = Array.from({ length: 101 }, (_, i) => `bulk-${i}`);

    const hundred = await edgeFetch(`/v1/prompts?names=${names.slice(0, 100).join(",")}`, { key });
    expect(hundred.status).toBe(200);
    expect(((await hundred.json()) as Batch).missing).toHaveLength(100);

    const tooMany = await edgeFetch(`/v1/prompts?names=${names.join(",")}`, { key });
    expect(tooMany.status).toBe(422);
    expect((await problemOf(tooMany)).errors?.[0]?.field).toBe("query.names");
  });

  it("counts duplicates once against the limit", async () => {
    const { key } = await seedProject();
    const names = Array.from({ length: 150 }, (_, i) => `dup-${i % 50}`);
    const response = await edgeFetch(`/v1/prompts?names=${names.join(",")}`, { key });
    expect(response.status).toBe(200);
  });

  it("refuses an invalid name in the list, naming it", async () => {
    const { key } = await seedProject();
    const response = await edgeFetch("/v1/prompts?names=good,b%7Cad,,x", { key });
    expect(response.status).toBe(422);
    const problem = await problemOf(response);
    expect(problem.errors?.map((e) => e.field)).toEqual(["query.names[1]", "query.names[2]"]);
  });

  it("refuses a batch without names, or with a version", async () => {
    const { key } = await seedProject();
    expect((await edgeFetch("/v1/prompts", { key })).status).toBe(422);
    expect((await edgeFetch("/v1/prompts?names=a&version=1", { key })).status).toBe(422);
  });
});
