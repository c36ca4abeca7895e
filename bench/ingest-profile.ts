/**
 * Where ingest CPU goes inside workerd, per batch of 100 generation events (bench/ingest.ts's
 * batch). bench/workers/ingest-profile.ts runs one section of the ingest path `n` times in one
 * request; this divides the request's wall time (less an empty request's) by `n`. workerd's
 * clocks stand still while a request computes, so the timing is taken from outside.
 *
 *   npx tsx bench/ingest-profile.ts     # prints µs per batch, per section
 */
import { join } from "node:path";
import { build } from "esbuild";
import { Log, LogLevel, Miniflare } from "miniflare";
import { repositoryRoot } from "../scripts/platform";
import { batchBody } from "./ingest";

const SECTIONS = [
  ["parse", "JSON.parse of the body"],
  ["decode-parse", "UTF-8 decode + JSON.parse (as readJsonBody)"],
  ["validate", "validateEvent × 100 (event-rules.ts, cost included)"],
  ["cost", "costOf × 100"],
  ["pack", "packMessages (JSON.stringify + encode per event)"],
  ["stringify", "one JSON.stringify of the accepted events"],
  ["send", "queue sendBatch of the packed messages"],
  ["limit", "INGEST_LIMITER.limit"],
  ["route", "the whole POST /v1/events inside the telemetry worker"],
] as const;

const REPEAT = Number(process.env.PROFILE_REPEAT ?? 200);
const ROUNDS = 5;

async function main() {
  const outfile = join(repositoryRoot, "dist", "bench", "ingest-profile.js");
  await build({
    entryPoints: [join(repositoryRoot, "bench/workers/ingest-profile.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    outfile,
    logLevel: "error",
  });
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    log: new Log(LogLevel.ERROR),
    modules: true,
    scriptPath: outfile,
    compatibilityDate: "2026-07-01",
    queueProducers: { TELEMETRY_EVENTS: "profile-events" },
    ratelimits: {
      INGEST_LIMITER: { namespace_id: "1", simple: { limit: 1_000_000_000, period: 60 } },
    },
  });
  const body = batchBody("profile").replaceAll("@n@", "0");
  const timed = async (section: string, n: number) => {
    const started = performance.now();
    const response = await mf.dispatchFetch(`http://profile/?section=${section}&n=${n}`, {
      method: "POST",
      body,
    });
    if (!response.ok) throw new Error(`${section}: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
    return performance.now() - started;
  };
  try {
    await timed("route", 50); // JIT warm-up
    const rows: { section: string; what: string; usPerBatch: number }[] = [];
    for (const [section, what] of SECTIONS) {
      // The fastest of a few rounds: on a shared machine, noise only ever adds time.
      let empty = Number.POSITIVE_INFINITY;
      let full = Number.POSITIVE_INFINITY;
      for (let round = 0; round < ROUNDS; round++) {
        empty = Math.min(empty, await timed("none", REPEAT));
        full = Math.min(full, await timed(section, REPEAT));
      }
      rows.push({ section, what, usPerBatch: Math.round(((full - empty) / REPEAT) * 1000) });
    }
    console.log(JSON.stringify({ eventsPerBatch: 100, repeat: REPEAT, rows }, null, 2));
  } finally {
    await mf.dispose();
  }
}

await main();
