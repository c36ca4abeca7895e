import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { setCacheHeaders } from "../../workers/edge/http";
import app from "../../workers/edge/index";
import { IsolateCache } from "../../workers/edge/isolate-cache";
import { resolveLabel, type ServedPrompt } from "../../workers/edge/prompt-store";
import { putPointer, seedProject, seedPrompt } from "./factories";
import { probeKv, testExecutionContext } from "./faulty-kv";

function clock(start = 1_000_000) {
  const time = { now: start };
  return { time, now: () => time.now };
}

function cacheWithClock(options: { maxEntries?: number; maxBytes?: number } = {}) {
  const { time, now } = clock();
  const cache = new IsolateCache<string>({
    maxEntries: options.maxEntries ?? 100,
    maxBytes: options.maxBytes ?? 1_000_000,
    staleWhileRevalidateMs: 10_000,
    staleIfErrorMs: 60_000,
    sizeOf: (value) => value.length * 2,
    now,
  });
  return { cache, time };
}

function countingSource(values: string[]) {
  const source = { calls: 0, fail: false };
  const load = async () => {
    source.calls += 1;
    if (source.fail) throw new Error("KV down");
    return values[Math.min(source.calls - 1, values.length - 1)] as string;
  };
  return { source, load };
}

describe("IsolateCache", () => {
  it("serves a fresh value without reading the source again, and re-reads after the TTL", async () => {
    const { cache, time } = cacheWithClock();
    const { source, load } = countingSource(["v1", "v2"]);
    const { ctx, settle } = testExecutionContext();
    const waitUntil = ctx.waitUntil.bind(ctx);

    expect(await cache.read("k", 5_000, load, waitUntil)).toEqual({ value: "v1", layer: "kv" });
    time.now += 4_999;
    expect(await cache.read("k", 5_000, load, waitUntil)).toEqual({
      value: "v1",
      layer: "isolate",
    });
    expect(source.calls).toBe(1);

    time.now += 1 + 10_000; // past the TTL and the stale-while-revalidate window
    expect(await cache.read("k", 5_000, load, waitUntil)).toEqual({ value: "v2", layer: "kv" });
    expect(source.calls).toBe(2);
    await settle();
  });

  it("serves the stale value while ONE background refresh runs (stale-while-revalidate)", async () => {
    const { cache, time } = cacheWithClock();
    const { source, load } = countingSource(["old", "new"]);
    const { ctx, settle } = testExecutionContext();
    const waitUntil = ctx.waitUntil.bind(ctx);
    await cache.read("k", 5_000, load, waitUntil);

    time.now += 6_000;
    const during = await Promise.all([
      cache.read("k", 5_000, load, waitUntil),
      cache.read("k", 5_000, load, waitUntil),
    ]);
    expect(during).toEqual([
      { value: "old", layer: "revalidating" },
      { value: "old", layer: "revalidating" },
    ]);
    await settle();
    expect(source.calls).toBe(2);
    expect(await cache.read("k", 5_000, load, waitUntil)).toEqual({
      value: "new",
      layer: "isolate",
    });
  });

  it("shares one source read between concurrent misses of a key", async () => {
    const { cache } = cacheWithClock();
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let calls = 0;
    const load = async () => {
      calls += 1;
      await gate;
      return "value";
    };
    const { ctx } = testExecutionContext();
    const reads = Array.from({ length: 5 }, () =>
      cache.read("k", 5_000, load, ctx.waitUntil.bind(ctx)),
    );
    release();
    expect((await Promise.all(reads)).map((r) => r.value)).toEqual(Array(5).fill("value"));
    expect(calls).toBe(1);
  });

  it("serves the last known good value when the source fails, and says it is stale", async () => {
    const { cache, time } = cacheWithClock();
    const { source, load } = countingSource(["good"]);
    const { ctx } = testExecutionContext();
    const waitUntil = ctx.waitUntil.bind(ctx);
    await cache.read("k", 5_000, load, waitUntil);

    source.fail = true;
    time.now += 30_000; // past TTL + SWR, inside stale-if-error
    expect(await cache.read("k", 5_000, load, waitUntil)).toEqual({
      value: "good",
      layer: "stale",
    });

    time.now += 60_000; // past stale-if-error: the failure surfaces
    await expect(cache.read("k", 5_000, load, waitUntil)).rejects.toThrow("KV down");
  });

  it("evicts the least recently used entry beyond its entry bound", async () => {
    const { cache } = cacheWithClock({ maxEntries: 2 });
    cache.set("a", "A");
    cache.set("b", "B");
    expect(cache.fresh("a", 5_000)?.value).toBe("A"); // a is now more recent than b
    cache.set("c", "C");
    expect(cache.size).toBe(2);
    expect(cache.fresh("b", 5_000)).toBeUndefined();
    expect(cache.fresh("a", 5_000)?.value).toBe("A");
  });

  it("keeps an entry read from the older half past evictions that take its elders", async () => {
    const { cache } = cacheWithClock({ maxEntries: 10 });
    for (let i = 0; i < 10; i++) cache.set(`key-${i}`, `v${i}`);
    expect(cache.fresh("key-1", 5_000)?.value).toBe("v1"); // the second oldest
    for (let i = 10; i < 19; i++) cache.set(`key-${i}`, `v${i}`); // evicts nine
    expect(cache.fresh("key-1", 5_000)?.value).toBe("v1");
    expect(cache.fresh("key-0", 5_000)).toBeUndefined();
    expect(cache.fresh("key-9", 5_000)).toBeUndefined();
    expect(cache.fresh("key-10", 5_000)?.value).toBe("v10");
  });

  it("keeps the bytes it holds under its byte bound", async () => {
    const { cache } = cacheWithClock({ maxBytes: 1_000 });
    for (let i = 0; i < 10; i++) cache.set(`key-${i}`, "x".repeat(100));
    expect(cache.bytes).toBeLessThanOrEqual(1_000);
    expect(cache.size).toBeLessThan(10);
    expect(cache.fresh("key-9", 5_000)).toBeDefined();
    cache.set("huge", "x".repeat(10_000));
    expect(cache.fresh("huge", 5_000)).toBeUndefined();
  });

  it("keeps nothing and always reads the source when the TTL is 0", async () => {
    const { cache } = cacheWithClock();
    const { source, load } = countingSource(["v"]);
    const { ctx } = testExecutionContext();
    await cache.read("k", 0, load, ctx.waitUntil.bind(ctx));
    await cache.read("k", 0, load, ctx.waitUntil.bind(ctx));
    expect(source.calls).toBe(2);
    expect(cache.size).toBe(0);
  });
});

describe("edge responses through the isolate cache", () => {
  async function get(path: string, key: string, kv: KVNamespace, ttl = "60000") {
    const { ctx, settle } = testExecutionContext();
    const response = await app.fetch(
      new Request(`https://edge.test${path}`, { headers: { authorization: `Bearer ${key}` } }),
      { PROMPTS_KV: kv, ISOLATE_CACHE_TTL_MS: ttl },
      ctx,
    );
    await settle();
    return response;
  }

  it("answers a repeated read from the isolate without touching KV", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["cached"] });
    const probe = probeKv(env.PROMPTS_KV);

    const first = await get(`/v1/prompts/${seeded.name}`, key, probe.kv);
    expect(first.headers.get("cuecard-cache")).toBe("miss");
    const reads = probe.gets.length;
    const second = await get(`/v1/prompts/${seeded.name}`, key, probe.kv);

    expect(second.headers.get("cuecard-cache")).toBe("hit");
    expect(second.headers.get("server-timing")).toContain('desc="isolate"');
    expect(await second.json()).toMatchObject({ prompt: "cached" });
    expect(probe.gets.length).toBe(reads);
  });

  it("serves the last known good prompt from KV's outage, and reports it as stale", async () => {
    const { project } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["last known good"] });
    const probe = probeKv(env.PROMPTS_KV);
    const { time, now } = clock();
    const prompts = new IsolateCache<ServedPrompt | null>({
      maxEntries: 10,
      maxBytes: 1_000_000,
      staleWhileRevalidateMs: 10_000,
      staleIfErrorMs: 60_000,
      sizeOf: () => 1,
      now,
    });
    const store = { kv: probe.kv, ttlMs: 5_000, waitUntil: () => {}, prompts };
    await resolveLabel(store, project, seeded.name, "production");

    probe.failing = true;
    time.now += 20_000;
    const resolved = await resolveLabel(store, project, seeded.name, "production");

    expect(resolved.layer).toBe("stale");
    expect(resolved.value?.first?.published.prompt).toBe("last known good");
    const headers = new Headers();
    setCacheHeaders(headers, resolved.layer, 0);
    expect(headers.get("cuecard-cache")).toBe("stale");
    expect(headers.get("server-timing")).toContain('desc="stale"');
  });

  it("answers 503 problem+json when KV fails and nothing is cached", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["x"] });
    const probe = probeKv(env.PROMPTS_KV);
    probe.failing = true;

    const response = await get(`/v1/prompts/${seeded.name}`, key, probe.kv, "0");

    expect(response.status).toBe(503);
    const body = await response.text();
    expect(body).toContain('"code":"unavailable"');
    expect(body).not.toContain("KV GET failed");
  });

  it("serves the old version once after the TTL while fetching the moved label in the background", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({
      project,
      templates: ["one", "two"],
      labels: { production: 1 },
    });
    const path = `/v1/prompts/${seeded.name}`;
    expect(await (await get(path, key, env.PROMPTS_KV, "30")).json()).toMatchObject({ version: 1 });

    await putPointer(env.PROMPTS_KV, project, seeded.name, "production", seeded.versions[1]!);
    await new Promise((resolve) => setTimeout(resolve, 50));

    const revalidating = await get(path, key, env.PROMPTS_KV, "30");
    expect(revalidating.headers.get("server-timing")).toContain('desc="revalidating"');
    expect(await revalidating.json()).toMatchObject({ version: 1 });
    const refreshed = await get(path, key, env.PROMPTS_KV, "30");
    expect(refreshed.headers.get("cuecard-cache")).toBe("hit");
    expect(await refreshed.json()).toMatchObject({ version: 2 });
  });
});
