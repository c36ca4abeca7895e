/**
 * The SDK client's promises to an app, with the edge replaced by a scripted fetch and time by a
 * hand-moved clock: cached answers cost no request, stale ones are refreshed behind the caller's
 * back, failures are retried, and an unreachable edge never fails a request that has a copy or
 * a fallback to serve.
 */
import { describe, expect, it } from "vitest";
import {
  CuecardClient,
  type CuecardClientOptions,
  CuecardUnavailableError,
  PromptNotFoundError,
  PromptTypeError,
  RenderError,
  type ResolvedPrompt,
} from "../../sdk/src/index";

function resolved(version: number, overrides: Partial<ResolvedPrompt> = {}): ResolvedPrompt {
  return {
    name: "support/reply",
    type: "text",
    version,
    label: "production",
    prompt: `v${version}: Hello {{customer}}`,
    config: { model: "gpt-4o-mini" },
    variables: [{ name: "customer", type: "any", required: true }],
    hash: `sha256:v${version}`,
    ...overrides,
  };
}

type Reply = Response | Error | (() => Promise<Response>);

/** A fake edge: answers from a script and records every request it got. */
function fakeEdge(...script: Reply[]) {
  const requests: { url: string; headers: Headers }[] = [];
  const fetch = async (url: string, init?: RequestInit) => {
    requests.push({ url, headers: new Headers(init?.headers) });
    const next = script.length > 1 ? script.shift() : script[0];
    if (next === undefined) throw new Error("the fake edge has no reply scripted");
    if (next instanceof Error) throw next;
    if (typeof next === "function") return next();
    return next.clone();
  };
  return { fetch, requests };
}

const ok = (body: ResolvedPrompt) =>
  new Response(JSON.stringify(body), {
    headers: { "content-type": "application/json", etag: `"${body.hash}"` },
  });
const status = (code: number, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ status: code, code: "x", detail: `status ${code}` }), {
    status: code,
    headers: { "content-type": "application/problem+json", ...headers },
  });

function clientWith(
  edge: ReturnType<typeof fakeEdge>,
  options: Partial<CuecardClientOptions> = {},
) {
  const clock = { now: 1_000_000 };
  const sleeps: number[] = [];
  const client = new CuecardClient({
    edgeUrl: "https://edge.test/",
    apiKey: "cc_reader_test",
    ttlMs: 60_000,
    staleWhileRevalidateMs: 300_000,
    fetch: edge.fetch,
    now: () => clock.now,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...options,
  });
  return { client, clock, sleeps };
}

const networkDown = () => new TypeError("fetch failed: connect ECONNREFUSED");

describe("getPrompt caching", () => {
  it("serves a repeated read from memory until the TTL passes", async () => {
    const edge = fakeEdge(ok(resolved(1)));
    const { client, clock } = clientWith(edge);

    const first = await client.getPrompt("support/reply");
    clock.now += 59_000;
    const second = await client.getPrompt("support/reply");

    expect(first).toMatchObject({ version: 1, source: "edge" });
    expect(second).toMatchObject({ version: 1, source: "cache" });
    expect(edge.requests).toHaveLength(1);
    expect(edge.requests[0]?.url).toBe(
      "https://edge.test/v1/prompts/support%2Freply?label=production&definition=1",
    );
    expect(edge.requests[0]?.headers.get("authorization")).toBe("Bearer cc_reader_test");
  });

  it("serves the stale copy after the TTL and refreshes it once in the background", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const edge = fakeEdge(ok(resolved(1)), async () => {
      await gate;
      return ok(resolved(2));
    });
    const { client, clock } = clientWith(edge);
    await client.getPrompt("support/reply");

    clock.now += 61_000;
    const [a, b] = await Promise.all([
      client.getPrompt("support/reply"),
      client.getPrompt("support/reply"),
    ]);
    // Both callers got an answer at once, without waiting for the edge.
    expect([a.version, a.source, b.version, b.source]).toEqual([1, "stale", 1, "stale"]);
    expect(edge.requests).toHaveLength(2);
    expect(edge.requests[1]?.headers.get("if-none-match")).toBe('"sha256:v1"');

    release();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(await client.getPrompt("support/reply")).toMatchObject({ version: 2, source: "cache" });
  });

  it("waits for the edge once the copy is older than TTL + stale-while-revalidate", async () => {
    const edge = fakeEdge(ok(resolved(1)), ok(resolved(3)));
    const { client, clock } = clientWith(edge);
    await client.getPrompt("support/reply");

    clock.now += 60_000 + 300_000;
    expect(await client.getPrompt("support/reply")).toMatchObject({ version: 3, source: "edge" });
  });

  it("keeps the cached copy when the edge answers 304 Not Modified", async () => {
    const edge = fakeEdge(ok(resolved(1)), new Response(null, { status: 304 }));
    const { client, clock } = clientWith(edge);
    await client.getPrompt("support/reply");

    clock.now += 400_000;
    const revalidated = await client.getPrompt("support/reply");
    expect(revalidated).toMatchObject({ version: 1, source: "edge" });
    // Fresh again: the next read is a memory hit.
    expect(await client.getPrompt("support/reply")).toMatchObject({ source: "cache" });
    expect(edge.requests).toHaveLength(2);
  });

  it("shares one request among concurrent first reads of a prompt", async () => {
    const edge = fakeEdge(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return ok(resolved(1));
    });
    const { client } = clientWith(edge);
    const prompts = await Promise.all(
      Array.from({ length: 10 }, () => client.getPrompt("support/reply")),
    );
    expect(prompts.every((prompt) => prompt.version === 1)).toBe(true);
    expect(edge.requests).toHaveLength(1);
  });

  it("caches pinned versions for good: they never change", async () => {
    const edge = fakeEdge(ok(resolved(2, { label: null })));
    const { client, clock } = clientWith(edge);
    await client.getPrompt("support/reply", { version: 2 });
    clock.now += 24 * 3_600_000;
    expect(await client.getPrompt("support/reply", { version: 2 })).toMatchObject({
      version: 2,
      source: "cache",
    });
    expect(edge.requests.map((request) => request.url)).toEqual([
      "https://edge.test/v1/prompts/support%2Freply?version=2",
    ]);
  });
});

describe("getPrompt when the edge fails", () => {
  it("returns the caller's fallback when nothing is cached and the edge is unreachable", async () => {
    const edge = fakeEdge(networkDown());
    const { client } = clientWith(edge);
    const prompt = await client.getPrompt("support/reply", {
      fallback: "Hello {{customer}}, we will get back to you.",
    });
    expect(prompt).toMatchObject({ source: "fallback", version: 0, type: "text" });
    expect(prompt.compile({ customer: "Ada" })).toBe("Hello Ada, we will get back to you.");
    // The fallback refuses what the real prompt would: it was derived the same way.
    expect(() => prompt.compile({})).toThrow(RenderError);
    expect(edge.requests).toHaveLength(3);
  });

  it("uses the client-wide fallback for a prompt, and the caller's over it", async () => {
    const edge = fakeEdge(networkDown());
    const { client } = clientWith(edge, {
      retries: 0,
      fallbacks: { "support/reply": [{ role: "system", content: "Be brief." }] },
    });
    const chat = await client.getPrompt("support/reply", { type: "chat" });
    expect(chat.compile()).toEqual([{ role: "system", content: "Be brief." }]);
    const own = await client.getPrompt("support/reply", { fallback: "Own {{x}}" });
    expect(own.prompt).toBe("Own {{x}}");
  });

  it("serves the last copy it had when the edge goes down (stale-if-error)", async () => {
    const edge = fakeEdge(ok(resolved(1)), networkDown());
    const { client, clock } = clientWith(edge);
    await client.getPrompt("support/reply");
    clock.now += 3_600_000;
    expect(await client.getPrompt("support/reply", { fallback: "unused" })).toMatchObject({
      version: 1,
      source: "stale",
    });
  });

  it("throws CuecardUnavailableError when there is neither a copy nor a fallback", async () => {
    const { client } = clientWith(fakeEdge(networkDown()));
    await expect(client.getPrompt("support/reply")).rejects.toBeInstanceOf(CuecardUnavailableError);
  });

  it("retries 5xx with growing jittered backoff, then succeeds", async () => {
    const edge = fakeEdge(status(503), status(502), ok(resolved(1)));
    const { client, sleeps } = clientWith(edge, { retries: 3, baseDelayMs: 100 });
    expect(await client.getPrompt("support/reply")).toMatchObject({ version: 1 });
    expect(edge.requests).toHaveLength(3);
    // random() = 0.5 of a ceiling that doubles: 100 → 200.
    expect(sleeps).toEqual([50, 100]);
  });

  it("waits as long as a 429's Retry-After asks, within maxDelayMs", async () => {
    const edge = fakeEdge(status(429, { "retry-after": "1" }), ok(resolved(1)));
    const { client, sleeps } = clientWith(edge, { maxDelayMs: 2_000 });
    await client.getPrompt("support/reply");
    expect(sleeps).toEqual([1_000]);
  });

  it("does not wait for a Retry-After longer than maxDelayMs: it serves the fallback", async () => {
    const edge = fakeEdge(status(429, { "retry-after": "120" }));
    const { client, sleeps } = clientWith(edge, { maxDelayMs: 2_000 });
    const prompt = await client.getPrompt("support/reply", { fallback: "fallback" });
    expect(prompt.source).toBe("fallback");
    expect(sleeps).toEqual([]);
    expect(edge.requests).toHaveLength(1);
  });

  it("gives up on an attempt after timeoutMs and retries it", async () => {
    const hang = (init?: RequestInit) =>
      new Promise<Response>((_, reject) => {
        init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
      });
    let attempts = 0;
    const { client } = clientWith(fakeEdge(new Error("unused")), {
      timeoutMs: 20,
      retries: 1,
      fetch: (_url, init) => {
        attempts++;
        return hang(init);
      },
    });
    const started = Date.now();
    const error = await client.getPrompt("support/reply").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CuecardUnavailableError);
    expect((error as Error).message).toContain("did not answer within 20 ms");
    expect(attempts).toBe(2);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("does not retry or fall back on a 404: a missing prompt is a bug to fix", async () => {
    const edge = fakeEdge(status(404));
    const { client } = clientWith(edge);
    await expect(
      client.getPrompt("support/typo", { fallback: "would hide the typo" }),
    ).rejects.toBeInstanceOf(PromptNotFoundError);
    expect(edge.requests).toHaveLength(1);
  });

  it("stops serving a cached label the edge says is gone", async () => {
    const edge = fakeEdge(ok(resolved(1)), status(404));
    const { client, clock } = clientWith(edge);
    await client.getPrompt("support/reply");
    clock.now += 400_000;
    await expect(client.getPrompt("support/reply")).rejects.toBeInstanceOf(PromptNotFoundError);
  });
});

describe("prompts as values", () => {
  it("narrows to the type asked for, and refuses the other", async () => {
    const chat = resolved(1, {
      type: "chat",
      prompt: [
        { role: "system", content: "You help {{company}}." },
        { role: "user", content: "{{ticket}}" },
      ],
      variables: [
        { name: "company", type: "any", required: true },
        { name: "ticket", type: "any", required: true },
      ],
    });
    const { client } = clientWith(fakeEdge(ok(chat)));
    const prompt = await client.getPrompt("support/reply", { type: "chat" });
    const messages = prompt.compile({ company: "Acme", ticket: "Refund?" });
    expect(messages).toEqual([
      { role: "system", content: "You help Acme." },
      { role: "user", content: "Refund?" },
    ]);
    await expect(client.getPrompt("support/reply", { type: "text" })).rejects.toBeInstanceOf(
      PromptTypeError,
    );
  });
});

describe("prefetch", () => {
  it("loads many prompts in one request and serves them from memory afterwards", async () => {
    const edge = fakeEdge(
      new Response(
        JSON.stringify({
          label: "production",
          prompts: [resolved(1), resolved(4, { name: "marketing/tagline" })],
          missing: ["nope"],
        }),
        { headers: { "content-type": "application/json" } },
      ),
    );
    const { client } = clientWith(edge);
    const result = await client.prefetch(["support/reply", "marketing/tagline", "nope"]);
    expect(result.prompts.map((prompt) => prompt.name)).toEqual([
      "support/reply",
      "marketing/tagline",
    ]);
    expect(result.missing).toEqual(["nope"]);
    expect(edge.requests[0]?.url).toBe(
      "https://edge.test/v1/prompts?names=support%2Freply,marketing%2Ftagline,nope&label=production",
    );
    expect(await client.getPrompt("marketing/tagline")).toMatchObject({
      version: 4,
      source: "cache",
    });
    expect(edge.requests).toHaveLength(1);
  });
});
