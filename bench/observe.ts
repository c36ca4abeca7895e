/**
 * What observing an OpenAI client costs the app: the same calls through a plain and an observed
 * `openai` client against the local model stub with zero artificial latency (so the wrapper's
 * own work is as large a share as it can ever be). The stub and the stand-in ingest run in a
 * child process (bench/remote-services.ts), as a provider and an ingest are remote: their CPU is
 * not charged to the measured client. Calls alternate plain / observed one by one (the order
 * flips every pair), so drift in the machine hits both alike; the figures are medians of
 * per-call wall time (performance.now), in microseconds. Events go to the stand-in ingest on
 * the default flush interval, so the background flush is in the figure. No OpenTelemetry SDK is
 * registered (the no-op API, as in an app without one). The observed client is the SDK as its
 * package is built (`publishedObserve`), not its TypeScript source.
 *
 * Streamed, the two sides do not put the same bytes on the wire, and that part of the figure is
 * inherent: the plain side is written as apps write it today (no `stream_options`), while the
 * observed client asks for `stream_options.include_usage` — without it the provider never says
 * how many tokens a stream used — and hides that extra chunk from the caller. Reading the extra
 * chunk (one more SSE message to receive, decode and parse) is a cost of knowing the tokens,
 * not of the wrapper's bookkeeping. So a second streamed comparison, `streamingSameWire`, pits
 * the observed client against a plain one that asks for usage itself: the same requests and
 * responses on both sides, leaving only the wrapper's own work. The headline `streaming` figure
 * stays against the plain call as written today.
 *
 * Also the SDK's memory bound: the heap a full default buffer holds (1,000 generation events),
 * and what happens past it (2,000 recorded while ingest is down: 1,000 dropped, counted).
 *
 *   npx tsx bench/observe.ts        # prints the figures as JSON
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { build } from "esbuild";
import OpenAI from "openai";
import { repositoryRoot } from "../scripts/platform";
import type * as ObserveModule from "../sdk/src/observe/index";
import { startRemoteServices } from "./remote-services";

/**
 * `@cuecard/sdk/observe` as the package ships it: bundled by esbuild with the options of
 * sdk/scripts/build.mjs (ES2022, its dependencies and peers left as imports, so `openai` is the
 * one this bench imports too). Not the TypeScript source through tsx, which keeps function names
 * by wrapping every function made at run time (`__name`), per call for the wrapper's closures,
 * a cost the published package does not have and the plain client (never transpiled) does not pay.
 */
async function publishedObserve(): Promise<typeof ObserveModule> {
  const sdkDir = join(repositoryRoot, "sdk");
  const manifest = JSON.parse(readFileSync(join(sdkDir, "package.json"), "utf8"));
  const outfile = join(repositoryRoot, "dist", "bench", "observe-sdk.mjs");
  await build({
    absWorkingDir: sdkDir,
    entryPoints: ["src/observe/index.ts"],
    outfile,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    external: [
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {}),
    ],
    logLevel: "warning",
  });
  return (await import(pathToFileURL(outfile).href)) as typeof ObserveModule;
}

let sdk: typeof ObserveModule | undefined;

export interface OverheadFigures {
  plainUsPerCall: number;
  observedUsPerCall: number;
  /** observed / plain: 1.02 is 2 % overhead. */
  ratio: number;
  /**
   * The same calls' CPU time in this process (user + system, `process.cpuUsage()`), medians in
   * µs: what the call costs the app's CPU, background flushes included when they run during it.
   * On a loaded machine wall time mostly measures waiting for a core; CPU time does not.
   */
  plainCpuUsPerCall: number;
  observedCpuUsPerCall: number;
  cpuRatio: number;
}

export interface ObservedClientBench extends OverheadFigures {
  /** The top-level figures are these (non-streaming calls). */
  nonStreaming: OverheadFigures;
  /** Streaming calls, read to the end (7 chunks each, the usage chunk hidden from the caller). */
  streaming: OverheadFigures;
  /**
   * Streaming again, the plain side asking for `stream_options.include_usage` itself (8 chunks
   * read on both sides): the wrapper's own work, without the usage chunk it must ask for.
   */
  streamingSameWire: OverheadFigures;
  /** Measured calls, all six kinds together. */
  calls: number;
  /** Events the stand-in ingest accepted during the run (warm-up included). */
  eventsSent: number;
  buffer: { events: number; bytes: number; bytesPerEvent: number };
  /** 2,000 generations recorded with ingest unreachable into a default (1,000) buffer. */
  overflow: { recorded: number; buffered: number; dropped: number; failedFlushes: number };
}

export async function benchObservedClient(
  options: { pairs?: number } = {},
): Promise<ObservedClientBench> {
  const pairs = options.pairs ?? 3000;
  sdk ??= await publishedObserve();
  const { linkPrompt, observeOpenAI, Telemetry } = sdk;
  // First, before the calls leave garbage behind.
  const buffer = await measureFullBuffer();
  const services = await startRemoteServices();
  const telemetry = new Telemetry({ baseUrl: services.ingestUrl, apiKey: "cc_reader_bench" });
  try {
    const clientOptions = { baseURL: services.modelUrl, apiKey: "sk-bench", maxRetries: 0 };
    const plain = new OpenAI(clientOptions);
    const observed = observeOpenAI(new OpenAI(clientOptions), { telemetry });
    const prompt = { name: "bench/prompt", version: 1, label: "production" };
    const messages = [{ role: "user" as const, content: "Say hello to the team" }];

    const nonStreamingCall = (client: OpenAI) => async () => {
      await client.chat.completions.create({ model: "gpt-4o-mini", messages }, linkPrompt(prompt));
    };
    const streamingCall =
      (client: OpenAI, askForUsage = false) =>
      async () => {
        const stream = await client.chat.completions.create(
          askForUsage
            ? {
                model: "gpt-4o-mini",
                messages,
                stream: true,
                stream_options: { include_usage: true },
              }
            : { model: "gpt-4o-mini", messages, stream: true },
          linkPrompt(prompt),
        );
        for await (const _chunk of stream) {
          // read it all, as an app would
        }
      };
    const nonStreaming = await compare(nonStreamingCall(plain), nonStreamingCall(observed), pairs);
    const streaming = await compare(streamingCall(plain), streamingCall(observed), pairs);
    const streamingSameWire = await compare(
      streamingCall(plain, true),
      streamingCall(observed),
      pairs,
    );
    await telemetry.flush();
    return {
      ...nonStreaming,
      nonStreaming,
      streaming,
      streamingSameWire,
      calls: pairs * 6,
      eventsSent: await services.acceptedEvents(),
      buffer,
      overflow: await overflowWhileIngestDown(),
    };
  } finally {
    await telemetry.shutdown();
    await services.close();
  }
}

/**
 * Plain and observed calls alternate one by one (ABBA: the order flips every pair, so neither
 * always runs right after the other's garbage), after a warm-up of each; medians of each side.
 */
async function compare(
  plain: () => Promise<void>,
  observed: () => Promise<void>,
  pairs: number,
): Promise<OverheadFigures> {
  for (let n = 0; n < 200; n++) {
    await plain();
    await observed();
  }
  const wall = { plain: new Float64Array(pairs), observed: new Float64Array(pairs) };
  const cpu = { plain: new Float64Array(pairs), observed: new Float64Array(pairs) };
  const timed = async (side: "plain" | "observed", n: number) => {
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await (side === "plain" ? plain : observed)();
    wall[side][n] = (performance.now() - started) * 1000;
    const used = process.cpuUsage(cpuBefore);
    cpu[side][n] = used.user + used.system;
  };
  for (let n = 0; n < pairs; n++) {
    if (n % 2 === 0) {
      await timed("plain", n);
      await timed("observed", n);
    } else {
      await timed("observed", n);
      await timed("plain", n);
    }
  }
  const plainUsPerCall = median(wall.plain);
  const observedUsPerCall = median(wall.observed);
  const plainCpuUsPerCall = median(cpu.plain);
  const observedCpuUsPerCall = median(cpu.observed);
  return {
    plainUsPerCall: round1(plainUsPerCall),
    observedUsPerCall: round1(observedUsPerCall),
    ratio: Math.round((observedUsPerCall / plainUsPerCall) * 1000) / 1000,
    plainCpuUsPerCall: round1(plainCpuUsPerCall),
    observedCpuUsPerCall: round1(observedCpuUsPerCall),
    cpuRatio: Math.round((observedCpuUsPerCall / plainCpuUsPerCall) * 1000) / 1000,
  };
}

/**
 * Twice the default buffer recorded while ingest is unreachable: a flush fails after the first
 * 1,000 (they stay buffered for the retry), and each of the next 1,000 pushes out the oldest.
 */
async function overflowWhileIngestDown(): Promise<ObservedClientBench["overflow"]> {
  const telemetry = unreachableTelemetry();
  const recorded = 2000;
  for (let n = 0; n < recorded / 2; n++) telemetry.recordGeneration(generation(n));
  await telemetry.flush();
  for (let n = recorded / 2; n < recorded; n++) telemetry.recordGeneration(generation(n));
  const { buffered, dropped, failedFlushes } = telemetry.stats();
  await telemetry.shutdown();
  return { recorded, buffered, dropped, failedFlushes };
}

/** Heap held by a full default buffer of realistic generation events (ingest unreachable). */
export async function measureFullBuffer(): Promise<ObservedClientBench["buffer"]> {
  const events = 1000;
  sdk ??= await publishedObserve();
  // Once unmeasured, so compiled code and interned strings are not counted as the buffer's.
  fillBuffer(events);
  const gc = collector();
  // Twice, with a turn of the event loop between: finalizers of earlier garbage (a disposed
  // Miniflare, closed sockets) free more on the second pass, which would otherwise be
  // subtracted from the buffer's figure.
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  const before = process.memoryUsage().heapUsed;
  const telemetry = fillBuffer(events);
  gc();
  const bytes = Math.max(0, process.memoryUsage().heapUsed - before);
  // Keep the buffer alive until measured.
  if (telemetry.stats().buffered !== events) throw new Error("the buffer did not fill");
  return { events, bytes, bytesPerEvent: Math.round(bytes / events) };
}

/** A full garbage collection on demand, without `node --expose-gc` (which tsx does not pass). */
function collector(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

function fillBuffer(events: number): ObserveModule.Telemetry {
  const telemetry = unreachableTelemetry({ maxBuffered: events, flushIntervalMs: 0 });
  for (let n = 0; n < events; n++) telemetry.recordGeneration(generation(n));
  return telemetry;
}

/** Port 9 (discard) is closed here: every flush fails fast, as with ingest down. */
function unreachableTelemetry(options: { maxBuffered?: number; flushIntervalMs?: number } = {}) {
  return new (sdk as typeof ObserveModule).Telemetry({
    baseUrl: "http://127.0.0.1:9",
    apiKey: "k",
    ...options,
  });
}

const benchPrompt = {
  name: "support/triage",
  version: 12,
  label: "production",
  experiment: { id: "exp_01J9Z3", key: "triage-tone", variant: "friendly" },
};

/** A realistic generation: a linked prompt in an experiment, tokens, a trace. */
function generation(n: number) {
  return {
    prompt: benchPrompt,
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
  };
}

function median(values: Float64Array): number {
  const sorted = values.slice().sort();
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const round1 = (value: number) => Math.round(value * 10) / 10;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchObservedClient(), null, 2));
}
