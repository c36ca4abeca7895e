/**
 * Telemetry ingest under load, served admin-less: the edge and the telemetry worker bundled by
 * wrangler and configured from their wrangler.toml files (service binding, queue producer and
 * consumers, D1), as scripts/platform.ts serves them.
 *
 * - ingest: events/s accepted through the edge → telemetry worker, in batches of 100;
 * - drain: events/s the queue consumer rolls up, and its lag (a probe event's time from accepted
 *   to visible in the rollups, sampled during the load; and the catch-up after the load stops);
 * - the edge's isolate-hit GET throughput alone, then beside ingest: flat out and paced at
 *   PACED_EVENTS_PER_SECOND, both workers in ONE Miniflare (one workerd process, whose request
 *   handling is one thread); then flat out with the telemetry worker in a SECOND Miniflare (its
 *   own workerd process, reached by an external service binding), as on Cloudflare, where it
 *   runs in isolates of its own. The load generator shares the machine's cores with them.
 *
 * The INGEST_LIMITER (600 requests/min per key) is raised for the bench only (the binding is
 * still called on every request, so its cost is in the figures): one key at these rates would be
 * refused after its first 600 requests.
 *
 *   npx tsx bench/ingest.ts        # prints the figures as JSON
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { generateKey, hashKey } from "@cuecard/core/keys";
import { labelPointerKey, readKeyRecord, readKeyRecordKey } from "@cuecard/core/kv-records";
import { EVENTS_PER_BATCH_MAX } from "@cuecard/core/telemetry";
import autocannon from "autocannon";
import { Log, LogLevel, Miniflare, type WorkerOptions } from "miniflare";
import {
  miniflareWorker,
  type PlatformWorker,
  readWorkerConfig,
  repositoryRoot,
  runWrangler,
} from "../scripts/platform";
import { pointer, published } from "./fixtures";

const PROJECT = "bench";
const EDGE_PORT = 8911;
const TELEMETRY_PORT = 8912;
const INGEST_PROMPT = "bench/ingest";
const BENCH_LIMIT = { limit: 1_000_000, period: 60 as const };

export interface IngestBench {
  batchSize: number;
  ingestConnections: number;
  edgeConnections: number;
  durationSeconds: number;
  limiter: string;
  ingest: { eventsPerSecond: number; requestsPerSecond: number; p50Ms: number; p99Ms: number };
  drain: {
    /** Events accepted in the measured window ÷ time until all of them were in the rollups. */
    eventsPerSecond: number;
    events: number;
    /** After the load stopped, until the last accepted event was visible. */
    catchUpMs: number;
    /** Probe events sent during the load: accepted → visible in the rollups. */
    lagMs: { probes: number; p50: number; max: number };
  };
  /** Edge isolate hits alone, then beside ingest; `ratio` is with ÷ alone (the goal is ≥ 0.95). */
  edgeUnderIngest: EdgeBesideIngest[];
  errors: number;
}

export interface EdgeBesideIngest {
  workerd: "one process" | "two processes";
  /** "flat out", or the paced rate asked for. */
  ingest: string;
  aloneRequestsPerSecond: number;
  withIngestRequestsPerSecond: number;
  ratio: number;
  ingestEventsPerSecondMeanwhile: number;
}

/**
 * Paced ingest rates measured beside the edge (events/s; one request carries 100). 100 events/s
 * (one request a second) is the control: what a second autocannon alone costs the edge figure.
 */
export const PACED_EVENTS_PER_SECOND = [100, 1_000, 2_500] as const;

export async function benchIngest(
  options: { durationS?: number; edgeConnections?: number; ingestConnections?: number } = {},
): Promise<IngestBench> {
  const durationS = options.durationS ?? 8;
  const edgeConnections = options.edgeConnections ?? 10;
  const ingestConnections = options.ingestConnections ?? 4;
  const measureIn = async (mode: Served["mode"], onlyFlatOut: boolean) => {
    const served = await serve(mode);
    try {
      return await measure(served, { durationS, edgeConnections, ingestConnections, onlyFlatOut });
    } finally {
      await served.dispose();
    }
  };
  const run = await measureIn("one process", false);
  // The same ports again, in a second pair of workerd processes.
  const apart = await measureIn("two processes", true);
  const ingest = run.solo;
  const sortedLags = [...ingest.lags].sort((a, b) => a - b);
  return {
    batchSize: EVENTS_PER_BATCH_MAX,
    ingestConnections,
    edgeConnections,
    durationSeconds: durationS,
    limiter: `INGEST_LIMITER raised to ${BENCH_LIMIT.limit}/${BENCH_LIMIT.period} s for the bench (one key)`,
    ingest: {
      eventsPerSecond: Math.round(ingest.accepted / durationS),
      requestsPerSecond: Math.round(ingest.result.requests.average),
      p50Ms: ingest.result.latency.p50,
      p99Ms: ingest.result.latency.p99,
    },
    drain: {
      eventsPerSecond: Math.round(ingest.accepted / ((ingest.allVisible - ingest.started) / 1000)),
      events: ingest.accepted,
      catchUpMs: ingest.allVisible - ingest.ended,
      lagMs: {
        probes: sortedLags.length,
        p50: sortedLags[sortedLags.length >> 1] ?? Number.NaN,
        max: sortedLags.at(-1) ?? Number.NaN,
      },
    },
    edgeUnderIngest: [...run.besides, ...apart.besides],
    errors: run.errors + apart.errors,
  };
}

/** What one serving measures: ingest alone (with drain and lag), then the edge beside ingest. */
async function measure(
  served: Served,
  options: {
    durationS: number;
    edgeConnections: number;
    ingestConnections: number;
    onlyFlatOut?: boolean;
  },
) {
  const { durationS } = options;
  const key = await seed(served.edge);
  const db = await served.telemetry.getD1Database("TELEMETRY_DB", "telemetry");
  await migrate(db);
  const rolledUp = async (prompt = INGEST_PROMPT): Promise<number> => {
    const row = await db
      .prepare(
        "SELECT total(calls) AS calls FROM generation_rollups WHERE project_id = ?1 AND prompt_name = ?2",
      )
      .bind(PROJECT, prompt)
      .first();
    return Number((row as { calls: number } | null)?.calls ?? 0);
  };
  const edgePaths = Array.from({ length: 10 }, (_, i) => `/v1/prompts/small%2Fp-${i}`);
  let errors = 0;
  const edgeLoad = async (seconds: number) => {
    const result = await load({
      key,
      connections: options.edgeConnections,
      seconds,
      paths: edgePaths,
    });
    errors += result.errors + result.timeouts + result.non2xx;
    return result;
  };
  const ingestLoad = async (seconds: number, run: string, eventsPerSecond?: number) => {
    const result = await load({
      key,
      connections: options.ingestConnections,
      seconds,
      paths: ["/v1/events"],
      body: batchBody(run),
      requestsPerSecond: eventsPerSecond && eventsPerSecond / EVENTS_PER_BATCH_MAX,
    });
    errors += result.errors + result.timeouts + result.non2xx;
    return { result, accepted: result["2xx"] * EVENTS_PER_BATCH_MAX };
  };
  const drained = async (target: number, limitMs: number) => {
    const started = Date.now();
    while ((await rolledUp()) < target) {
      if (Date.now() - started > limitMs) throw new Error(`rollups stuck below ${target}`);
      await sleep(25);
    }
    return Date.now();
  };

  // Warm-ups (JIT, connections, the isolate cache, the consumer), not measured.
  await edgeLoad(1);
  const warm = await ingestLoad(1, "warm");
  let expected = warm.accepted;
  await drained(expected, 60_000);

  const edgeAlone = await edgeLoad(durationS);

  const probes = startProbes(key, rolledUp);
  const started = Date.now();
  const solo = await ingestLoad(durationS, "solo");
  const ended = Date.now();
  const lags = await probes.stop();
  expected += solo.accepted;
  const allVisible = await drained(expected, 120_000);

  const besides: EdgeBesideIngest[] = [];
  const rates = options.onlyFlatOut ? [undefined] : [undefined, ...PACED_EVENTS_PER_SECOND];
  for (const rate of rates) {
    // Its own "alone" right before: other load on a shared machine drifts within a run.
    const edgeBefore = rate === undefined ? edgeAlone : await edgeLoad(durationS);
    const [edgeMixed, ingestMixed] = await Promise.all([
      edgeLoad(durationS),
      ingestLoad(durationS, `mixed-${rate ?? "max"}`, rate),
    ]);
    expected += ingestMixed.accepted;
    // Drained before the next measurement, so no rollup work of this one spills into it.
    await drained(expected, 120_000);
    besides.push({
      workerd: served.mode,
      ingest: rate ? `paced at ${rate} events/s` : "flat out",
      aloneRequestsPerSecond: Math.round(edgeBefore.requests.average),
      withIngestRequestsPerSecond: Math.round(edgeMixed.requests.average),
      ratio: Math.round((edgeMixed.requests.average / edgeBefore.requests.average) * 1000) / 1000,
      ingestEventsPerSecondMeanwhile: Math.round(ingestMixed.accepted / durationS),
    });
  }
  return {
    errors,
    solo: { ...solo, lags, started, ended, allVisible },
    besides,
  };
}

interface Served {
  mode: EdgeBesideIngest["workerd"];
  /** The Miniflare serving the edge (its KV is seeded). */
  edge: Miniflare;
  /** The Miniflare serving the telemetry worker: the same one, or a second. */
  telemetry: Miniflare;
  dispose(): Promise<void>;
}

const buildDir = join(repositoryRoot, "dist", "bench", "ingest");
const configPaths = {
  edge: join(repositoryRoot, "workers/edge/wrangler.toml"),
  telemetry: join(repositoryRoot, "workers/telemetry/wrangler.toml"),
} satisfies Partial<Record<PlatformWorker, string>>;
let bundled: Promise<unknown> | undefined;

/**
 * The edge (on a port) and the telemetry worker, as configured: in the edge's Miniflare (reached
 * by an in-process service binding), or in a Miniflare of its own on TELEMETRY_PORT (the edge's
 * TELEMETRY binding then points at that address, a separate workerd process).
 */
async function serve(mode: Served["mode"]): Promise<Served> {
  bundled ??= Promise.all(
    Object.entries(configPaths).map(([worker, config]) =>
      runWrangler(["deploy", "--dry-run", "--outdir", join(buildDir, worker), "-c", config]),
    ),
  );
  await bundled;
  const edge = readWorkerConfig(configPaths.edge);
  const telemetry = readWorkerConfig(configPaths.telemetry);
  const workerOfService = new Map<string, PlatformWorker>([
    [edge.name, "edge"],
    [telemetry.name, "telemetry"],
  ]);
  const separate = mode === "two processes";
  const telemetryWorker = miniflareWorker(
    "telemetry",
    telemetry,
    join(buildDir, "telemetry"),
    workerOfService,
    separate ? TELEMETRY_PORT : undefined,
    {},
  );
  const benchTelemetry: WorkerOptions = {
    ...telemetryWorker,
    ratelimits: Object.fromEntries(
      Object.entries(telemetryWorker.ratelimits ?? {}).map(([name, limiter]) => [
        name,
        { ...limiter, simple: BENCH_LIMIT },
      ]),
    ),
  };
  // Long isolate-cache TTL: the measured seconds must not cross an expiry.
  const edgeWorker = miniflareWorker(
    "edge",
    edge,
    join(buildDir, "edge"),
    workerOfService,
    EDGE_PORT,
    {
      ISOLATE_CACHE_TTL_MS: "600000",
    },
  );
  const options = { host: "127.0.0.1", port: 0, log: new Log(LogLevel.ERROR) };
  if (!separate) {
    const mf = new Miniflare({ ...options, workers: [edgeWorker, benchTelemetry] });
    await mf.ready;
    return { mode, edge: mf, telemetry: mf, dispose: () => mf.dispose() };
  }
  const telemetryMf = new Miniflare({ ...options, workers: [benchTelemetry] });
  await telemetryMf.ready;
  const edgeMf = new Miniflare({
    ...options,
    workers: [
      {
        ...edgeWorker,
        serviceBindings: {
          TELEMETRY: { external: { address: `127.0.0.1:${TELEMETRY_PORT}`, http: {} } },
        },
      },
    ],
  });
  await edgeMf.ready;
  return {
    mode,
    edge: edgeMf,
    telemetry: telemetryMf,
    async dispose() {
      await edgeMf.dispose();
      await telemetryMf.dispose();
    },
  };
}

/** A read key that may send telemetry, and 10 published prompts for the edge to serve. */
async function seed(mf: Miniflare): Promise<string> {
  const kv = await mf.getKVNamespace("PROMPTS_KV", "edge");
  const key = generateKey("reader");
  await kv.put(
    readKeyRecordKey(await hashKey(key)),
    JSON.stringify(
      readKeyRecord({
        keyId: "bench-ingest",
        projectId: PROJECT,
        role: "reader",
        expiresAt: null,
        sendTelemetry: true,
        origins: [],
        keyOrigins: null,
        browser: false,
      }),
    ),
  );
  for (let i = 0; i < 10; i++) {
    const version = await published(`small/p-${i}`, 1, `Hello {{customer}} #${i}`);
    await kv.put(
      labelPointerKey(PROJECT, version.name, "production"),
      JSON.stringify(pointer(version)),
    );
  }
  return key;
}

/** The telemetry database's migrations, statement by statement, through the D1 binding. */
export async function migrate(db: Awaited<ReturnType<Miniflare["getD1Database"]>>) {
  const dir = join(repositoryRoot, "migrations", "telemetry");
  for (const file of readdirSync(dir)
    .filter((name) => name.endsWith(".sql"))
    .sort()) {
    const statements = readFileSync(join(dir, file), "utf8")
      .split("--> statement-breakpoint")
      .map((statement) => statement.trim())
      .filter(Boolean);
    await db.batch(statements.map((statement) => db.prepare(statement)));
  }
}

/**
 * A batch of 100 generations as a JSON template; `@n@` becomes the request's number, so every
 * event id is new (a resent id would be counted once, and the rollups would not grow).
 */
export function batchBody(run: string): string {
  const timestamp = new Date().toISOString();
  const events = Array.from({ length: EVENTS_PER_BATCH_MAX }, (_, i) => ({
    type: "generation",
    id: `${run}-@n@-${i}`,
    timestamp,
    prompt: { name: INGEST_PROMPT, version: 1, label: "production" },
    experiment: null,
    unit: `user-${i}`,
    provider: "openai",
    operation: "chat",
    model: "gpt-4o-mini",
    responseModel: "gpt-4o-mini-2024-07-18",
    stream: true,
    latencyMs: 800 + i,
    timeToFirstTokenMs: 210.5,
    inputTokens: 1200,
    outputTokens: 240,
    finishReason: "stop",
    error: null,
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
  }));
  return JSON.stringify({ events });
}

function load(options: {
  key: string;
  connections: number;
  seconds: number;
  paths: string[];
  body?: string;
  /** Paced: this many requests a second over all connections; flat out when absent. */
  requestsPerSecond?: number;
}): Promise<autocannon.Result> {
  let next = 0;
  const { body } = options;
  return autocannon({
    url: `http://127.0.0.1:${EDGE_PORT}`,
    connections: options.connections,
    duration: options.seconds,
    ...(options.requestsPerSecond ? { overallRate: options.requestsPerSecond } : {}),
    headers: {
      authorization: `Bearer ${options.key}`,
      ...(body ? { "content-type": "application/json" } : {}),
    },
    requests: [
      {
        method: body ? "POST" : "GET",
        setupRequest: (request: autocannon.Request) => {
          const n = next++;
          request.path = options.paths[n % options.paths.length] as string;
          if (body) request.body = body.replaceAll("@n@", String(n));
          return request;
        },
      },
    ],
  });
}

/**
 * One probe event a second, each under a prompt name of its own: its lag is the time from its
 * 200 to its row in the rollups (polled every 20 ms).
 */
function startProbes(key: string, rolledUp: (prompt: string) => Promise<number>) {
  const lags: number[] = [];
  const pending: Promise<void>[] = [];
  let n = 0;
  const probe = async (name: string) => {
    const timestamp = new Date().toISOString();
    const response = await fetch(`http://127.0.0.1:${EDGE_PORT}/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({
        events: [
          {
            type: "generation",
            id: `probe-${name}`,
            timestamp,
            prompt: { name, version: 1, label: "production" },
            model: "gpt-4o-mini",
            latencyMs: 1,
          },
        ],
      }),
    });
    if (response.status !== 200) throw new Error(`probe ${name}: ${response.status}`);
    await response.arrayBuffer();
    const accepted = Date.now();
    while ((await rolledUp(name)) < 1) {
      if (Date.now() - accepted > 120_000) throw new Error(`probe ${name} never rolled up`);
      await sleep(20);
    }
    lags.push(Date.now() - accepted);
  };
  const timer = setInterval(() => pending.push(probe(`bench/probe-${n++}`)), 1000);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(pending);
      return lags;
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(
    JSON.stringify(
      await benchIngest({ durationS: Number(process.env.BENCH_DURATION ?? 8) }),
      null,
      2,
    ),
  );
}
