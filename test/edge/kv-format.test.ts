import { env } from "cloudflare:workers";
import { hashKey } from "@cuecard/core/keys";
import { KV_FORMAT, labelPointerKey, readKeyRecordKey, versionKey } from "@cuecard/core/kv-records";
import { describe, expect, it } from "vitest";
import { edgeFetch, problemOf } from "./edge-client";
import { seedProject, seedPrompt } from "./factories";

/**
 * Every KV record carries the format it was written in; the edge serves only the one it knows.
 * A record from a newer publisher (or one written before formats were recorded) is refused
 * with a 503 the client can retry, never served as if it were understood.
 */
describe("KV record formats", () => {
  it("serves records in its own format", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["v1 {{x}}", "v2 {{x}}"] });
    for (const query of ["", "?version=1"]) {
      const response = await edgeFetch(`/v1/prompts/${seeded.name}${query}`, { key });
      expect(response.status, query).toBe(200);
    }
  });

  it("refuses a label pointer of an unknown format with 503, not a misread answer", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["v1 {{x}}"] });
    const pointerKey = labelPointerKey(project, seeded.name, "production");
    const pointer = (await env.PROMPTS_KV.get(pointerKey, "json")) as Record<string, unknown>;
    await env.PROMPTS_KV.put(pointerKey, JSON.stringify({ ...pointer, format: KV_FORMAT + 1 }));
    const response = await edgeFetch(`/v1/prompts/${seeded.name}`, { key });
    expect(response.status).toBe(503);
    expect((await problemOf(response)).code).toBe("unavailable");
  });

  it("still serves records of format 1 (format 2 without experiments), so the edge can go first", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["v1 {{x}}"] });
    for (const recordKey of [
      labelPointerKey(project, seeded.name, "production"),
      versionKey(project, seeded.name, 1),
      readKeyRecordKey(await hashKey(key)),
    ]) {
      const record = (await env.PROMPTS_KV.get(recordKey, "json")) as Record<string, unknown>;
      expect(record.format).toBe(2);
      await env.PROMPTS_KV.put(recordKey, JSON.stringify({ ...record, format: 1 }));
    }
    for (const query of ["", "?version=1"]) {
      const response = await edgeFetch(`/v1/prompts/${seeded.name}${query}`, { key });
      expect(response.status, query).toBe(200);
      expect((await response.json<{ experiment: unknown }>()).experiment).toBeNull();
    }
  });

  it("refuses a version record without a format", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["v1 {{x}}"] });
    const { format: _format, ...unversioned } = (await env.PROMPTS_KV.get(
      versionKey(project, seeded.name, 1),
      "json",
    )) as Record<string, unknown>;
    await env.PROMPTS_KV.put(versionKey(project, seeded.name, 1), JSON.stringify(unversioned));
    const response = await edgeFetch(`/v1/prompts/${seeded.name}?version=1`, { key });
    expect(response.status).toBe(503);
  });

  it("refuses a read-key record of an unknown format (the request is not let through)", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["v1 {{x}}"] });
    const recordKey = readKeyRecordKey(await hashKey(key));
    const record = (await env.PROMPTS_KV.get(recordKey, "json")) as Record<string, unknown>;
    await env.PROMPTS_KV.put(recordKey, JSON.stringify({ ...record, format: 99 }));
    const response = await edgeFetch(`/v1/prompts/${seeded.name}`, { key });
    expect(response.status).toBe(503);
  });
});
