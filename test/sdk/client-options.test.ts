/**
 * What users coming from Langfuse's SDKs expect of getPrompt, with the edge replaced by a
 * scripted fetch and time by a hand-moved clock: a fallback for a missing prompt or a refused key
 * (only when asked for), a lenient compile beside the strict one, labels and tags on the prompt,
 * and a TTL per call. Also the cache the fast hit path relies on: shared immutable prompts and
 * least-recently-used eviction.
 */
import { describe, expect, it } from "vitest";
import {
  CuecardClient,
  type CuecardClientOptions,
  CuecardRequestError,
  PromptNotFoundError,
  RenderError,
  type ResolvedPrompt,
} from "../../sdk/src/index";

function resolved(version: number, overrides: Partial<ResolvedPrompt> = {}): ResolvedPrompt {
  return {
    name: "support/reply",
    type: "text",
    version,
    label: "production",
    prompt: `v${version}: Hello {{customer}} about {{topic}}`,
    config: {},
    variables: [
      { name: "customer", type: "any", required: true },
      { name: "topic", type: "any", required: true },
    ],
    hash: `sha256:v${version}`,
    ...overrides,
  };
}

const ok = (body: ResolvedPrompt) =>
  new Response(JSON.stringify(body), {
    headers: { "content-type": "application/json", etag: `"${body.hash}"` },
  });
const problem = (status: number) =>
  new Response(JSON.stringify({ status, code: "x", detail: `status ${status}` }), {
    status,
    headers: { "content-type": "application/problem+json" },
  });

/** A fake edge answering from a script (the last reply repeats), counting its requests. */
function clientWith(replies: Response[], options: Partial<CuecardClientOptions> = {}) {
  const clock = { now: 1_000_000 };
  const urls: string[] = [];
  const client = new CuecardClient({
    edgeUrl: "https://edge.test",
    apiKey: "cc_reader_test",
    ttlMs: 60_000,
    staleWhileRevalidateMs: 300_000,
    retries: 0,
    fetch: async (url) => {
      urls.push(url);
      const next = replies.length > 1 ? replies.shift() : replies[0];
      if (!next) throw new Error("no reply scripted");
      return next.clone();
    },
    now: () => clock.now,
    ...options,
  });
  return { client, clock, urls };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("fallback on a missing prompt or a refused key (opt-in)", () => {
  it("serves the fallback for a 404 only with fallbackOn: ['missing']", async () => {
    const plain = clientWith([problem(404)]);
    await expect(
      plain.client.getPrompt("support/typo", { fallback: "Hi {{customer}}" }),
    ).rejects.toBeInstanceOf(PromptNotFoundError);

    const optedIn = clientWith([problem(404)], { fallbackOn: ["missing"] });
    const prompt = await optedIn.client.getPrompt("support/typo", { fallback: "Hi {{customer}}" });
    expect(prompt).toMatchObject({ source: "fallback", version: 0, labels: ["production"] });
    expect(prompt.compile({ customer: "Ada" })).toBe("Hi Ada");
  });

  it("serves the fallback for 401 and 403 only with fallbackOn: ['refused']", async () => {
    for (const status of [401, 403]) {
      const missingOnly = clientWith([problem(status)], { fallbackOn: ["missing"] });
      const error = await missingOnly.client
        .getPrompt("support/reply", { fallback: "Hi" })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CuecardRequestError);
      expect((error as CuecardRequestError).status).toBe(status);

      const refused = clientWith([problem(status)], { fallbackOn: ["refused"] });
      expect(await refused.client.getPrompt("support/reply", { fallback: "Hi" })).toMatchObject({
        source: "fallback",
        prompt: "Hi",
      });
    }
  });

  it("lets a call's fallbackOn override the client's, and still throws without a fallback", async () => {
    const { client } = clientWith([problem(404)], { fallbackOn: ["missing"] });
    await expect(
      client.getPrompt("support/typo", { fallback: "x", fallbackOn: [] }),
    ).rejects.toBeInstanceOf(PromptNotFoundError);
    await expect(client.getPrompt("support/typo")).rejects.toBeInstanceOf(PromptNotFoundError);

    const perCall = clientWith([problem(404)]);
    expect(
      await perCall.client.getPrompt("support/typo", { fallback: "x", fallbackOn: ["missing"] }),
    ).toMatchObject({ source: "fallback" });
  });

  it("uses the client-wide fallbacks map for opted-in request errors too", async () => {
    const { client } = clientWith([problem(404)], {
      fallbackOn: ["missing"],
      fallbacks: { "support/typo": "From the map" },
    });
    expect((await client.getPrompt("support/typo")).prompt).toBe("From the map");
  });

  it("does not fall back on other request errors (a 400 is the caller's bug)", async () => {
    const { client } = clientWith([problem(400)], { fallbackOn: ["missing", "refused"] });
    const error = await client
      .getPrompt("support/reply", { fallback: "x" })
      .catch((caught: unknown) => caught);
    expect((error as CuecardRequestError).status).toBe(400);
  });
});

describe("compile: strict by default, lenient on request", () => {
  it("refuses missing and unknown variables by default", async () => {
    const { client } = clientWith([ok(resolved(1))]);
    const prompt = await client.getPrompt("support/reply");
    const error = (() => {
      try {
        prompt.compile({ customer: "Ada", extra: 1 });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(RenderError);
    expect((error as RenderError).problems).toEqual({ missing: ["topic"], unknown: ["extra"] });
  });

  it("with strict: false fills missing variables with '' or the placeholder and ignores extras", async () => {
    const { client } = clientWith([ok(resolved(1))]);
    const prompt = await client.getPrompt("support/reply");
    expect(prompt.compile({ customer: "Ada", extra: 1 }, { strict: false })).toBe(
      "v1: Hello Ada about ",
    );
    expect(prompt.compile({}, { strict: false, placeholder: "[?]" })).toBe(
      "v1: Hello [?] about [?]",
    );
  });

  it("keeps declared defaults and renders chat messages leniently too", async () => {
    const chat = resolved(2, {
      type: "chat",
      prompt: [
        { role: "system", content: "Tone: {{tone}}." },
        { role: "user", content: "{{ticket}}" },
      ],
      variables: [
        { name: "ticket", type: "string", required: true },
        { name: "tone", type: "string", required: false, default: "friendly" },
      ],
    });
    const { client } = clientWith([ok(chat)]);
    const prompt = await client.getPrompt("support/reply", { type: "chat" });
    expect(prompt.compile({ unrelated: true }, { strict: false, placeholder: "-" })).toEqual([
      { role: "system", content: "Tone: friendly." },
      { role: "user", content: "-" },
    ]);
  });

  it("takes the client's compile default, which a call can override", async () => {
    const { client } = clientWith([ok(resolved(1))], { compile: { strict: false } });
    const prompt = await client.getPrompt("support/reply");
    expect(prompt.compile({ customer: "Ada" })).toBe("v1: Hello Ada about ");
    expect(() => prompt.compile({ customer: "Ada" }, { strict: true })).toThrow(RenderError);
    // Cache hits carry the same default.
    expect((await client.getPrompt("support/reply")).compile({})).toBe("v1: Hello  about ");
  });
});

describe("labels and tags on the prompt", () => {
  it("names the label a prompt was resolved through; none for a pinned version; no tags yet", async () => {
    const { client } = clientWith([
      ok(resolved(1, { label: "staging" })),
      ok(resolved(4, { label: null })),
    ]);
    const labelled = await client.getPrompt("support/reply", { label: "staging" });
    expect(labelled.labels).toEqual(["staging"]);
    expect(labelled.tags).toEqual([]);
    const pinned = await client.getPrompt("support/reply", { version: 4 });
    expect(pinned.labels).toEqual([]);
    expect(pinned.tags).toEqual([]);
  });

  it("passes on labels and tags when the edge sends them", async () => {
    const { client } = clientWith([
      ok(resolved(1, { labels: ["production", "latest"], tags: ["support"] })),
    ]);
    const prompt = await client.getPrompt("support/reply");
    expect(prompt).toMatchObject({ labels: ["production", "latest"], tags: ["support"] });
  });
});

describe("cacheTtlSeconds: a TTL per call", () => {
  it("serves a copy older than the call's TTL stale and refreshes it; other calls keep the client's TTL", async () => {
    const { client, clock, urls } = clientWith([ok(resolved(1)), ok(resolved(2))]);
    await client.getPrompt("support/reply");
    clock.now += 6_000;
    // The client's 60 s TTL: still fresh, no request.
    expect(await client.getPrompt("support/reply")).toMatchObject({ version: 1, source: "cache" });
    expect(urls).toHaveLength(1);
    // This call accepts 5 s: stale, served at once, refreshed behind it.
    expect(await client.getPrompt("support/reply", { cacheTtlSeconds: 5 })).toMatchObject({
      version: 1,
      source: "stale",
    });
    await settle();
    expect(urls).toHaveLength(2);
    expect(await client.getPrompt("support/reply", { cacheTtlSeconds: 5 })).toMatchObject({
      version: 2,
      source: "cache",
    });
  });

  it("waits for the edge once the copy is older than the call's TTL + stale-while-revalidate", async () => {
    const { client, clock } = clientWith([ok(resolved(1)), ok(resolved(2))], {
      staleWhileRevalidateMs: 1_000,
    });
    await client.getPrompt("support/reply");
    clock.now += 11_001;
    expect(await client.getPrompt("support/reply", { cacheTtlSeconds: 10 })).toMatchObject({
      version: 2,
      source: "edge",
    });
  });

  it("keeps a longer TTL than the client's for that call", async () => {
    const { client, clock, urls } = clientWith([ok(resolved(1))]);
    await client.getPrompt("support/reply");
    clock.now += 90_000;
    expect(await client.getPrompt("support/reply", { cacheTtlSeconds: 120 })).toMatchObject({
      source: "cache",
    });
    expect(urls).toHaveLength(1);
  });

  it("asks the edge on every call with 0, and keeps the answer for others", async () => {
    const { client, urls } = clientWith([ok(resolved(1)), ok(resolved(2))]);
    await client.getPrompt("support/reply");
    expect(await client.getPrompt("support/reply", { cacheTtlSeconds: 0 })).toMatchObject({
      version: 2,
      source: "edge",
    });
    expect(urls).toHaveLength(2);
    expect(await client.getPrompt("support/reply")).toMatchObject({ version: 2, source: "cache" });
  });

  it("never expires a pinned version, and refuses a TTL that is not a number of seconds", async () => {
    const { client, clock, urls } = clientWith([ok(resolved(3, { label: null }))]);
    await client.getPrompt("support/reply", { version: 3 });
    clock.now += 3_600_000;
    expect(
      await client.getPrompt("support/reply", { version: 3, cacheTtlSeconds: 1 }),
    ).toMatchObject({ source: "cache" });
    expect(urls).toHaveLength(1);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, "5" as unknown as number]) {
      await expect(
        client.getPrompt("support/reply", { cacheTtlSeconds: bad }),
      ).rejects.toBeInstanceOf(TypeError);
    }
  });
});

describe("the cache behind the hit path", () => {
  it("hands every hit the same immutable prompt", async () => {
    const { client } = clientWith([ok(resolved(1))]);
    await client.getPrompt("support/reply");
    const a = await client.getPrompt("support/reply");
    const b = await client.getPrompt("support/reply");
    expect(a).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
    expect(() => {
      (a as { version: number }).version = 9;
    }).toThrow(TypeError);
  });

  it("evicts the least recently used prompt when full", async () => {
    const { client, urls } = clientWith(
      [
        ok(resolved(1, { name: "a" })),
        ok(resolved(1, { name: "b" })),
        ok(resolved(1, { name: "c" })),
        ok(resolved(2, { name: "b" })),
      ],
      { maxEntries: 2 },
    );
    await client.getPrompt("a");
    await client.getPrompt("b");
    await client.getPrompt("a"); // a is now the most recently used
    await client.getPrompt("c"); // evicts b
    expect(urls).toHaveLength(3);
    expect(await client.getPrompt("a")).toMatchObject({ source: "cache" });
    expect(await client.getPrompt("c")).toMatchObject({ source: "cache" });
    expect(await client.getPrompt("b")).toMatchObject({ source: "edge", version: 2 });
    expect(urls).toHaveLength(4);
  });

  it("still refuses a wrong type or a bad unit on a cache hit", async () => {
    const { client } = clientWith([ok(resolved(1))]);
    await client.getPrompt("support/reply");
    await expect(client.getPrompt("support/reply", { type: "chat" })).rejects.toThrow(
      /text prompt, not chat/,
    );
    await expect(client.getPrompt("support/reply", { unit: "u".repeat(257) })).rejects.toThrow(
      TypeError,
    );
    expect(await client.getPrompt("support/reply", { unit: "user-1" })).toMatchObject({
      source: "cache",
    });
  });
});
