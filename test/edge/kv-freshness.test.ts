import { env } from "cloudflare:workers";
import { versionKey } from "@cuecard/core/kv-records";
import { describe, expect, it } from "vitest";
import { IsolateCache } from "../../workers/edge/isolate-cache";
import {
  findReadKey,
  READ_KEY_CACHE_OPTIONS,
  type ReadKey,
  resolveVersion,
} from "../../workers/edge/prompt-store";
import { seedProject, seedPrompt } from "./factories";
import { probeKv } from "./faulty-kv";

/**
 * What KV is asked for bounds how stale the edge can be (README: "How fresh are edge reads?").
 * Miniflare has no per-location cache, so these tests check what the edge asks KV for.
 */
describe("KV reads and freshness bounds", () => {
  it("reads version keys with the minimum cacheTtl, so a new version is not cached as missing for long", async () => {
    const { project } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["one", "two"] });
    const probe = probeKv(env.PROMPTS_KV);
    const store = { kv: probe.kv, ttlMs: 0, waitUntil: () => {} };

    const missing = await resolveVersion(store, project, seeded.name, 3);
    const found = await resolveVersion(store, project, seeded.name, 2);

    expect(missing.value).toBeNull();
    expect(found.value?.first?.published.prompt).toBe("two");
    expect(probe.cacheTtls.get(versionKey(project, seeded.name, 3))).toBe(30);
    expect(probe.cacheTtls.get(versionKey(project, seeded.name, 2))).toBe(30);
  });

  it("keeps a cached read key through a KV outage for at most 10 minutes past its TTL", async () => {
    const { key } = await seedProject();
    const probe = probeKv(env.PROMPTS_KV);
    const time = { now: 1_000_000 };
    const readKeys = new IsolateCache<ReadKey | null>({
      ...READ_KEY_CACHE_OPTIONS,
      now: () => time.now,
    });
    const store = { kv: probe.kv, ttlMs: 5_000, waitUntil: () => {}, readKeys };
    expect((await findReadKey(store, key)).value).not.toBeNull();

    probe.failing = true;
    time.now += 5_000 + 9 * 60_000;
    expect(await findReadKey(store, key)).toMatchObject({ layer: "stale" });

    time.now += 2 * 60_000;
    await expect(findReadKey(store, key)).rejects.toMatchObject({ code: "unavailable" });
  });
});
