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
 *   runs in isolates of its own. The load generators share the machine's cores with them.
 * - then the same two processes on SEPARATE CORES (Linux with taskset and two CPUs or more): the
 *   telemetry worker's workerd and the ingest load generator (a child process, bench/ingest-load.ts)
 *   pinned to one CPU, the edge's workerd and the edge's load generator to another, flat out and
 *   paced at 1,000 events/s. On Cloudflare the telemetry worker, its queue consumer and D1 do not
 *   run on the CPU serving a prompt hit, and neither do the apps sending events; sharing two cores
 *   among all of them here measures the machine, not what ingest does to the edge. What stays on
 *   the edge's CPU is what it does there: forwarding each ingest request to the telemetry worker.
 *
 * The INGEST_LIMITER (600 requests/min per key) is raised for the bench only (the binding is
 * still called on every request, so its cost is in the figures): one key at these rates would be
 * refused after its first 600 requests.
 *
 *   npx tsx bench/ingest.ts        # prints the figures as JSON
 */
import { type ChildProcess, execFileSync, fork } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
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
  workerd: "one process" | "two processes" | "two processes on separate cores";
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
  const measureIn = async (mode: Served["mode"], rates: (number | undefined)[]) => {
    const served = await serve(mode);
    try {
      return await measure(served, { durationS, edgeConnections, ingestConnections, rates });
    } finally {
      await served.dispose();
    }
  };
  const run = await measureIn("one process", [undefined, ...PACED_EVENTS_PER_SECOND]);
  // The same ports again, in a second pair of workerd processes.
  const apart = await measureIn("two processes", [undefined]);
  const cores = separateCores();
  const pinned = cores
    ? await measureIn("two processes on separate cores", [undefined, 1_000])
    : undefined;
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
    edgeUnderIngest: [...run.besides, ...apart.besides, ...(pinned?.besides ?? [])],
    errors: run.errors + apart.errors + (pinned?.errors ?? 0),
  };
}

/** What one serving measures: ingest alone (with drain and lag), then the edge beside ingest. */
async function measure(
  served: Served,
  options: {
    durationS: number;
    edgeConnections: number;
    ingestConnections: number;
    /** Ingest beside the edge: flat out (undefined) or paced at events/s. */
    rates: (number | undefined)[];
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
    const result = await (served.loadIngest ?? load)({
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
  for (const rate of options.rates) {
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
  /** Runs the ingest load elsewhere (a pinned child process); in this process when absent. */
  loadIngest?: (options: IngestLoad) => Promise<LoadFigures>;
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
  const separate = mode !== "one process";
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
  // Without the static-assets router in front (the /docs files): Miniflare's local emulation of
  // it cuts a hit's throughput about 5× (1,500–1,900 vs 9,300–9,800 req/s for the same bundle),
  // so with it this figure measured the emulator. On Cloudflare assets are routed before the
  // worker runs, and the edge scenarios of bench/run.ts leave it out too.
  delete edgeWorker.assets;
  const options = { host: "127.0.0.1", port: 0, log: new Log(LogLevel.ERROR) };
  if (!separate) {
    const mf = new Miniflare({ ...options, workers: [edgeWorker, benchTelemetry] });
    await mf.ready;
    return { mode, edge: mf, telemetry: mf, dispose: () => mf.dispose() };
  }
  const workerdBefore = workerdChildren();
  const telemetryMf = new Miniflare({ ...options, workers: [benchTelemetry] });
  await telemetryMf.ready;
  const telemetryWorkerd = workerdChildren().filter((pid) => !workerdBefore.includes(pid));
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
  const disposeBoth = async () => {
    await edgeMf.dispose();
    await telemetryMf.dispose();
  };
  const cores = mode === "two processes on separate cores" ? separateCores() : undefined;
  if (!cores) return { mode, edge: edgeMf, telemetry: telemetryMf, dispose: disposeBoth };
  const edgeWorkerd = workerdChildren().filter(
    (pid) => !workerdBefore.includes(pid) && !telemetryWorkerd.includes(pid),
  );
  if (telemetryWorkerd.length !== 1 || edgeWorkerd.length !== 1) {
    await disposeBoth();
    throw new Error(`expected one workerd per Miniflare: ${telemetryWorkerd} and ${edgeWorkerd}`);
  }
  const generator = await startIngestGenerator();
  for (const pid of [...telemetryWorkerd, generator.pid]) pin(pid, cores.ingest);
  for (const pid of [...edgeWorkerd, process.pid]) pin(pid, cores.edge);
  return {
    mode,
    edge: edgeMf,
    telemetry: telemetryMf,
    loadIngest: generator.load,
    async dispose() {
      pin(process.pid, cores.all);
      generator.stop();
      await disposeBoth();
    },
  };
}

/**
 * The CPUs this process may run on (as taskset lists them), split for the separate-cores
 * serving: the first half for the edge and its load generator, the rest for the telemetry
 * worker and the ingest load generator. Undefined where that cannot be done (not Linux, no
 * taskset, a single CPU): the bench then reports the shared-core figures only.
 */
function separateCores(): { edge: string; ingest: string; all: string } | undefined {
  if (process.platform !== "linux") return undefined;
  let all: string;
  try {
    const answer = execFileSync("taskset", ["-c", "-p", String(process.pid)], { encoding: "utf8" });
    all = answer.slice(answer.lastIndexOf(":") + 1).trim();
  } catch {
    return undefined;
  }
  const cpus = all.split(",").flatMap((range) => {
    const [first, last = first] = range.split("-").map(Number) as [number, number?];
    return Array.from({ length: (last as number) - first + 1 }, (_, i) => first + i);
  });
  if (cpus.length < 2) return undefined;
  const half = Math.ceil(cpus.length / 2);
  return { edge: cpus.slice(0, half).join(","), ingest: cpus.slice(half).join(","), all };
}

/** Pins a process, all its threads, to `cpus` (a taskset list); its later children inherit it. */
function pin(pid: number, cpus: string) {
  execFileSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: "ignore" });
}

/** The workerd processes this process started (Miniflare spawns one per instance). */
function workerdChildren(): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      } catch {
        return [];
      }
      // "pid (comm) state ppid …": comm may hold spaces, so split after its last ")".
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      return comm === "workerd" && ppid === process.pid ? [Number(entry)] : [];
    });
}

/** bench/ingest-load.ts as a child process: `load` runs there, one IPC message per run. */
async function startIngestGenerator() {
  const child: ChildProcess = fork(
    fileURLToPath(new URL("./ingest-load.ts", import.meta.url)),
    [],
    { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
  const answers = new Map<number, (figures: LoadFigures) => void>();
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`ingest load generator exited (${code})`)));
    child.once("message", () => resolve());
  });
  child.on("message", (message: { id: number; figures: LoadFigures }) => {
    answers.get(message.id)?.(message.figures);
    answers.delete(message.id);
  });
  let next = 0;
  return {
    pid: child.pid as number,
    load: (options: IngestLoad) =>
      new Promise<LoadFigures>((resolve) => {
        const id = next++;
        answers.set(id, resolve);
        child.send({ id, options });
      }),
    stop: () => child.disconnect(),
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

export interface IngestLoad {
  key: string;
  connections: number;
  seconds: number;
  paths: string[];
  body?: string;
  /** Paced: this many requests a second over all connections; flat out when absent. */
  requestsPerSecond?: number;
}

/** What the bench reads of a load's result (all a child process sends back). */
export interface LoadFigures {
  requests: { average: number };
  latency: { p50: number; p99: number };
  "2xx": number;
  errors: number;
  timeouts: number;
  non2xx: number;
}

export function load(options: IngestLoad): Promise<autocannon.Result> {
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
