/**
 * `npm run bench`: serves the edge worker, an empty floor worker and a naive D1 worker with
 * Miniflare's API directly (each on its own port; `wrangler dev`'s proxy would dominate), loads
 * them with autocannon in one run, prints a markdown table and writes bench/results/latest.json.
 *
 * Then telemetry: ingest throughput, the consumer's drain rate and lag, and edge hits beside a
 * running ingest (bench/ingest.ts), and what observing an OpenAI client costs the app and the
 * SDK's buffer bound (bench/observe.ts).
 *
 * Compare ratios to the floor, not absolute numbers: load generator and workerd share the CPU.
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
import { pointer, published } from "./fixtures";
import { benchIngest, type IngestBench } from "./ingest";
import { benchObservedClient, type ObservedClientBench } from "./observe";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const buildDir = join(root, "dist", "bench");
const DURATION_S = Number(process.env.BENCH_DURATION ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const PROJECT = "bench";
const LARGE = 10_000;
const VERSIONS = 1_000;
const PORTS = { floor: 8901, edgeCached: 8902, edgeKv: 8903, d1: 8904 };

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
  for (const name of ["floor", "d1-naive"]) {
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
  for (let i = 0; i < LARGE; i++) {
    const version = await published(`large/p-${i}`, 1, `${text} #${i}`);
    entries.push([
      labelPointerKey(PROJECT, version.name, "production"),
      JSON.stringify(pointer(version)),
    ]);
  }
  for (let v = 1; v <= VERSIONS; v++) {
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
}

interface Figures {
  id: string;
  title: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  total: number;
}

function load(scenario: Scenario, key: string, durationS: number): Promise<autocannon.Result> {
  let next = 0;
  return autocannon({
    url: `http://127.0.0.1:${scenario.port}`,
    connections: CONNECTIONS,
    duration: durationS,
    headers: {
      authorization: `Bearer ${key}`,
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

async function warm(port: number, key: string, paths: string[]) {
  await inChunks(paths, 20, async (path) => {
    const get = () =>
      fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${key}` } });
    // A kept-alive socket the server closed as it was reused fails once ("other side closed"):
    // the warm-up is not measured, so it simply asks again.
    const response = await get().catch(get);
    if (!response.ok) throw new Error(`warm-up ${path}: ${response.status}`);
    await response.arrayBuffer();
  });
}

async function run(scenario: Scenario, key: string): Promise<Figures> {
  if (scenario.warm) await warm(scenario.port, key, scenario.warm);
  await load(scenario, key, 1); // JIT and connection warm-up, not measured
  const result = await load(scenario, key, DURATION_S);
  const figures = {
    id: scenario.id,
    title: scenario.title,
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    total: result.requests.total,
  };
  console.error(`  ${scenario.id}: ${figures.requestsPerSecond} req/s, p99 ${figures.p99Ms} ms`);
  return figures;
}

async function main() {
  const started = Date.now();
  console.error("bundling…");
  const size = await bundle();
  const edgeScript = join(buildDir, "edge/index.js");
  const edgeWorker = (name: string, ttl: string, port: number) => ({
    name,
    modules: true,
    scriptPath: edgeScript,
    compatibilityDate: "2026-07-01",
    kvNamespaces: { PROMPTS_KV: "bench-prompts" },
    bindings: { ISOLATE_CACHE_TTL_MS: ttl },
    unsafeDirectSockets: [{ host: "127.0.0.1", port }],
  });
  const mf = new Miniflare({
    port: 0,
    workers: [
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
  console.error("seeding 10 + 10,000 prompts and 1,000 versions…");
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
  const scenarios: Scenario[] = [
    { id: "floor", title: "floor: empty Hono worker, fixed JSON", port: PORTS.floor, paths: ["/"] },
    {
      id: "edge-hit-10",
      title: "edge label resolve, isolate hit (10 prompts)",
      port: PORTS.edgeCached,
      paths: small,
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

  console.error(`load: ${CONNECTIONS} connections × ${DURATION_S} s per scenario`);
  const results: Figures[] = [];
  try {
    for (const scenario of scenarios) results.push(await run(scenario, key));
  } finally {
    await mf.dispose();
  }
  console.error("telemetry ingest: edge + telemetry worker in one Miniflare, then in two…");
  const ingest = await benchIngest({ durationS: DURATION_S, edgeConnections: CONNECTIONS });
  console.error("observed OpenAI client against the model stub (child process)…");
  const observe = await benchObservedClient();

  const floor = results[0] as Figures;
  const lines = [
    `| scenario | req/s | p50 ms | p99 ms | req/s ÷ floor | p99 ÷ floor | errors/non-2xx |`,
    `|---|---:|---:|---:|---:|---:|---:|`,
    ...results.map(
      (r) =>
        `| ${r.title} | ${r.requestsPerSecond} | ${r.p50Ms} | ${r.p99Ms} | ${(r.requestsPerSecond / floor.requestsPerSecond).toFixed(2)} | ${(r.p99Ms / floor.p99Ms).toFixed(2)} | ${r.errors}/${r.non2xx} |`,
    ),
  ];
  const byId = Object.fromEntries(results.map((r) => [r.id, r]));
  const rps = (id: string) => (byId[id] as Figures).requestsPerSecond;
  const summary = [
    `edge bundle: ${(size.edgeBytes / 1024).toFixed(1)} KiB, ${(size.edgeGzipBytes / 1024).toFixed(1)} KiB gzipped (budget 40 KiB)`,
    `10,000 vs 10 prompts: isolate hit ${(rps("edge-hit-10k") / rps("edge-hit-10")).toFixed(2)}×, KV ${(rps("edge-kv-10k") / rps("edge-kv-10")).toFixed(2)}×`,
    `KV path vs naive D1: ${(rps("edge-kv-10") / rps("d1-naive-10")).toFixed(2)}×`,
  ];
  const telemetry = [...telemetryTable(ingest, observe)];
  const footer = [
    `${CONNECTIONS} connections, ${DURATION_S} s per scenario, total ${Math.round((Date.now() - started) / 1000)} s`,
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
        node: process.version,
        bundle: size,
        results,
        telemetry: { ingest, observe },
      },
      null,
      2,
    )}\n`,
  );
}

function* telemetryTable(ingest: IngestBench, observe: ObservedClientBench) {
  const us = (figures: ObservedClientBench["streaming"]) =>
    `${figures.plainUsPerCall} → ${figures.observedUsPerCall} µs (${((figures.ratio - 1) * 100).toFixed(1)} %)`;
  yield "| telemetry | figure | goal |";
  yield "|---|---:|---:|";
  yield `| ingest accepted (edge → telemetry worker, batches of ${ingest.batchSize}, ${ingest.ingestConnections} connections) | ${ingest.ingest.eventsPerSecond} events/s (${ingest.ingest.requestsPerSecond} req/s, p99 ${ingest.ingest.p99Ms} ms) | |`;
  yield `| drained into rollups (queue consumer) | ${ingest.drain.eventsPerSecond} events/s | |`;
  yield `| consumer lag, accepted → in the rollups (${ingest.drain.lagMs.probes} probes during load) | p50 ${ingest.drain.lagMs.p50} ms, max ${ingest.drain.lagMs.max} ms; catch-up after load ${ingest.drain.catchUpMs} ms | |`;
  for (const edge of ingest.edgeUnderIngest) {
    yield `| edge isolate hits beside ingest ${edge.ingest} (${edge.workerd === "one process" ? "same workerd" : "telemetry in its own workerd"}) | ${edge.withIngestRequestsPerSecond} vs ${edge.aloneRequestsPerSecond} req/s alone = ${edge.ratio.toFixed(2)}× (ingest meanwhile ${edge.ingestEventsPerSecondMeanwhile} events/s) | ≥ 0.95× |`;
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
