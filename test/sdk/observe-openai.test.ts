/**
 * The observed OpenAI client against the real `openai` package (6.x and 7.x, one suite for both)
 * and a local OpenAI-compatible model stub (scripts/model-stub.ts; the provider cannot run here):
 * the caller gets exactly what the plain client gives, and every call becomes one event at the
 * ingest endpoint and one OpenTelemetry span.
 */
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import OpenAI6 from "openai";
import { Stream as Stream6 } from "openai/streaming";
import OpenAI7 from "openai-v7";
import { Stream as Stream7 } from "openai-v7/streaming";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type ModelStub, startModelStub } from "../../scripts/model-stub";
import { toPrompt } from "../../sdk/src/index";
import { linkPrompt, observeOpenAI, Telemetry } from "../../sdk/src/observe/index";
import { registerInMemoryTracing, startIngest } from "./observe-helpers";

const REPLY = "Hello from the model stub."; // 5 words: 5 output tokens
const QUESTION = "Say hello to the team"; // 5 words: 5 input tokens
// gpt-4o-mini lists at $0.15 / $0.60 per million input / output tokens.
const GPT_4O_MINI_COST = (5 * 0.15 + 5 * 0.6) / 1_000_000;

const prompt = {
  ...toPrompt(
    {
      name: "support/greet",
      type: "chat",
      version: 7,
      label: "production",
      prompt: [{ role: "user", content: QUESTION }],
      config: { model: "gpt-4o-mini" },
      variables: [],
      hash: "sha256:x",
    },
    "edge",
  ),
  experiment: { id: "exp_1", key: "greeting-tone", variant: "friendly" },
};

const versions = [
  { name: "openai 6.30.1", OpenAI: OpenAI6, Stream: Stream6 },
  // One suite for both: 7.x's types are checked in observe-types.test.ts.
  {
    name: "openai 7.55.0",
    OpenAI: OpenAI7 as unknown as typeof OpenAI6,
    Stream: Stream7 as unknown as typeof Stream6,
  },
];

let stub: ModelStub;
let ingest: Awaited<ReturnType<typeof startIngest>>;
let tracing: ReturnType<typeof registerInMemoryTracing>;

beforeAll(async () => {
  stub = await startModelStub({ reply: REPLY });
  ingest = await startIngest();
  tracing = registerInMemoryTracing();
});
afterAll(async () => {
  await tracing.close();
  await stub.close();
  await ingest.close();
});

describe.each(versions)("$name", ({ OpenAI, Stream }) => {
  let sink: Telemetry;
  let openai: InstanceType<typeof OpenAI6>;

  beforeAll(() => {
    sink = new Telemetry({ baseUrl: ingest.url, apiKey: "cc_reader_test", flushIntervalMs: 0 });
    openai = observeOpenAI(new OpenAI({ baseURL: stub.url, apiKey: "sk-stub", maxRetries: 0 }), {
      telemetry: sink,
    });
  });
  afterEach(async () => {
    await sink.flush();
    ingest.requests.length = 0;
    tracing.exporter.reset();
  });

  /** Sends what was recorded and returns the generation events ingest received. */
  async function recorded() {
    await sink.flush();
    return ingest.generations();
  }

  it("chat, not streamed: the caller gets the completion; the event has prompt, usage, cost", async () => {
    const completion = await openai.chat.completions.create(
      { model: "gpt-4o-mini", messages: [{ role: "user", content: QUESTION }] },
      linkPrompt(prompt, { unit: "user-42" }),
    );
    expect(completion.choices[0]!.message.content).toBe(REPLY);
    expect(completion._request_id).toMatch(/^req_stub_/);
    // The link stays on this side: the provider got the body as the caller wrote it.
    expect(stub.requests.at(-1)!.body).toEqual({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: QUESTION }],
    });

    const [event] = await recorded();
    expect(event).toMatchObject({
      type: "generation",
      prompt: { name: "support/greet", version: 7, label: "production" },
      experiment: { id: "exp_1", key: "greeting-tone", variant: "friendly" },
      unit: "user-42",
      provider: "openai",
      operation: "chat",
      model: "gpt-4o-mini",
      responseModel: "gpt-4o-mini-stub",
      stream: false,
      timeToFirstTokenMs: null,
      inputTokens: 5,
      outputTokens: 5,
      finishReason: "stop",
      error: null,
    });
    expect(event!.costUsd).toBeCloseTo(GPT_4O_MINI_COST, 12);
    // A traced call: the id OTLP ingest would give its span (see the span test below).
    expect(event!.id).toMatch(/^[0-9a-f]{32}:[0-9a-f]{16}$/);
    expect(event!.latencyMs).toBeGreaterThan(0);
    expect(Date.parse(event!.timestamp)).toBeLessThanOrEqual(Date.now());
    expect(ingest.requests[0]!.authorization).toBe("Bearer cc_reader_test");
    expect(ingest.requests[0]!.path).toBe("/v1/events");
  });

  it("create() is still the SDK's APIPromise: withResponse() and asResponse() work", async () => {
    const body = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "hi" }] };
    const { data, response, request_id } = await openai.chat.completions
      .create(body, linkPrompt(prompt))
      .withResponse();
    expect(data.choices[0]!.message.content).toBe(REPLY);
    expect(response.status).toBe(200);
    expect(request_id).toMatch(/^req_stub_/);

    const raw = await openai.chat.completions.create(body).asResponse();
    expect(raw.headers.get("content-type")).toBe("application/json");
    // The body is the caller's to read: the wrapper did not consume it.
    expect(((await raw.json()) as { object: string }).object).toBe("chat.completion");
    // Only the parsed call is recorded: a raw Response's body is never read on the caller's behalf.
    const events = await recorded();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ inputTokens: 1, outputTokens: 5 });
  });

  it("chat, streamed: the SDK's Stream, no usage chunk the caller did not ask for, usage and TTFT recorded", async () => {
    const stream = await openai.chat.completions.create(
      { model: "gpt-4o-mini", messages: [{ role: "user", content: QUESTION }], stream: true },
      {
        ...linkPrompt(prompt),
        headers: { "x-stub-first-token-ms": "80", "x-stub-chunk-delay-ms": "10" },
      },
    );
    expect(stream).toBeInstanceOf(Stream);
    expect(stream.controller).toBeInstanceOf(AbortController);
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    // Role chunk, five words, the finish chunk — and not the usage-only chunk the wrapper asked for.
    expect(chunks).toHaveLength(7);
    expect(chunks.every((chunk) => chunk.choices.length === 1 && !chunk.usage)).toBe(true);
    expect(chunks.map((chunk) => chunk.choices[0]!.delta.content ?? "").join("")).toBe(REPLY);
    expect(stub.requests.at(-1)!.body.stream_options).toEqual({ include_usage: true });

    const [event] = await recorded();
    expect(event).toMatchObject({
      stream: true,
      inputTokens: 5,
      outputTokens: 5,
      finishReason: "stop",
      responseModel: "gpt-4o-mini-stub",
    });
    expect(event!.timeToFirstTokenMs).toBeGreaterThanOrEqual(75);
    // Five chunk delays of 10 ms come after the first chunk.
    expect(event!.latencyMs).toBeGreaterThanOrEqual(event!.timeToFirstTokenMs! + 45);
    expect(event!.costUsd).toBeCloseTo(GPT_4O_MINI_COST, 12);
  });

  it("chat, streamed with include_usage asked for: the caller keeps its usage chunk", async () => {
    const stream = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: QUESTION }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 5 });
    const [event] = await recorded();
    expect(event).toMatchObject({ inputTokens: 5, outputTokens: 5 });
  });

  it("tee() and toReadableStream() of an observed stream work and record one call", async () => {
    const stream = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: QUESTION }],
      stream: true,
    });
    const [left, right] = stream.tee();
    const read = async (branch: typeof left) => {
      let text = "";
      for await (const chunk of branch) text += chunk.choices[0]?.delta.content ?? "";
      return text;
    };
    expect(await Promise.all([read(left), read(right)])).toEqual([REPLY, REPLY]);

    const readable = (
      await openai.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: QUESTION }],
        stream: true,
      })
    ).toReadableStream();
    const lines = (await new Response(readable).text()).trim().split("\n");
    expect(lines).toHaveLength(7);

    const events = await recorded();
    expect(events).toHaveLength(2);
    expect(events.every((event) => event.outputTokens === 5)).toBe(true);
  });

  it("an early break ends the record (cancelled) and the span, and stops the request", async () => {
    const stream = await openai.chat.completions.create(
      { model: "gpt-4o-mini", messages: [{ role: "user", content: QUESTION }], stream: true },
      { ...linkPrompt(prompt), headers: { "x-stub-chunk-delay-ms": "20" } },
    );
    let seen = 0;
    for await (const _chunk of stream) {
      if (++seen === 2) break;
    }
    expect(stream.controller.signal.aborted).toBe(true);
    const [event] = await recorded();
    expect(event).toMatchObject({ finishReason: "cancelled", outputTokens: null, error: null });
    expect(event!.timeToFirstTokenMs).not.toBeNull();
    const [span] = tracing.exporter.getFinishedSpans();
    expect(span!.ended).toBe(true);
    expect(span!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it("responses, not streamed: output_text as usual; usage and status recorded", async () => {
    const response = await openai.responses.create(
      { model: "gpt-4o-mini", input: QUESTION },
      linkPrompt(prompt),
    );
    expect(response.output_text).toBe(REPLY);
    const [event] = await recorded();
    expect(event).toMatchObject({
      operation: "responses",
      stream: false,
      inputTokens: 5,
      outputTokens: 5,
      finishReason: "completed",
      responseModel: "gpt-4o-mini-stub",
      prompt: { name: "support/greet", version: 7 },
    });
    expect(event!.costUsd).toBeCloseTo(GPT_4O_MINI_COST, 12);
  });

  it("responses, streamed: every typed event reaches the caller; usage comes from response.completed", async () => {
    const stream = await openai.responses.create(
      { model: "gpt-4o-mini", input: QUESTION, stream: true },
      { headers: { "x-stub-first-token-ms": "60" } },
    );
    expect(stream).toBeInstanceOf(Stream);
    const types: string[] = [];
    let text = "";
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.output_text.delta") text += event.delta;
    }
    expect(text).toBe(REPLY);
    expect(types[0]).toBe("response.created");
    expect(types.at(-1)).toBe("response.completed");
    expect(types.filter((type) => type === "response.output_text.delta")).toHaveLength(5);

    const [event] = await recorded();
    expect(event).toMatchObject({
      operation: "responses",
      stream: true,
      inputTokens: 5,
      outputTokens: 5,
      finishReason: "completed",
    });
    expect(event!.timeToFirstTokenMs).toBeGreaterThanOrEqual(55);
  });

  it.each([
    [429, "stub-429", OpenAI.RateLimitError, "RateLimitError"],
    [500, "stub-500", OpenAI.InternalServerError, "InternalServerError"],
  ])(
    "a %i is recorded with its status and rethrown unchanged",
    async (status, model, ErrorClass, type) => {
      const call = openai.chat.completions.create(
        { model, messages: [{ role: "user", content: QUESTION }] },
        linkPrompt(prompt),
      );
      const error = await call.then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(ErrorClass);
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(status);

      const [event] = await recorded();
      expect(event!.error).toMatchObject({ type, status });
      expect(event!.error!.message).toContain(String(status));
      expect(event).toMatchObject({ model, inputTokens: null, costUsd: null, finishReason: null });
      const [span] = tracing.exporter.getFinishedSpans();
      expect(span!.status.code).toBe(SpanStatusCode.ERROR);
      expect(span!.attributes["error.type"]).toBe(type);
    },
  );

  it("a streamed call that fails is recorded as an error too", async () => {
    await expect(
      openai.chat.completions.create({ model: "stub-500", messages: [], stream: true }),
    ).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    const [event] = await recorded();
    expect(event).toMatchObject({ stream: true, error: { status: 500 } });
  });

  it("clients made by withOptions() are observed too", async () => {
    const derived = openai.withOptions({ timeout: 5_000 });
    await derived.chat.completions.create(
      { model: "gpt-4o-mini", messages: [{ role: "user", content: QUESTION }] },
      linkPrompt(prompt),
    );
    await derived
      .withOptions({ maxRetries: 0 })
      .responses.create({ model: "gpt-4o-mini", input: "hi" });
    const events = await recorded();
    expect(events.map((event) => event.operation)).toEqual(["chat", "responses"]);
    expect(events[0]!.prompt).toEqual({ name: "support/greet", version: 7, label: "production" });
  });

  it("observing twice records once; options.prices overrides the price table", async () => {
    const client = new OpenAI({ baseURL: stub.url, apiKey: "sk-stub", maxRetries: 0 });
    const priced = observeOpenAI(client, {
      telemetry: sink,
      prices: { "house-model": { input: 1, output: 2 } },
    });
    expect(observeOpenAI(priced, { telemetry: sink })).toBe(priced);
    await priced.chat.completions.create({
      model: "house-model",
      messages: [{ role: "user", content: QUESTION }],
    });
    const events = await recorded();
    expect(events).toHaveLength(1);
    expect(events[0]!.costUsd).toBeCloseTo((5 * 1 + 5 * 2) / 1_000_000, 12);
  });

  it("each call is a CLIENT span with the GenAI, Langfuse, feature-flag and Cuecard attributes", async () => {
    const stream = await openai.chat.completions.create(
      { model: "gpt-4o-mini", messages: [{ role: "user", content: QUESTION }], stream: true },
      { ...linkPrompt(prompt), headers: { "x-stub-first-token-ms": "40" } },
    );
    for await (const _chunk of stream) {
      // read it all
    }
    const [event] = await recorded();
    const [span] = tracing.exporter.getFinishedSpans();
    expect(span!.name).toBe("chat gpt-4o-mini");
    expect(span!.kind).toBe(SpanKind.CLIENT);
    expect(span!.status.code).toBe(SpanStatusCode.UNSET);
    const { "gen_ai.response.time_to_first_chunk": ttft, ...rest } = span!.attributes;
    expect(rest).toEqual({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.request.model": "gpt-4o-mini",
      "gen_ai.request.stream": true,
      "gen_ai.response.id": expect.stringMatching(/^chatcmpl-stub-/),
      "gen_ai.response.model": "gpt-4o-mini-stub",
      "gen_ai.response.finish_reasons": ["stop"],
      "gen_ai.usage.input_tokens": 5,
      "gen_ai.usage.output_tokens": 5,
      "gen_ai.prompt.name": "support/greet",
      "langfuse.observation.prompt.name": "support/greet",
      "langfuse.observation.prompt.version": 7,
      "feature_flag.key": "greeting-tone",
      "feature_flag.result.variant": "friendly",
      "feature_flag.provider.name": "cuecard",
      "cuecard.prompt.version": 7,
      "cuecard.prompt.label": "production",
    });
    // Seconds, per the convention.
    expect(ttft).toBeGreaterThanOrEqual(0.035);
    expect(ttft).toBeLessThan(10);
    // The event names its span.
    expect(event!.traceId).toBe(span!.spanContext().traceId);
    expect(event!.spanId).toBe(span!.spanContext().spanId);
    // …and takes the id OTLP ingest gives that span, so a call both sent and exported counts once.
    expect(event!.id).toBe(`${span!.spanContext().traceId}:${span!.spanContext().spanId}`);
  });

  it("a score names the call through its link: not streamed, with withResponse()", async () => {
    const link = linkPrompt(prompt, { unit: "user-7" });
    expect(link.generationId).toBeUndefined();
    const call = openai.chat.completions.create(
      { model: "gpt-4o-mini", messages: [{ role: "user", content: QUESTION }] },
      link,
    );
    // Known as soon as the call starts, before the answer.
    const idAtStart = link.generationId;
    expect(idAtStart).toMatch(/^[0-9a-f]{32}:[0-9a-f]{16}$/);
    const { data } = await call.withResponse();
    expect(data.choices[0]!.message.content).toBe(REPLY);

    const score = sink.score(link, "thumbs", true, { comment: "helpful" });
    await sink.flush();
    const [generation] = ingest.generations();
    expect(generation!.id).toBe(idAtStart);
    const scores = ingest.events().filter((event) => event.type === "score");
    expect(scores).toEqual([
      {
        type: "score",
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        timestamp: expect.any(String),
        name: "thumbs",
        value: true,
        generationId: generation!.id,
        comment: "helpful",
      },
    ]);
    expect(scores[0]).toEqual(score);
    expect(Date.parse(scores[0]!.timestamp)).toBeGreaterThanOrEqual(
      Date.parse(generation!.timestamp),
    );
  });

  it("a score names a streamed call through its link, merged with other options", async () => {
    const link = linkPrompt(prompt);
    const stream = await openai.chat.completions.create(
      { model: "gpt-4o-mini", messages: [{ role: "user", content: QUESTION }], stream: true },
      { ...link, headers: { "x-stub-chunk-delay-ms": "1" } },
    );
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe(REPLY);
    // The generation id never reaches the provider's request options or headers.
    expect(JSON.stringify(stub.requests.at(-1)!.headers)).not.toContain(link.generationId!);

    sink.score(link, "rating", 4);
    const responses = linkPrompt(prompt);
    const events = await openai.responses.create(
      { model: "gpt-4o-mini", input: QUESTION, stream: true },
      responses,
    );
    for await (const _event of events) {
      // read it all
    }
    sink.score(responses.generationId!, "tone", "friendly");
    await sink.flush();
    const generations = ingest.generations();
    expect(generations.map((event) => event.stream)).toEqual([true, true]);
    const scores = ingest.events().filter((event) => event.type === "score");
    expect(scores.map((score) => [score.generationId, score.name, score.value])).toEqual([
      [generations[0]!.id, "rating", 4],
      [generations[1]!.id, "tone", "friendly"],
    ]);
    expect(generations[0]!.id).not.toBe(generations[1]!.id);
  });

  it("a call without a link is still recorded and traced, with no prompt", async () => {
    await openai.chat.completions.create({ model: "gpt-4o-mini", messages: [] });
    const [event] = await recorded();
    expect(event).toMatchObject({ prompt: null, experiment: null, unit: null });
    const [span] = tracing.exporter.getFinishedSpans();
    expect(Object.keys(span!.attributes).some((key) => key.includes("prompt"))).toBe(false);
  });
});
