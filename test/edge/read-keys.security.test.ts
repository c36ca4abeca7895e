import { env } from "cloudflare:workers";
import { generateKey } from "@cuecard/core/keys";
import { describe, expect, it } from "vitest";
import app from "../../workers/edge/index";
import { edgeFetch, problemOf } from "./edge-client";
import { seedProject, seedPrompt, seedReadKey, uniqueProject } from "./factories";
import { probeKv, testExecutionContext } from "./faulty-kv";

describe("read keys", () => {
  it("refuses a request without a key with 401 and a Bearer challenge", async () => {
    const { project } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["x"] });
    const response = await edgeFetch(`/v1/prompts/${seeded.name}`);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await problemOf(response)).code).toBe("unauthorized");
  });

  it.each([
    ["not a Cuecard key", "hunter2"],
    ["a key with a short secret", "cc_reader_abc"],
    ["an unknown role", `cc_owner_${"a".repeat(32)}`],
  ])("refuses %s before any KV lookup", async (_, token) => {
    const probe = probeKv(env.PROMPTS_KV);
    const { ctx } = testExecutionContext();
    const response = await app.fetch(
      new Request("https://edge.test/v1/prompts/x", {
        headers: { authorization: `Bearer ${token}` },
      }),
      { PROMPTS_KV: probe.kv, ISOLATE_CACHE_TTL_MS: "0" },
      ctx,
    );
    expect(response.status).toBe(401);
    await problemOf(response);
    expect(probe.gets).toEqual([]);
  });

  it("refuses a well-formed key that was never issued (or was revoked)", async () => {
    const { project } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["x"] });
    const response = await edgeFetch(`/v1/prompts/${seeded.name}`, { key: generateKey("reader") });
    expect(response.status).toBe(401);
    await problemOf(response);
  });

  it("refuses an expired key and accepts one that has not expired yet", async () => {
    const project = uniqueProject();
    const seeded = await seedPrompt({ project, templates: ["x"] });
    const expired = await seedReadKey({ project, expiresAt: "2020-01-01T00:00:00.000Z" });
    const valid = await seedReadKey({ project, expiresAt: "2999-01-01T00:00:00.000Z" });

    expect((await edgeFetch(`/v1/prompts/${seeded.name}`, { key: expired })).status).toBe(401);
    expect((await edgeFetch(`/v1/prompts/${seeded.name}`, { key: valid })).status).toBe(200);
  });

  it("stops accepting a key once its record is removed from KV (revocation)", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["x"] });
    expect((await edgeFetch(`/v1/prompts/${seeded.name}`, { key })).status).toBe(200);

    const { hashKey } = await import("@cuecard/core/keys");
    await env.PROMPTS_KV.delete(`k/${await hashKey(key)}`);

    expect((await edgeFetch(`/v1/prompts/${seeded.name}`, { key })).status).toBe(401);
  });

  it("never serves another project's prompts: they are simply not found", async () => {
    const a = await seedProject();
    const b = await seedProject();
    const secret = await seedPrompt({ project: b.project, templates: ["project B only"] });

    const response = await edgeFetch(`/v1/prompts/${secret.name}`, { key: a.key });

    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain("project B only");
  });

  it("does not need a key for /healthz and /openapi.json", async () => {
    expect((await edgeFetch("/healthz")).status).toBe(200);
    expect((await edgeFetch("/openapi.json")).status).toBe(200);
  });
});
