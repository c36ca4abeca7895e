/**
 * Telemetry end to end, the way an app produces it: prompts fetched from the edge with the real
 * `CuecardClient`, LLM calls made with the real `openai` package (observed by `observeOpenAI`)
 * against the local model stub, events sent by the SDK's `Telemetry` sink and spans by the real
 * OpenTelemetry SDK and OTLP/HTTP exporter, both through the edge to the telemetry worker, its
 * queue consumer rolling them up in D1, and the numbers read back from the admin metrics API.
 *
 * Every expectation is computed from the model stub's documented behaviour (scripts/model-stub.ts):
 * input tokens = words in the messages, output tokens = words in the reply. Each source (events,
 * spans, both) gets a prompt of its own so their numbers are told apart.
 */
import { randomUUID } from "node:crypto";
import {
  DEFAULT_MODEL_PRICES,
  EVENT_BATCH_MAX_BYTES,
  type TelemetryEvent,
} from "@cuecard/core/telemetry";
import { trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ModelStub, startModelStub } from "../../scripts/model-stub";
import { findFreePort, type Platform, startEphemeralPlatform } from "../../scripts/platform";
import { demoProject, seedPlatform } from "../../scripts/seed";
import { CuecardClient } from "../../sdk/src/index";
import {
  linkPrompt,
  observeOpenAI,
  type PendingEvent,
  Telemetry,
  type TelemetryOptions,
} from "../../sdk/src/observe/index";

let platform: Platform;
let stub: ModelStub;
let adminKey: string;
let readKey: string;
let cuecard: CuecardClient;

// "Answer in one word: is the sky blue?" — 8 words in; the stub's default reply
// "Hello from the model stub." — 5 words out.
const TEMPLATE = "Answer in one word: {{question}}";
const QUESTION = "is the sky blue?";
const INPUT_TOKENS = 8;
const OUTPUT_TOKENS = 5;
const MODEL = "gpt-4o-mini";
const price = DEFAULT_MODEL_PRICES[MODEL]!;
const COST_PER_CALL = (INPUT_TOKENS * price.input + OUTPUT_TOKENS * price.output) / 1_000_000;

const PROMPTS = { events: "e2e/events", otel: "e2e/otel", both: "e2e/both" } as const;

async function admin(method: string, path: string, body?: unknown) {
  return fetch(`${platform.adminUrl}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${adminKey}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** A text prompt with two versions; `production` points at version 2. */
async function createPrompt(name: string) {
  const created = await admin("POST", `/projects/${demoProject}/prompts`, {
    name,
    version: { prompt: TEMPLATE, config: { model: MODEL }, commitMessage: "first" },
  });
  expect(created.status).toBe(201);
  const second = await admin(
    "POST",
    `/projects/${demoProject}/prompts/${encodeURIComponent(name)}/versions`,
    { prompt: TEMPLATE, config: { model: MODEL }, commitMessage: "second", labels: ["production"] },
  );
  expect(second.status).toBe(201);
}

interface Point {
  calls: number;
  errors: number;
  errorRate: number | null;
  latencyMs: { p50: number | null; p95: number | null };
  timeToFirstTokenMs: { p50: number | null; p95: number | null };
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  scores: Record<string, { n: number; mean: number; sd: number }>;
}
interface Metrics {
  series: { version: number; points: Point[]; total: Point }[];
}

async function metricsOf(name: string): Promise<Metrics> {
  const response = await admin(
    "GET",
    `/projects/${demoProject}/prompts/${encodeURIComponent(name)}/metrics`,
  );
  expect(response.status).toBe(200);
  return (await response.json()) as Metrics;
}

/** The totals per version once `done` holds: the consumer rolls up in the background. */
async function rolledUp(
  name: string,
  done: (byVersion: Map<number, Point>) => boolean,
): Promise<Map<number, Point>> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const metrics = await metricsOf(name);
    const byVersion = new Map(metrics.series.map((series) => [series.version, series.total]));
    if (done(byVersion)) return byVersion;
    if (Date.now() > deadline) {
      throw new Error(`${name} not rolled up in time: ${JSON.stringify(metrics.series)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

const callsOf = (byVersion: Map<number, Point>, version: number) =>
  byVersion.get(version)?.calls ?? 0;

/** Events go out only when flushed, so the test decides when ingest sees them. */
function telemetrySink(options: Partial<TelemetryOptions> = {}) {
  const generations: string[] = [];
  // The id of every generation the sink buffers, observed or recorded, in order.
  class KeepingIds extends Telemetry {
    override record(event: TelemetryEvent | PendingEvent) {
      // An observed call arrives pending (its event is built when sent); its id is already fixed.
      const built = "type" in event ? event : event.event();
      if (built.type === "generation") generations.push(built.id);
      super.record(event);
    }
  }
  const telemetry = new KeepingIds({
    baseUrl: platform.edgeUrl,
    apiKey: readKey,
    flushIntervalMs: 0,
    ...options,
  });
  return { telemetry, generations };
}

function openaiClient() {
  // maxRetries 0: the stub's 500 is the call's answer, not retried into a success.
  return new OpenAI({ baseURL: stub.url, apiKey: "stub", maxRetries: 0 });
}

/** The app's calls for one prompt: 2 chat calls, 2 streamed (one with a 30 ms first token), 1 500. */
async function makeCalls(openai: OpenAI, name: string) {
  const prompt = await cuecard.getPrompt(name, { type: "text" });
  expect(prompt.version).toBe(2);
  const messages = [{ role: "user" as const, content: prompt.compile({ question: QUESTION }) }];
  const replies: string[] = [];
  for (let i = 0; i < 2; i++) {
    const completion = await openai.chat.completions.create(
      { model: MODEL, messages },
      linkPrompt(prompt),
    );
    replies.push(completion.choices[0]!.message.content ?? "");
  }
  for (const firstTokenMs of ["30", "0"]) {
    const stream = await openai.chat.completions.create(
      { model: MODEL, messages, stream: true },
      { ...linkPrompt(prompt), headers: { "x-stub-first-token-ms": firstTokenMs } },
    );
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    replies.push(text);
  }
  await expect(
    openai.chat.completions.create({ model: "stub-500", messages }, linkPrompt(prompt)),
  ).rejects.toMatchObject({ status: 500 });
  // The app got exactly what the provider answered.
  expect(replies).toEqual(Array(4).fill("Hello from the model stub."));
}

/** What makeCalls produces, in the metrics of version 2. */
function expectCallTotals(total: Point | undefined) {
  expect(total).toMatchObject({
    calls: 5,
    errors: 1,
    errorRate: 0.2,
    inputTokens: 4 * INPUT_TOKENS,
    outputTokens: 4 * OUTPUT_TOKENS,
  });
  // The 500 has no tokens (and `stub-500` no price): four priced calls.
  expect(total!.costUsd).toBeCloseTo(4 * COST_PER_CALL, 12);
  expect(total!.latencyMs.p50).not.toBeNull();
  // Time to first token comes from the two streams; the slower waited 30 ms, so the p95 bucket
  // (the slower of the two) is the one bounded by 40 ms or above.
  expect(total!.timeToFirstTokenMs.p50).not.toBeNull();
  expect(total!.timeToFirstTokenMs.p95).toBeGreaterThanOrEqual(40);
}

beforeAll(async () => {
  stub = await startModelStub();
  platform = await startEphemeralPlatform("e2e-telemetry");
  const seed = await seedPlatform(platform);
  adminKey = seed.adminKey.secret;
  readKey = seed.readKey.secret;
  for (const name of Object.values(PROMPTS)) await createPrompt(name);
  cuecard = new CuecardClient({ edgeUrl: platform.edgeUrl, apiKey: readKey });
});

afterAll(async () => {
  trace.disable();
  await platform?.dispose();
  await stub?.close();
});

describe("telemetry from an app to the metrics API", () => {
  it("observed openai calls sent as events: exact calls, errors, tokens, cost and TTFT per version; scores on generations", async () => {
    const { telemetry, generations } = telemetrySink();
    const openai = observeOpenAI(openaiClient(), { telemetry });
    await makeCalls(openai, PROMPTS.events);
    // One call on the pinned version 1, to see versions kept apart.
    const v1 = await cuecard.getPrompt(PROMPTS.events, { version: 1, type: "text" });
    await openai.chat.completions.create(
      { model: MODEL, messages: [{ role: "user", content: v1.compile({ question: QUESTION }) }] },
      linkPrompt(v1),
    );
    expect(generations).toHaveLength(6);
    // Scores on the first two calls of version 2 (a number and a boolean, which counts as 1).
    for (const [generationId, value] of [
      [generations[0]!, 0.5],
      [generations[1]!, true],
    ] as const) {
      expect(telemetry.score(generationId, "helpfulness", value)).toBeDefined();
    }
    await telemetry.flush();
    expect(telemetry.stats()).toMatchObject({ buffered: 0, sent: 8, rejected: 0, dropped: 0 });

    const byVersion = await rolledUp(
      PROMPTS.events,
      (m) =>
        callsOf(m, 2) >= 5 && callsOf(m, 1) >= 1 && (m.get(2)?.scores.helpfulness?.n ?? 0) >= 2,
    );
    expect([...byVersion.keys()].sort()).toEqual([1, 2]);
    const v2 = byVersion.get(2);
    expectCallTotals(v2);
    expect(v2!.scores).toEqual({
      helpfulness: { n: 2, mean: 0.75, sd: expect.closeTo(Math.SQRT1_2 / 2, 9) },
    });
    expect(byVersion.get(1)).toMatchObject({
      calls: 1,
      errors: 0,
      inputTokens: INPUT_TOKENS,
      outputTokens: OUTPUT_TOKENS,
      // Not streamed: no time to first token.
      timeToFirstTokenMs: { p50: null, p95: null },
      scores: {},
    });
    await telemetry.shutdown();
  });

  it("the same calls as OpenTelemetry spans, exported with the real OTLP/HTTP exporter (JSON) through the edge", async () => {
    const exporter = new OTLPTraceExporter({
      url: `${platform.edgeUrl}/v1/otel/v1/traces`,
      headers: { authorization: `Bearer ${readKey}` },
    });
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    // observeOpenAI traces through the global provider, as an app's instrumentation does.
    expect(trace.setGlobalTracerProvider(provider)).toBe(true);
    try {
      // Spans only: no events sink.
      await makeCalls(observeOpenAI(openaiClient()), PROMPTS.otel);
      await provider.forceFlush();
      const byVersion = await rolledUp(PROMPTS.otel, (m) => callsOf(m, 2) >= 5);
      expect([...byVersion.keys()]).toEqual([2]);
      expectCallTotals(byVersion.get(2));

      // Both at once: events from the sink and the same calls' spans count each call once.
      const { telemetry, generations } = telemetrySink();
      await makeCalls(observeOpenAI(openaiClient(), { telemetry }), PROMPTS.both);
      expect(generations.every((id) => /^[0-9a-f]{32}:[0-9a-f]{16}$/.test(id))).toBe(true);
      await Promise.all([telemetry.flush(), provider.forceFlush()]);
      expect(telemetry.stats()).toMatchObject({ sent: 5, dropped: 0 });
      await rolledUp(PROMPTS.both, (m) => callsOf(m, 2) >= 5);
      // Give a second copy time to be rolled up, were it counted (the consumer waits up to 2 s
      // for a batch).
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      expectCallTotals((await rolledUp(PROMPTS.both, () => true)).get(2));
      await telemetry.shutdown();
    } finally {
      await provider.shutdown();
      trace.disable();
    }
  });

  it("ingest unreachable: the app's calls succeed, the buffer stays bounded, drops are counted", async () => {
    const closedPort = await findFreePort();
    const failures: unknown[] = [];
    const telemetry = new Telemetry({
      baseUrl: `http://127.0.0.1:${closedPort}`,
      apiKey: readKey,
      maxBuffered: 3,
      flushIntervalMs: 0,
      onError: (error) => failures.push(error),
    });
    const openai = observeOpenAI(openaiClient(), { telemetry });
    const prompt = await cuecard.getPrompt(PROMPTS.events, { type: "text" });
    for (let i = 0; i < 5; i++) {
      const completion = await openai.chat.completions.create(
        { model: MODEL, messages: [{ role: "user", content: prompt.compile({ question: "?" }) }] },
        linkPrompt(prompt),
      );
      expect(completion.choices[0]!.message.content).toBe("Hello from the model stub.");
    }
    expect(telemetry.stats()).toMatchObject({ buffered: 3, dropped: 2, sent: 0 });
    await telemetry.flush();
    // The batch stays buffered for a retry; nothing grows, nothing was thrown at the app.
    expect(telemetry.stats()).toMatchObject({ buffered: 3, dropped: 2, sent: 0, failedFlushes: 1 });
    expect(failures).toHaveLength(1);
    await telemetry.shutdown();
  });
});

describe("ingest refuses bad requests at the edge", () => {
  const events = (key: string, body: string, contentType = "application/json") =>
    fetch(`${platform.edgeUrl}/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": contentType },
      body,
    });
  const generation = () => ({
    type: "generation",
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    model: MODEL,
    latencyMs: 10,
  });
  async function expectProblem(response: Response, status: number, code: string) {
    expect(response.status).toBe(status);
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(await response.json()).toMatchObject({ status, code });
  }

  it("an unknown key: 401", async () => {
    const response = await events("cc_reader_notakey", JSON.stringify({ events: [generation()] }));
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  });

  it("a key created with sendTelemetry false reads prompts but gets 403 on ingest", async () => {
    const created = await admin("POST", `/projects/${demoProject}/keys`, {
      name: "browser app",
      role: "reader",
      sendTelemetry: false,
    });
    expect(created.status).toBe(201);
    const { secret } = (await created.json()) as { secret: string };
    const read = await fetch(
      `${platform.edgeUrl}/v1/prompts/${encodeURIComponent(PROMPTS.events)}`,
      { headers: { authorization: `Bearer ${secret}` } },
    );
    expect(read.status).toBe(200);
    await expectProblem(
      await events(secret, JSON.stringify({ events: [generation()] })),
      403,
      "telemetry_not_allowed",
    );
  });

  it("a batch over the byte limit, or over 100 events: 413; OTLP protobuf: 415", async () => {
    const padding = "x".repeat(EVENT_BATCH_MAX_BYTES);
    await expectProblem(
      await events(readKey, JSON.stringify({ events: [{ ...generation(), model: padding }] })),
      413,
      "payload_too_large",
    );
    await expectProblem(
      await events(readKey, JSON.stringify({ events: Array.from({ length: 101 }, generation) })),
      413,
      "payload_too_large",
    );
    const protobuf = await fetch(`${platform.edgeUrl}/v1/otel/v1/traces`, {
      method: "POST",
      headers: { authorization: `Bearer ${readKey}`, "content-type": "application/x-protobuf" },
      body: new Uint8Array([0x0a, 0x00]),
    });
    await expectProblem(protobuf, 415, "unsupported_media_type");
  });
});
