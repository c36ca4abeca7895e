/**
 * What observing an OpenAI client costs the app: the same calls through a plain and an observed
 * `openai` client against the local model stub with zero artificial latency (so the wrapper's
 * own work is as large a share as it can ever be), in interleaved rounds so drift in the machine
 * hits both alike; medians of per-call wall time, in microseconds. Events go to a local ingest
 * that accepts them, on the default flush interval, so the background flush is in the figure.
 * No OpenTelemetry SDK is registered (the no-op API, as in an app without one).
 *
 * Also: the memory a full event buffer holds (1,000 generation events, measured with
 * process.memoryUsage() around filling it; run with `node --expose-gc` for a steadier figure).
 *
 *   npx tsx bench/observe.ts        # prints the figures as JSON
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import OpenAI from "openai";
import { startModelStub } from "../scripts/model-stub";
import { linkPrompt, observeOpenAI, Telemetry } from "../sdk/src/observe/index";

export interface OverheadFigures {
  plainUsPerCall: number;
  observedUsPerCall: number;
  /** observed / plain: 1.02 is 2 % overhead. */
  ratio: number;
}

export interface ObservedClientBench extends OverheadFigures {
  /** The top-level figures are these (non-streaming calls). */
  nonStreaming: OverheadFigures;
  /** Streaming calls, read to the end (7 chunks each). */
  streaming: OverheadFigures;
  calls: number;
  buffer: { events: number; bytes: number; bytesPerEvent: number };
}

export async function benchObservedClient(
  options: { rounds?: number; callsPerRound?: number } = {},
): Promise<ObservedClientBench> {
  const rounds = options.rounds ?? 200;
  const callsPerRound = options.callsPerRound ?? 10;
  const stub = await startModelStub();
  const ingest = await startAcceptingIngest();
  const telemetry = new Telemetry({ baseUrl: ingest.url, apiKey: "cc_reader_bench" });
  try {
    const clientOptions = { baseURL: stub.url, apiKey: "sk-bench", maxRetries: 0 };
    const plain = new OpenAI(clientOptions);
    const observed = observeOpenAI(new OpenAI(clientOptions), { telemetry });
    const prompt = { name: "bench/prompt", version: 1, label: "production" };
    const messages = [{ role: "user" as const, content: "Say hello to the team" }];

    const nonStreamingCall = (client: OpenAI) => async () => {
      await client.chat.completions.create({ model: "gpt-4o-mini", messages }, linkPrompt(prompt));
    };
    const streamingCall = (client: OpenAI) => async () => {
      const stream = await client.chat.completions.create(
        { model: "gpt-4o-mini", messages, stream: true },
        linkPrompt(prompt),
      );
      for await (const _chunk of stream) {
        // read it all, as an app would
      }
    };
    const nonStreaming = await compare(
      nonStreamingCall(plain),
      nonStreamingCall(observed),
      rounds,
      callsPerRound,
    );
    const streaming = await compare(
      streamingCall(plain),
      streamingCall(observed),
      rounds,
      callsPerRound,
    );
    return {
      ...nonStreaming,
      nonStreaming,
      streaming,
      calls: rounds * callsPerRound * 4,
      buffer: measureFullBuffer(),
    };
  } finally {
    await telemetry.shutdown();
    await stub.close();
    await ingest.close();
  }
}

/** Interleaved rounds (the order flips every round), after a warm-up of each. */
async function compare(
  plain: () => Promise<void>,
  observed: () => Promise<void>,
  rounds: number,
  callsPerRound: number,
): Promise<OverheadFigures> {
  for (let n = 0; n < 50; n++) {
    await plain();
    await observed();
  }
  const samples = { plain: [] as number[], observed: [] as number[] };
  const runRound = async (call: () => Promise<void>, into: number[]) => {
    for (let n = 0; n < callsPerRound; n++) {
      const started = performance.now();
      await call();
      into.push((performance.now() - started) * 1000);
    }
  };
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      await runRound(plain, samples.plain);
      await runRound(observed, samples.observed);
    } else {
      await runRound(observed, samples.observed);
      await runRound(plain, samples.plain);
    }
  }
  const plainUsPerCall = median(samples.plain);
  const observedUsPerCall = median(samples.observed);
  return {
    plainUsPerCall: round1(plainUsPerCall),
    observedUsPerCall: round1(observedUsPerCall),
    ratio: Math.round((observedUsPerCall / plainUsPerCall) * 1000) / 1000,
  };
}

/** Heap held by a full default buffer of realistic generation events (ingest unreachable). */
function measureFullBuffer(): ObservedClientBench["buffer"] {
  const events = 1000;
  // Once untimed, so compiled code and interned strings are not counted as the buffer's.
  fillBuffer(events);
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const telemetry = fillBuffer(events);
  gc?.();
  const bytes = Math.max(0, process.memoryUsage().heapUsed - before);
  // Keep the buffer alive until measured.
  if (telemetry.stats().buffered !== events) throw new Error("the buffer did not fill");
  return { events, bytes, bytesPerEvent: Math.round(bytes / events) };
}

function fillBuffer(events: number): Telemetry {
  const telemetry = new Telemetry({
    baseUrl: "http://127.0.0.1:9",
    apiKey: "k",
    maxBuffered: events,
    flushIntervalMs: 0,
  });
  const prompt = {
    name: "support/triage",
    version: 12,
    label: "production",
    experiment: { id: "exp_01J9Z3", key: "triage-tone", variant: "friendly" },
  };
  for (let n = 0; n < events; n++) {
    telemetry.recordGeneration({
      prompt,
      unit: `user-${n}`,
      provider: "openai",
      operation: "chat",
      model: "gpt-4o-mini",
      responseModel: "gpt-4o-mini-2024-07-18",
      stream: true,
      latencyMs: 812.25 + n,
      timeToFirstTokenMs: 210.5,
      inputTokens: 1200,
      outputTokens: 240,
      finishReason: "stop",
      error: null,
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
    });
  }
  return telemetry;
}

async function startAcceptingIngest() {
  const server = createServer((req, res) => {
    let count = 0;
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      count = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { events: unknown[] }).events
        .length;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ accepted: count, rejected: 0, results: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const round1 = (value: number) => Math.round(value * 10) / 10;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchObservedClient(), null, 2));
}
