import { env } from "cloudflare:workers";
import { labelPointerKey, versionKey, withdrawnRecord } from "@cuecard/core/kv-records";
import { describe, expect, it } from "vitest";
import { edgeFetch, problemOf, renderRequest } from "./edge-client";
import { seedProject, seedPrompt } from "./factories";

/**
 * What the admin publishes for an archived prompt: a withdrawn record over each pointer and
 * version key. The edge then serves it in no form and says why.
 */
async function archive(project: string, name: string, versions: number[], labels: string[]) {
  const record = withdrawnRecord(name, "2026-08-01T00:00:00.000Z");
  for (const version of versions) {
    await env.PROMPTS_KV.put(versionKey(project, name, version), JSON.stringify(record));
  }
  for (const label of labels) {
    await env.PROMPTS_KV.put(labelPointerKey(project, name, label), JSON.stringify(record));
  }
}

describe("an archived prompt at the edge", () => {
  it("answers 404 saying it is archived, for its labels and its pinned versions", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["leaked {{x}}", "also {{x}}"] });
    await archive(project, seeded.name, [1, 2], ["production"]);
    for (const query of ["", "?label=production", "?version=1", "?version=2"]) {
      const response = await edgeFetch(`/v1/prompts/${seeded.name}${query}`, { key });
      expect(response.status, query).toBe(404);
      const problem = await problemOf(response);
      expect(problem.code).toBe("not_found");
      expect(problem.detail).toContain("archived");
    }
    const rendered = await renderRequest(`/v1/prompts/${seeded.name}/render`, key, {
      version: 1,
      variables: { x: "y" },
    });
    expect(rendered.status).toBe(404);
    expect((await problemOf(rendered)).detail).toContain("archived");
  });

  it("lists it as missing in a batch read", async () => {
    const { project, key } = await seedProject();
    const live = await seedPrompt({ project, templates: ["live"] });
    const gone = await seedPrompt({ project, templates: ["leaked"] });
    await archive(project, gone.name, [1], ["production"]);
    const response = await edgeFetch(`/v1/prompts?names=${live.name},${gone.name}`, { key });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { prompts: { name: string }[]; missing: string[] };
    expect(body.prompts.map((p) => p.name)).toEqual([live.name]);
    expect(body.missing).toEqual([gone.name]);
  });
});
