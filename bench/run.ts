/**
 * `npm run bench`: serves the edge worker, three floors (a framework-less worker, the same sending
 * an isolate hit's body and headers, and an empty Hono worker) and a naive D1 worker with
 * Miniflare's API directly (each on its own port; `wrangler dev`'s proxy would dominate), loads them with autocannon for throughput and times every request
 * of a keep-alive client with a high-resolution clock for latency (bench/latency.ts), in one run;
 * prints a markdown table and writes bench/results/latest.json.
 *
 * Experiments: a label running a two-variant experiment resolved with `?unit=` over many distinct
 * units (with exposures dropped, and reported to a stub telemetry service), what one assignment
 * costs in Node and in workerd (bench/assign.ts), and the exposure counts over a million units
 * (bench/exposures.ts).
 *
 * The SDK: a cached `getPrompt` against `@langfuse/client`'s, alternated in one run
 * (bench/sdk-get-prompt.ts).
 *
 * Then telemetry: ingest throughput, the consumer's drain rate and lag, and edge hits beside a
 * running ingest (bench/ingest.ts), and what observing an OpenAI client costs the app and the
 * SDK's buffer bound (bench/observe.ts).
 *
 * Compare ratios to the floor, not absolute numbers: load generator and workerd share the CPU.
 *
 * `BENCH_ONLY=edge npm run bench`: only the goal rows of the edge's hot path (the floors, the
 * isolate hit, the running experiment with and without exposures) and their alternated goal
 * ratios; nothing else is seeded or measured, and bench/results/latest.json is not written. For
 * repeating the comparisons that matter while working on the hot path (a full run takes minutes).
 * `BENCH_ONLY=langfuse`: the same for the Langfuse-path read (`GET /api/public/v2/prompts/{name}`
 * with a Basic key pair) against the native isolate hit, alternated.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { generateKey, hashKey } from "@cuecard/core/keys";
import {
  labelPointerKey,
  type PublishedVersion,
  readKeyRecord,
  readKeyRecordKey,
  versionKey,
  versionRecord,
} from "@cuecard/core/kv-records";
import autocannon from "autocannon";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { type AlternateTarget, alternate } from "./alternate";
import { benchAssign } from "./assign";
import { benchExposures } from "./exposures";
import { experimentPointer, pointer, published, unitIds } from "./fixtures";
import { benchIngest, type EdgeBesideIngest, type IngestBench } from "./ingest";
import { collectLatency, type LatencyFigures, measureLatency, summarizeLatency } from "./latency";
import { benchObservedClient, type ObservedClientBench } from "./observe";
import { benchSdkGetPrompt } from "./sdk-get-prompt";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const buildDir = join(root, "dist", "bench");
const DURATION_S = Number(process.env.BENCH_DURATION ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
/**
 * Keep-alive loops of the latency client: requests overlap in workerd, but the client and workerd
 * do not saturate the 2 cores (at 4 loops queueing in the client already doubles the p50).
 */
const LATENCY_LOOPS = Number(process.env.BENCH_LATENCY_LOOPS ?? 2);
const LATENCY_S = Math.max(1, Math.ceil(DURATION_S / 2));
const PROJECT = "bench";
const LARGE = 10_000;
const VERSIONS = 1_000;
/** Distinct unit ids the experiment scenarios cycle through: more than an isolate remembers as
 * already reported (10,000), so every request is a new exposure. */
const UNITS = 100_000;
/**
 * Only some goal rows (see the header): `edge`, the edge's hot path; `langfuse`, the Langfuse
 * read's isolate hit beside the native one. Unset: everything.
 */
const ONLY_SCENARIOS: ReadonlySet<string> | undefined = {
  edge: new Set([
    "bare",
    "bare-sized",
    "floor",
    "edge-hit-10",
    "edge-exp-10",
    "edge-exp-10-exposures",
  ]),
  langfuse: new Set(["edge-hit-10", "edge-langfuse-hit-10"]),
}[process.env.BENCH_ONLY ?? ""];
const ONLY_EDGE = ONLY_SCENARIOS !== undefined;
const PORTS = {
  bare: 8900,
  floor: 8901,
  edgeCached: 8902,
  edgeKv: 8903,
  d1: 8904,
  edgeExposures: 8905,
  bareSized: 8906,
};

async function bundle() {
  execFileSync(
    "npx",
    [
      "wrangler",
      "deploy",
      "--dry-run",
      "--outdir",
      join(buildDir, "edge"),
      "-c",
      join(root, "workers/edge/wrangler.toml"),
    ],
    { cwd: root, stdio: "ignore", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
  );
  for (const name of ["bare", "bare-sized", "floor", "d1-naive"]) {
    await build({
      entryPoints: [join(root, "bench/workers", `${name}.ts`)],
      bundle: true,
      format: "esm",
      platform: "neutral",
      mainFields: ["module", "main"],
      outfile: join(buildDir, `${name}.js`),
      logLevel: "error",
    });
  }
  const edge = readFileSync(join(buildDir, "edge/index.js"));
  return { edgeBytes: edge.byteLength, edgeGzipBytes: gzipSync(edge).byteLength };
}

async function inChunks<T>(items: T[], size: number, run: (item: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}

async function seed(mf: Miniflare) {
  const kv = await mf.getKVNamespace("PROMPTS_KV", "edge-cached");
  const db = await mf.getD1Database("DB", "d1-naive");
  const key = generateKey("reader");
  await kv.put(
    readKeyRecordKey(await hashKey(key)),
    JSON.stringify(
      readKeyRecord({
        keyId: "bench",
        projectId: PROJECT,
        role: "reader",
        expiresAt: null,
        sendTelemetry: false,
        origins: [],
        keyOrigins: null,
        browser: false,
      }),
    ),
  );
  const text = "Hello {{customer}}, thanks for contacting support about {{topic}}.";
  const entries: [string, string][] = [];
  const small: PublishedVersion[] = [];
  for (let i = 0; i < 10; i++) small.push(await published(`small/p-${i}`, 1, text));
  for (const version of small) {
    entries.push([
      labelPointerKey(PROJECT, version.name, "production"),
      JSON.stringify(pointer(version)),
    ]);
  }
  for (let i = 0; i < (ONLY_EDGE ? 0 : LARGE); i++) {
    const version = await published(`large/p-${i}`, 1, `${text} #${i}`);
    entries.push([
      labelPointerKey(PROJECT, version.name, "production"),
      JSON.stringify(pointer(version)),
    ]);
  }
  for (let v = 1; v <= (ONLY_EDGE ? 0 : VERSIONS); v++) {
    const version = await published("many-versions", v, `${text} v${v}`);
    entries.push([versionKey(PROJECT, "many-versions", v), JSON.stringify(versionRecord(version))]);
  }
  const chat = await published("chat", 1, [
    {
      role: "system",
      content: "You are the support assistant of {{company}}.{{#vip}} Be extra kind.{{/vip}}",
    },
    { role: "user", content: "Customer {{customer}} asks: {{question}}" },
  ]);
  entries.push([labelPointerKey(PROJECT, "chat", "production"), JSON.stringify(pointer(chat))]);
  for (let i = 0; i < 10; i++) {
    const control = await published(`exp/p-${i}`, 1, text);
    const treatment = await published(`exp/p-${i}`, 2, `Hi {{customer}}! About {{topic}}: #${i}`);
    entries.push([
      labelPointerKey(PROJECT, control.name, "production"),
      JSON.stringify(experimentPointer(control, treatment)),
    ]);
  }
  await inChunks(entries, 200, ([k, v]) => kv.put(k, v));

  await db.exec(
    "CREATE TABLE published (name TEXT NOT NULL, label TEXT NOT NULL, version INTEGER NOT NULL, hash TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (name, label))",
  );
  await db.batch(
    small.map((version) =>
      db
        .prepare("INSERT INTO published VALUES (?1, 'production', 1, ?2, ?3)")
        .bind(version.name, version.hash, JSON.stringify({ ...version, label: "production" })),
    ),
  );
  return key;
}

interface Scenario {
  id: string;
  title: string;
  port: number;
  paths: string[];
  method?: "GET" | "POST";
  body?: string;
  /** Requests that must succeed before measuring (e.g. to fill the isolate cache). */
  warm?: string[];
  /** The `Authorization` header for the read key; default `Bearer <key>`. */
  authorization?: (key: string) => string;
}

const authorizationOf = (scenario: Scenario, key: string) =>
  scenario.authorization?.(key) ?? `Bearer ${key}`;

interface Figures {
  id: string;
  title: string;
  /** autocannon, CONNECTIONS connections. */
  requestsPerSecond: number;
  errors: number;
  non2xx: number;
  total: number;
  /** The high-resolution client, LATENCY_LOOPS loops (bench/latency.ts); its failed and 4xx/5xx
   * requests are counted in `errors`. */
  latency: LatencyFigures;
}

function load(scenario: Scenario, key: string, durationS: number): Promise<autocannon.Result> {
  let next = 0;
  return autocannon({
    url: `http://127.0.0.1:${scenario.port}`,
    connections: CONNECTIONS,
    duration: durationS,
    headers: {
      authorization: authorizationOf(scenario, key),
      ...(scenario.body ? { "content-type": "application/json" } : {}),
    },
    requests: [
      {
        method: scenario.method ?? "GET",
        body: scenario.body,
        setupRequest: (request: autocannon.Request) => {
          request.path = scenario.paths[next++ % scenario.paths.length] as string;
          return request;
        },
      },
    ],
  });
}

async function warm(port: number, authorization: string, paths: string[]) {
  await inChunks(paths, 20, async (path) => {
    const get = () => fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization } });
    // A kept-alive socket the server closed as it was reused fails once ("other side closed"):
    // the warm-up is not measured, so it simply asks again.
    const response = await get().catch(get);
    if (!response.ok) throw new Error(`warm-up ${path}: ${response.status}`);
    await response.arrayBuffer();
  });
}

async function run(scenario: Scenario, key: string): Promise<Figures> {
  // Again right before: a later scenario's fills may have evicted this one's entries.
  if (scenario.warm) {
    await warm(scenario.port, authorizationOf(scenario, key), scenario.warm);
  }
  await load(scenario, key, 1); // connections and the isolate cache warm again, not measured
  const result = await load(scenario, key, DURATION_S);
  const latency = await measureLatency(
    {
      port: scenario.port,
      paths: scenario.paths,
      method: scenario.method,
      body: scenario.body,
      headers: { authorization: authorizationOf(scenario, key) },
    },
    { loops: LATENCY_LOOPS, seconds: LATENCY_S },
  );
  const figures: Figures = {
    id: scenario.id,
    title: scenario.title,
    requestsPerSecond: Math.round(result.requests.average),
    errors: result.errors + result.timeouts + latency.errors,
    non2xx: result.non2xx,
    total: result.requests.total,
    latency,
  };
  console.error(
    `  ${scenario.id}: ${figures.requestsPerSecond} req/s, p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms`,
  );
  return figures;
}

/**
 * The goal ratios. Throughput: bench/alternate.ts, the same connections loading candidate and
 * baseline by turns in 100 ms windows, ABBA, for PAIR_ROUNDS rounds; the figure is the median of
 * the rounds' ratios (this machine's speed swings from one second to the next by more than the
 * effects measured, see there). Latency: the high-resolution client on each by turns, ABBA, in
 * 1 s slices, the samples pooled per side.
 */
interface PairedRatio {
  candidate: string;
  baseline: string;
  rounds: number;
  windowMs: number;
  requestsPerSecond: {
    candidate: number;
    baseline: number;
    /** The median of the rounds' ratios. */
    ratio: number;
    /** The rounds' ratios' 25th and 75th percentiles. */
    quartiles: [number, number];
  };
  latency: {
    candidate: LatencyFigures;
    baseline: LatencyFigures;
    p50Ratio: number;
    p99Ratio: number;
  };
}

const PAIR_ROUNDS = Number(process.env.BENCH_PAIR_ROUNDS ?? 100);
const LATENCY_ROUNDS = 4;

async function paired(candidate: Scenario, baseline: Scenario, key: string): Promise<PairedRatio> {
  const target = (scenario: Scenario): AlternateTarget => ({
    port: scenario.port,
    paths: scenario.paths,
    headers: { authorization: authorizationOf(scenario, key) },
  });
  const throughput = await alternate(target(candidate), target(baseline), {
    connections: CONNECTIONS,
    windowMs: 100,
    rounds: PAIR_ROUNDS,
  });
  const sides = new Map(
    [candidate, baseline].map((scenario) => [scenario, { samples: [] as number[], errors: 0 }]),
  );
  for (let round = 0; round < LATENCY_ROUNDS; round++) {
    const order = round % 2 === 0 ? [candidate, baseline] : [baseline, candidate];
    for (const scenario of order) {
      const side = sides.get(scenario) as NonNullable<ReturnType<typeof sides.get>>;
      const latency = await collectLatency(
        {
          port: scenario.port,
          paths: scenario.paths,
          method: scenario.method,
          body: scenario.body,
          headers: { authorization: authorizationOf(scenario, key) },
        },
        { loops: LATENCY_LOOPS, seconds: 1 },
      );
      side.samples.push(...latency.samples);
      side.errors += latency.errors;
    }
  }
  const latencyOf = (scenario: Scenario) => {
    const side = sides.get(scenario) as NonNullable<ReturnType<typeof sides.get>>;
    return summarizeLatency(side.samples, LATENCY_LOOPS, side.errors);
  };
  const c = latencyOf(candidate);
  const b = latencyOf(baseline);
  const ratio = (x: number, y: number) => Math.round((x / y) * 1000) / 1000;
  const pair: PairedRatio = {
    candidate: candidate.id,
    baseline: baseline.id,
    rounds: throughput.rounds,
    windowMs: throughput.windowMs,
    requestsPerSecond: {
      candidate: throughput.candidatePerSecond,
      baseline: throughput.baselinePerSecond,
      ratio: throughput.ratio,
      quartiles: throughput.quartiles,
    },
    latency: {
      candidate: c,
      baseline: b,
      p50Ratio: ratio(c.p50Ms, b.p50Ms),
      p99Ratio: ratio(c.p99Ms, b.p99Ms),
    },
  };
  console.error(
    `  ${candidate.id} ÷ ${baseline.id}: req/s ${throughput.ratio}× (quartiles ${throughput.quartiles.join("–")}; ${throughput.candidatePerSecond} vs ${throughput.baselinePerSecond}), p99 ${pair.latency.p99Ratio}× (errors ${throughput.errors + c.errors}/${b.errors})`,
  );
  return pair;
}

/** [candidate, baseline]: the goals of the performance section. */
const PAIRS = [
  ["edge-hit-10", "bare"],
  ["edge-hit-10", "bare-sized"],
  ["floor", "bare"],
  ["edge-exp-10", "edge-hit-10"],
  ["edge-exp-10-exposures", "edge-hit-10"],
  ["edge-langfuse-hit-10", "edge-hit-10"],
] as const;

async function main() {
  const started = Date.now();
  console.error("bundling…");
  const size = await bundle();
  const edgeScript = join(buildDir, "edge/index.js");
  const edgeWorker = (
    name: string,
    ttl: string,
    port: number,
    serviceBindings?: Record<string, string>,
  ) => ({
    name,
    modules: true,
    scriptPath: edgeScript,
    compatibilityDate: "2026-07-01",
    kvNamespaces: { PROMPTS_KV: "bench-prompts" },
    bindings: { ISOLATE_CACHE_TTL_MS: ttl },
    ...(serviceBindings ? { serviceBindings } : {}),
    unsafeDirectSockets: [{ host: "127.0.0.1", port }],
  });
  const mf = new Miniflare({
    port: 0,
    workers: [
      {
        // Also the stub telemetry service of edge-exposures: it answers every POST with 200.
        name: "bare",
        modules: true,
        scriptPath: join(buildDir, "bare.js"),
        compatibilityDate: "2026-07-01",
        unsafeDirectSockets: [{ host: "127.0.0.1", port: PORTS.bare }],
      },
      {
        name: "bare-sized",
        modules: true,
        scriptPath: join(buildDir, "bare-sized.js"),
        compatibilityDate: "2026-07-01",
        unsafeDirectSockets: [{ host: "127.0.0.1", port: PORTS.bareSized }],
      },
      {
        name: "floor",
        modules: true,
        scriptPath: join(buildDir, "floor.js"),
        compatibilityDate: "2026-07-01",
        unsafeDirectSockets: [{ host: "127.0.0.1", port: PORTS.floor }],
      },
      // Long TTL: the measured minutes must not cross an expiry.
      edgeWorker("edge-cached", "600000", PORTS.edgeCached),
      edgeWorker("edge-kv", "0", PORTS.edgeKv),
      // With a TELEMETRY binding the edge reports exposures (batched across requests).
      edgeWorker("edge-exposures", "600000", PORTS.edgeExposures, { TELEMETRY: "bare" }),
      {
        name: "d1-naive",
        modules: true,
        scriptPath: join(buildDir, "d1-naive.js"),
        compatibilityDate: "2026-07-01",
        d1Databases: { DB: "bench-db" },
        unsafeDirectSockets: [{ host: "127.0.0.1", port: PORTS.d1 }],
      },
    ],
  });
  await mf.ready;
  console.error(
    ONLY_EDGE
      ? "seeding 10 prompts and 10 running experiments…"
      : "seeding 10 + 10,000 prompts, 1,000 versions and 10 running experiments…",
  );
  const key = await seed(mf);

  const small = Array.from({ length: 10 }, (_, i) => `/v1/prompts/small%2Fp-${i}`);
  const large = Array.from({ length: LARGE }, (_, i) => `/v1/prompts/large%2Fp-${i}`);
  const versions = Array.from(
    { length: VERSIONS },
    (_, i) => `/v1/prompts/many-versions?version=${i + 1}`,
  );
  const largeBatches = Array.from(
    { length: LARGE / 100 },
    (_, b) =>
      `/v1/prompts?names=${Array.from({ length: 100 }, (_, i) => `large/p-${b * 100 + i}`).join(",")}`,
  );
  const units = unitIds(UNITS);
  // Prompt i % 10 for unit i: every prompt sees every unit's share, and each request a new unit.
  const experimentPaths = units.map(
    (unit, i) => `/v1/prompts/exp%2Fp-${i % 10}?unit=${encodeURIComponent(unit)}`,
  );
  const experimentWarm = Array.from({ length: 10 }, (_, i) => `/v1/prompts/exp%2Fp-${i}`);
  const allScenarios: Scenario[] = [
    {
      id: "bare",
      title: "floor: framework-less worker, fixed body",
      port: PORTS.bare,
      paths: ["/"],
    },
    {
      id: "bare-sized",
      title: "floor: framework-less worker, an isolate hit's body and headers",
      port: PORTS.bareSized,
      paths: ["/"],
    },
    { id: "floor", title: "floor: empty Hono worker, fixed JSON", port: PORTS.floor, paths: ["/"] },
    {
      id: "edge-hit-10",
      title: "edge label resolve, isolate hit (10 prompts)",
      port: PORTS.edgeCached,
      paths: small,
    },
    {
      id: "edge-langfuse-hit-10",
      title: "edge Langfuse-path GET /api/public/v2/prompts/{name}, isolate hit (10 prompts)",
      port: PORTS.edgeCached,
      paths: small.map((path) => path.replace("/v1/prompts/", "/api/public/v2/prompts/")),
      // The bench key's id is "bench": its Langfuse pair is pk-lf-bench : the key.
      authorization: (key) => `Basic ${btoa(`pk-lf-bench:${key}`)}`,
    },
    {
      id: "edge-exp-10",
      title: `edge label resolve running a 2-variant experiment, ?unit= (10 prompts × ${UNITS.toLocaleString("en")} units, isolate hit)`,
      port: PORTS.edgeCached,
      paths: experimentPaths,
      warm: experimentWarm,
    },
    {
      id: "edge-exp-10-exposures",
      title: "… and exposures reported to a stub telemetry service",
      port: PORTS.edgeExposures,
      paths: experimentPaths,
      warm: experimentWarm,
    },
    {
      id: "edge-kv-10",
      title: "edge label resolve, isolate cache off: KV per request (10 prompts)",
      port: PORTS.edgeKv,
      paths: small,
    },
    {
      id: "d1-naive-10",
      title: "naive: D1 query per request (10 prompts)",
      port: PORTS.d1,
      paths: small,
    },
    {
      id: "render-chat",
      title: "render chat prompt with variables (isolate hit)",
      port: PORTS.edgeCached,
      paths: ["/v1/prompts/chat/render"],
      method: "POST",
      body: JSON.stringify({
        variables: {
          company: "Acme",
          vip: true,
          customer: "Ada",
          question: "Where is my order #123?",
        },
      }),
    },
    {
      id: "edge-hit-10k",
      title: "edge label resolve, isolate hit (10,000 prompts)",
      port: PORTS.edgeCached,
      paths: large,
      warm: largeBatches,
    },
    {
      id: "edge-kv-10k",
      title: "edge label resolve, KV per request (10,000 prompts)",
      port: PORTS.edgeKv,
      paths: large,
    },
    {
      id: "edge-hit-1000v",
      title: "edge pinned ?version=, isolate hit (1 prompt × 1,000 versions)",
      port: PORTS.edgeCached,
      paths: versions,
      warm: versions,
    },
    {
      id: "edge-kv-1000v",
      title: "edge pinned ?version=, KV per request (1 prompt × 1,000 versions)",
      port: PORTS.edgeKv,
      paths: versions,
    },
  ];
  const scenarios = ONLY_SCENARIOS
    ? allScenarios.filter((scenario) => ONLY_SCENARIOS.has(scenario.id))
    : allScenarios;

  console.error(
    `load: ${CONNECTIONS} connections × ${DURATION_S} s per scenario, then latency: ${LATENCY_LOOPS} loops × ${LATENCY_S} s`,
  );
  const results: Figures[] = [];
  const pairs: PairedRatio[] = [];
  try {
    // Every worker and path warmed before any is measured: otherwise the first row to hit an
    // isolate pays its JIT warm-up and later rows on the same worker look faster.
    for (const scenario of scenarios) {
      if (scenario.warm) {
        await warm(scenario.port, authorizationOf(scenario, key), scenario.warm);
      }
      await load(scenario, key, 1);
    }
    for (const scenario of scenarios) results.push(await run(scenario, key));
    console.error(`goal ratios, by turns: ${PAIR_ROUNDS} rounds of 100 ms windows per pair`);
    const scenarioOf = (id: string) => scenarios.find((scenario) => scenario.id === id) as Scenario;
    for (const [candidate, baseline] of PAIRS) {
      if (ONLY_SCENARIOS && !(ONLY_SCENARIOS.has(candidate) && ONLY_SCENARIOS.has(baseline))) {
        continue;
      }
      pairs.push(await paired(scenarioOf(candidate), scenarioOf(baseline), key));
    }
  } finally {
    await mf.dispose();
  }
  if (ONLY_EDGE) {
    printEdgeOnly(results, pairs);
    return;
  }
  console.error("experiment assignment per call, in Node and in workerd…");
  const assignment = await benchAssign();
  console.error("SDK: cached getPrompt against @langfuse/client's…");
  const sdkGetPrompt = await benchSdkGetPrompt();
  console.error("exposure counts over many units in the telemetry D1…");
  const exposures = await benchExposures();
  console.error(
    "telemetry ingest: edge + telemetry worker in one Miniflare, in two, then on separate cores…",
  );
  const ingest = await benchIngest({ durationS: DURATION_S, edgeConnections: CONNECTIONS });
  console.error("observed OpenAI client against the model stub (child process)…");
  const observe = await benchObservedClient();

  const floor = results[0] as Figures;
  const lines = [
    `| scenario | req/s | p50 ms | p99 ms | req/s ÷ bare floor | p99 ÷ bare floor | errors/non-2xx |`,
    `|---|---:|---:|---:|---:|---:|---:|`,
    ...results.map(
      (r) =>
        `| ${r.title} | ${r.requestsPerSecond} | ${r.latency.p50Ms.toFixed(3)} | ${r.latency.p99Ms.toFixed(3)} | ${(r.requestsPerSecond / floor.requestsPerSecond).toFixed(2)} | ${(r.latency.p99Ms / floor.latency.p99Ms).toFixed(2)} | ${r.errors}/${r.non2xx} |`,
    ),
  ];
  const byId = Object.fromEntries(results.map((r) => [r.id, r]));
  const rps = (id: string) => (byId[id] as Figures).requestsPerSecond;
  const pairLine = (candidate: string, baseline: string) => {
    const pair = pairs.find(
      (pair) => pair.candidate === candidate && pair.baseline === baseline,
    ) as PairedRatio;
    return `req/s ${pair.requestsPerSecond.ratio.toFixed(2)}× (rounds' quartiles ${pair.requestsPerSecond.quartiles.join("–")}; ${pair.requestsPerSecond.candidate} vs ${pair.requestsPerSecond.baseline}), p99 ${pair.latency.p99Ratio.toFixed(2)}× (${pair.latency.candidate.p99Ms} vs ${pair.latency.baseline.p99Ms} ms)`;
  };
  const summary = [
    `goal ratios, candidate and baseline by turns (req/s: ${PAIR_ROUNDS} ABBA rounds of 100 ms windows, the median of the rounds' ratios; latency: ${LATENCY_ROUNDS} rounds of 1 s):`,
    `- isolate hit ÷ framework-less floor: ${pairLine("edge-hit-10", "bare")} (goal ≥ 0.9× and ≤ 1.2×)`,
    `- isolate hit ÷ the same floor sending a hit's body and headers: ${pairLine("edge-hit-10", "bare-sized")}`,
    `- empty Hono worker ÷ framework-less floor: ${pairLine("floor", "bare")}`,
    `- running experiment with ?unit= ÷ the hit without one: ${pairLine("edge-exp-10", "edge-hit-10")} (goal ≥ 0.95×)`,
    `- … reporting exposures ÷ the hit without one: ${pairLine("edge-exp-10-exposures", "edge-hit-10")}`,
    `- Langfuse-path isolate hit ÷ the native hit: ${pairLine("edge-langfuse-hit-10", "edge-hit-10")} (goal ≥ 0.9×)`,
    `assignment per call: SDK (core assign() in Node) ${assignment.sdkAssignNs} ns, edge (in workerd) ${assignment.edgeAssignNs} ns, the edge's whole experiment step (assign + body + ETag) ${assignment.edgeAssignVersionNs} ns`,
    `SDK cached getPrompt, awaited: ${sdkGetPrompt.cuecardNs} ns vs @langfuse/client ${sdkGetPrompt.langfuseNs} ns = ${sdkGetPrompt.ratio.toFixed(2)}× (goal ≤ 1.0×; alternated, fastest of ${sdkGetPrompt.rounds} rounds each)`,
    `exposure counts over ${exposures.units.toLocaleString("en")} units of one experiment (+ ${exposures.otherUnits.toLocaleString("en")} of another): ${exposures.query.medianMs} ms (median of ${exposures.query.runs}, max ${exposures.query.maxMs} ms, first ${exposures.query.firstMs} ms); inserting them ${exposures.insertSeconds} s; database ${(exposures.databaseBytes / 2 ** 20).toFixed(0)} MiB (${exposures.bytesPerUnit} B per unit)`,
    `edge bundle: ${(size.edgeBytes / 1024).toFixed(1)} KiB, ${(size.edgeGzipBytes / 1024).toFixed(1)} KiB gzipped (budget 40 KiB)`,
    `10,000 vs 10 prompts: isolate hit ${(rps("edge-hit-10k") / rps("edge-hit-10")).toFixed(2)}×, KV ${(rps("edge-kv-10k") / rps("edge-kv-10")).toFixed(2)}×`,
    `KV path vs naive D1: ${(rps("edge-kv-10") / rps("d1-naive-10")).toFixed(2)}×`,
  ];
  const telemetry = [...telemetryTable(ingest, observe)];
  const footer = [
    `throughput: autocannon, ${CONNECTIONS} connections, ${DURATION_S} s per scenario; latency: ${LATENCY_LOOPS} keep-alive loops timed with process.hrtime, ${LATENCY_S} s per scenario; total ${Math.round((Date.now() - started) / 1000)} s`,
  ];
  console.log([...lines, "", ...summary, "", ...telemetry, "", ...footer].join("\n"));

  mkdirSync(join(root, "bench/results"), { recursive: true });
  writeFileSync(
    join(root, "bench/results/latest.json"),
    `${JSON.stringify(
      {
        at: new Date().toISOString(),
        connections: CONNECTIONS,
        durationSeconds: DURATION_S,
        latencyLoops: LATENCY_LOOPS,
        latencySeconds: LATENCY_S,
        node: process.version,
        bundle: size,
        results,
        goalRatios: pairs,
        experiments: { units: UNITS, assignment, exposures },
        sdk: { getPrompt: sdkGetPrompt },
        telemetry: { ingest, observe },
      },
      null,
      2,
    )}\n`,
  );
}

/** The BENCH_ONLY=edge report: its rows and goal ratios, nothing written. */
function printEdgeOnly(results: Figures[], pairs: PairedRatio[]) {
  const floor = results[0] as Figures;
  const lines = results.map(
    (r) =>
      `| ${r.id} | ${r.requestsPerSecond} req/s | p50 ${r.latency.p50Ms.toFixed(3)} ms | p99 ${r.latency.p99Ms.toFixed(3)} ms | ${(r.requestsPerSecond / floor.requestsPerSecond).toFixed(2)}× ${floor.id} req/s | ${(r.latency.p99Ms / floor.latency.p99Ms).toFixed(2)}× ${floor.id} p99 | errors ${r.errors}/${r.non2xx} |`,
  );
  const ratios = pairs.map(
    (pair) =>
      `- ${pair.candidate} ÷ ${pair.baseline}: req/s ${pair.requestsPerSecond.ratio.toFixed(2)}× (quartiles ${pair.requestsPerSecond.quartiles.join("–")}; ${pair.requestsPerSecond.candidate} vs ${pair.requestsPerSecond.baseline}), p99 ${pair.latency.p99Ratio.toFixed(2)}× (${pair.latency.candidate.p99Ms} vs ${pair.latency.baseline.p99Ms} ms)`,
  );
  console.log(
    [
      ...lines,
      "",
      `goal ratios, by turns (${PAIR_ROUNDS} rounds of 100 ms windows):`,
      ...ratios,
    ].join("\n"),
  );
}

const servingOf: Record<EdgeBesideIngest["workerd"], string> = {
  "one process": "same workerd",
  "two processes": "telemetry in its own workerd",
  "two processes on separate cores":
    "telemetry and the ingest load in their own workerd and process, on a CPU apart from the edge and its load",
};

function* telemetryTable(ingest: IngestBench, observe: ObservedClientBench) {
  const us = (figures: ObservedClientBench["streaming"]) =>
    `${figures.plainUsPerCall} → ${figures.observedUsPerCall} µs (${((figures.ratio - 1) * 100).toFixed(1)} %)`;
  yield "| telemetry | figure | goal |";
  yield "|---|---:|---:|";
  yield `| ingest accepted (edge → telemetry worker, batches of ${ingest.batchSize}, ${ingest.ingestConnections} connections) | ${ingest.ingest.eventsPerSecond} events/s (${ingest.ingest.requestsPerSecond} req/s, p99 ${ingest.ingest.p99Ms} ms) | |`;
  yield `| drained into rollups (queue consumer) | ${ingest.drain.eventsPerSecond} events/s | |`;
  yield `| consumer lag, accepted → in the rollups (${ingest.drain.lagMs.probes} probes during load) | p50 ${ingest.drain.lagMs.p50} ms, max ${ingest.drain.lagMs.max} ms; catch-up after load ${ingest.drain.catchUpMs} ms | |`;
  for (const edge of ingest.edgeUnderIngest) {
    yield `| edge isolate hits beside ingest ${edge.ingest} (${servingOf[edge.workerd]}) | ${edge.withIngestRequestsPerSecond} vs ${edge.aloneRequestsPerSecond} req/s alone = ${edge.ratio.toFixed(2)}× (ingest meanwhile ${edge.ingestEventsPerSecondMeanwhile} events/s) | ≥ 0.95× |`;
  }
  yield `| observed OpenAI call, not streamed (median) | ${us(observe.nonStreaming)} | ≤ 2 % |`;
  yield `| observed OpenAI call, streamed, read to the end (median) | ${us(observe.streaming)} | ≤ 2 % |`;
  yield `| SDK buffer full (${observe.buffer.events} events, default) | ${Math.round(observe.buffer.bytes / 1024)} KiB (${observe.buffer.bytesPerEvent} B/event) | bounded |`;
  yield `| ${observe.overflow.recorded} recorded with ingest down | ${observe.overflow.buffered} kept, ${observe.overflow.dropped} dropped (counted) | ${observe.overflow.recorded - observe.buffer.events} dropped |`;
  yield `| limiter | ${ingest.limiter} | |`;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
