/**
 * The telemetry sink never hurts the app: memory stays bounded (oldest dropped, counted) while
 * ingest is down, events go in batches of at most 100 with the key, failures are retried and
 * refusals are not, and an observed call does not wait for ingest.
 */
import type { GenerationEvent, TelemetryEvent } from "@cuecard/core/telemetry";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ModelStub, startModelStub } from "../../scripts/model-stub";
import { linkPrompt, observeOpenAI, Telemetry } from "../../sdk/src/observe/index";
import { eventId, isoTime } from "../../sdk/src/observe/telemetry";
import { startIngest, unreachableUrl } from "./observe-helpers";

const conversion = (n: number): TelemetryEvent => ({
  type: "conversion",
  id: `evt-${n}`,
  timestamp: new Date().toISOString(),
  name: "purchase",
  unit: "u1",
});

describe("event ids and times", () => {
  it("ids are UUIDs (v4 form), all distinct", () => {
    const ids = Array.from({ length: 20_000 }, () => eventId());
    expect(new Set(ids).size).toBe(ids.length);
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    expect(ids.filter((id) => !uuid.test(id))).toEqual([]);
  });

  it("are ISO 8601 exactly as Date.prototype.toISOString writes them, across second, day and year boundaries", () => {
    const starts = [
      Date.UTC(2026, 11, 31, 23, 59, 59, 990), // a new year
      Date.UTC(2028, 1, 28, 23, 59, 59, 995), // a leap day
      Date.UTC(10_000, 0, 1) - 5, // a six-digit year follows
      -1_005, // before 1970
    ];
    for (const start of starts) {
      // Ascending, as calls come, then a jump back (a clock set back).
      for (let ms = start; ms < start + 1_020; ms += 3) {
        expect(isoTime(ms)).toBe(new Date(ms).toISOString());
      }
      expect(isoTime(start - 86_400_000)).toBe(new Date(start - 86_400_000).toISOString());
    }
    expect(isoTime(1_700_000_000_000.5)).toBe(new Date(1_700_000_000_000.5).toISOString());
  });
});

describe("the telemetry sink", () => {
  it("sends in batches of at most 100, to POST /v1/events with the key", async () => {
    const ingest = await startIngest();
    const telemetry = new Telemetry({
      baseUrl: `${ingest.url}/`,
      apiKey: "cc_reader_k",
      flushIntervalMs: 0,
    });
    for (let n = 0; n < 250; n++) telemetry.record(conversion(n));
    expect(telemetry.stats().buffered).toBe(250);
    await telemetry.flush();
    expect(ingest.requests.map((request) => request.batch.events.length)).toEqual([100, 100, 50]);
    expect(ingest.requests.every((request) => request.path === "/v1/events")).toBe(true);
    expect(ingest.requests.every((request) => request.authorization === "Bearer cc_reader_k")).toBe(
      true,
    );
    expect(ingest.events().map((event) => event.id)).toEqual(
      Array.from({ length: 250 }, (_, n) => `evt-${n}`),
    );
    expect(telemetry.stats()).toEqual({
      buffered: 0,
      sent: 250,
      rejected: 0,
      dropped: 0,
      failedFlushes: 0,
    });
    await ingest.close();
  });

  it("while ingest is unreachable the buffer stays bounded, dropping the oldest and counting them", async () => {
    const errors: unknown[] = [];
    const telemetry = new Telemetry({
      baseUrl: await unreachableUrl(),
      apiKey: "k",
      maxBuffered: 10,
      flushIntervalMs: 0,
      onError: (error) => errors.push(error),
    });
    for (let n = 0; n < 25; n++) telemetry.record(conversion(n));
    await telemetry.flush();
    expect(telemetry.stats()).toMatchObject({
      buffered: 10,
      dropped: 15,
      sent: 0,
      failedFlushes: 1,
    });
    expect(errors).toHaveLength(1);
  });

  it("keeps a failed batch for the next flush (5xx, 429), still bounded, newest kept", async () => {
    const ingest = await startIngest(503);
    const telemetry = new Telemetry({
      baseUrl: ingest.url,
      apiKey: "k",
      maxBuffered: 10,
      flushIntervalMs: 0,
    });
    for (let n = 0; n < 8; n++) telemetry.record(conversion(n));
    await telemetry.flush();
    ingest.mode = 429;
    for (let n = 8; n < 14; n++) telemetry.record(conversion(n));
    await telemetry.flush();
    expect(telemetry.stats()).toMatchObject({ buffered: 10, dropped: 4, failedFlushes: 2 });

    ingest.mode = "ok";
    ingest.requests.length = 0;
    await telemetry.flush();
    expect(ingest.events().map((event) => event.id)).toEqual(
      Array.from({ length: 10 }, (_, n) => `evt-${n + 4}`),
    );
    expect(telemetry.stats()).toMatchObject({ buffered: 0, sent: 10, dropped: 4 });
    await ingest.close();
  });

  it("counts a 207's rejected events and does not send them again; drops a batch ingest refuses", async () => {
    const ingest = await startIngest((batch) => [
      207,
      {
        accepted: batch.events.length - 1,
        rejected: 1,
        results: batch.events.map((event, index) =>
          index === 0
            ? {
                id: event.id,
                index,
                status: "rejected",
                errors: [{ path: "unit", message: "too long" }],
              }
            : { id: event.id, index, status: "accepted" },
        ),
      },
    ]);
    const telemetry = new Telemetry({ baseUrl: ingest.url, apiKey: "k", flushIntervalMs: 0 });
    for (let n = 0; n < 3; n++) telemetry.record(conversion(n));
    await telemetry.flush();
    await telemetry.flush();
    expect(ingest.requests).toHaveLength(1);
    expect(telemetry.stats()).toMatchObject({ buffered: 0, sent: 2, rejected: 1 });

    ingest.mode = 401;
    telemetry.record(conversion(3));
    await telemetry.flush();
    await telemetry.flush();
    expect(ingest.requests).toHaveLength(2);
    expect(telemetry.stats()).toMatchObject({ buffered: 0, dropped: 1, failedFlushes: 1 });
    await ingest.close();
  });

  it("flushes in the background on its interval, and shutdown() sends the rest", async () => {
    const ingest = await startIngest();
    const telemetry = new Telemetry({ baseUrl: ingest.url, apiKey: "k", flushIntervalMs: 30 });
    telemetry.record(conversion(1));
    await expect.poll(() => ingest.events().length, { timeout: 2_000 }).toBe(1);
    telemetry.record(conversion(2));
    await telemetry.shutdown();
    expect(ingest.events().map((event) => event.id)).toEqual(["evt-1", "evt-2"]);
    telemetry.record(conversion(3));
    expect(telemetry.stats()).toMatchObject({ buffered: 0, sent: 2, dropped: 1 });
    await ingest.close();
  });

  it("recordGeneration fills in id, time and cost, and reads the prompt's experiment", async () => {
    const ingest = await startIngest();
    const telemetry = new Telemetry({
      baseUrl: ingest.url,
      apiKey: "k",
      flushIntervalMs: 0,
      prices: { "house-llm": { input: 4, output: 8 } },
    });
    const prompt = {
      name: "support/reply",
      version: 3,
      label: "production",
      type: "text",
      hash: "h",
      experiment: { id: "exp_1", key: "tone", variant: "b" },
    };
    const claude = telemetry.recordGeneration({
      prompt,
      provider: "anthropic",
      model: "claude-sonnet-4-20250514",
      latencyMs: 812,
      inputTokens: 1000,
      outputTokens: 200,
      finishReason: "end_turn",
    });
    telemetry.recordGeneration({
      model: "house-llm",
      latencyMs: 20,
      inputTokens: 1_000_000,
      outputTokens: 0,
      error: { type: "Timeout", message: "x".repeat(5000) },
    });
    await telemetry.flush();
    const [first, second] = ingest.events() as GenerationEvent[];
    expect(first).toEqual({ ...claude, id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(first).toMatchObject({
      type: "generation",
      prompt: { name: "support/reply", version: 3, label: "production" },
      experiment: { id: "exp_1", key: "tone", variant: "b" },
    });
    // claude-sonnet-4 lists at $3 / $15 per million tokens (priced by its family's prefix).
    expect(first!.costUsd).toBeCloseTo((1000 * 3 + 200 * 15) / 1_000_000, 12);
    expect(second!.costUsd).toBe(4);
    // Cut to ingest's field limit (ERROR_MESSAGE_MAX) rather than having the event rejected.
    expect(second!.error!.message).toHaveLength(1000);
    await ingest.close();
  });

  it("scores attach to a recordGeneration event; conversions count for a unit", async () => {
    const ingest = await startIngest();
    const telemetry = new Telemetry({ baseUrl: ingest.url, apiKey: "k", flushIntervalMs: 0 });
    const generation = telemetry.recordGeneration({ model: "claude-haiku-4", latencyMs: 300 })!;
    telemetry.score(generation, "grader", 0.75, { comment: "x".repeat(3000), id: "score-1" });
    const conversion = telemetry.conversion("user-9", "purchase", 19.99);
    telemetry.conversion("user-9", "signup");
    await telemetry.flush();
    const [, score, purchase, signup] = ingest.events();
    expect(score).toMatchObject({
      type: "score",
      id: "score-1",
      name: "grader",
      value: 0.75,
      generationId: generation.id,
    });
    // Cut to ingest's field limit (SCORE_COMMENT_MAX) rather than having the score rejected.
    expect((score as { comment: string }).comment).toHaveLength(2000);
    expect(purchase).toEqual({
      type: "conversion",
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      timestamp: expect.any(String),
      name: "purchase",
      unit: "user-9",
      value: 19.99,
    });
    expect(purchase).toEqual(conversion);
    expect(signup).toMatchObject({ type: "conversion", name: "signup", value: null });
    expect(Math.abs(Date.parse(purchase!.timestamp) - Date.now())).toBeLessThan(60_000);
    await ingest.close();
  });

  it("a score without a generation id, or with a value JSON cannot carry, is refused to onError", async () => {
    const ingest = await startIngest();
    const errors: unknown[] = [];
    const telemetry = new Telemetry({
      baseUrl: ingest.url,
      apiKey: "k",
      flushIntervalMs: 0,
      onError: (error) => errors.push(error),
    });
    // A link no call was made with has no generation yet.
    expect(telemetry.score(linkPrompt(null), "thumbs", true)).toBeUndefined();
    expect(telemetry.score("gen-1", "rating", Number.NaN)).toBeUndefined();
    expect(telemetry.conversion("user-1", "revenue", Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(errors.map(String)).toEqual([
      expect.stringContaining("no generation id"),
      expect.stringContaining("NaN is not a finite number"),
      expect.stringContaining("Infinity is not a finite number"),
    ]);
    await telemetry.flush();
    expect(ingest.requests).toHaveLength(0);
    await ingest.close();
  });

  it("a throwing onError handler never reaches the app", async () => {
    const telemetry = new Telemetry({
      baseUrl: await unreachableUrl(),
      apiKey: "k",
      flushIntervalMs: 0,
      onError: () => {
        throw new Error("the app's handler is broken");
      },
    });
    telemetry.record(conversion(1));
    await expect(telemetry.flush()).resolves.toBeUndefined();
    expect(telemetry.stats().failedFlushes).toBe(1);
  });
});

it("builds a pending event when sending it; one that fails to build is dropped, not the batch", async () => {
  const ingest = await startIngest();
  const telemetry = new Telemetry({ baseUrl: ingest.url, apiKey: "k", flushIntervalMs: 0 });
  let built = 0;
  telemetry.record(conversion(1));
  telemetry.record({
    event: () => {
      built++;
      return conversion(2);
    },
  });
  telemetry.record({
    event: () => {
      throw new Error("broken");
    },
  });
  expect(built).toBe(0);
  await telemetry.flush();
  expect(built).toBe(1);
  expect(ingest.events().map((event) => event.id)).toEqual(["evt-1", "evt-2"]);
  expect(telemetry.stats()).toMatchObject({ buffered: 0, sent: 2, dropped: 1 });
  await ingest.close();
});

describe("an observed call and a hanging ingest", () => {
  let stub: ModelStub;
  beforeAll(async () => {
    stub = await startModelStub();
  });
  afterAll(() => stub.close());

  it("without OpenTelemetry a call's generation id is a random UUID, and its score carries it", async () => {
    const ingest = await startIngest();
    const telemetry = new Telemetry({ baseUrl: ingest.url, apiKey: "k", flushIntervalMs: 0 });
    const openai = observeOpenAI(new OpenAI({ baseURL: stub.url, apiKey: "sk", maxRetries: 0 }), {
      telemetry,
    });
    const link = linkPrompt({ name: "support/greet", version: 2 }, { unit: "user-3" });
    const body = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "hi" }] };
    await openai.chat.completions.create(body, link);
    telemetry.score(link, "thumbs", false);
    await telemetry.flush();
    const [generation, score] = ingest.events();
    expect(generation).toMatchObject({ type: "generation", traceId: null, spanId: null });
    expect(generation!.id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    expect(score).toMatchObject({ type: "score", generationId: generation!.id, value: false });
    await ingest.close();
  });

  it("resolves without waiting for ingest, which is still hanging", async () => {
    const ingest = await startIngest("hang");
    const telemetry = new Telemetry({
      baseUrl: ingest.url,
      apiKey: "k",
      flushIntervalMs: 1,
      batchSize: 1,
      timeoutMs: 60_000,
    });
    const openai = observeOpenAI(new OpenAI({ baseURL: stub.url, apiKey: "sk", maxRetries: 0 }), {
      telemetry,
    });
    const body = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "hi" }] };
    await openai.chat.completions.create(body);
    // The first event's flush is now stuck at ingest …
    await expect.poll(() => ingest.hanging.length, { timeout: 2_000 }).toBe(1);
    // … and calls still complete at the model's pace, streamed or not.
    const started = performance.now();
    for (let n = 0; n < 5; n++) await openai.chat.completions.create(body);
    const stream = await openai.chat.completions.create({ ...body, stream: true });
    for await (const _chunk of stream) {
      // read it all
    }
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(ingest.hanging).toHaveLength(1);
    expect(telemetry.stats()).toMatchObject({ buffered: 7, sent: 0 });
    await ingest.close();
  });
});
