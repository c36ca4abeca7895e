/**
 * Exposure counting at scale: UNITS distinct units of one experiment (plus another experiment's
 * units beside them, as a real table holds) in the telemetry database's `experiment_exposures`,
 * then the admin's exposure counts (workers/telemetry/metrics.ts `experimentExposures`, the query
 * behind the experiment page and the rollout guard) timed against it through the D1 binding of a
 * local Miniflare (SQLite, as D1 is).
 *
 * The rows are generated inside SQLite (a recursive CTE, INSERT_ROWS per statement) rather than
 * sent one by one: pushing a million queue messages through the consumer would measure the
 * consumer, which bench/ingest.ts already does.
 *
 *   npx tsx bench/exposures.ts     # prints the figures as JSON
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { Log, LogLevel, Miniflare } from "miniflare";
import { repositoryRoot } from "../scripts/platform";
import { experimentExposures } from "../workers/telemetry/metrics";
import { migrate } from "./ingest";

export interface ExposuresBench {
  units: number;
  otherUnits: number;
  insertSeconds: number;
  /** The database's size after the inserts, and its growth per inserted unit (rows + indexes). */
  databaseBytes: number;
  bytesPerUnit: number;
  /** experimentExposures over the experiment's units: first call, then median and max of the next. */
  query: { firstMs: number; medianMs: number; maxMs: number; runs: number };
  variants: { variant: string; units: number }[];
}

const UNITS = Number(process.env.EXPOSURE_UNITS ?? 1_000_000);
const OTHER_UNITS = Math.round(UNITS / 10);
const INSERT_ROWS = 100_000;
const RUNS = 5;
const PROJECT = "bench";
const EXPERIMENT = "exp_bench";

export async function benchExposures(): Promise<ExposuresBench> {
  const outfile = join(repositoryRoot, "dist", "bench", "bare.js");
  await build({
    entryPoints: [join(repositoryRoot, "bench/workers/bare.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
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
    d1Databases: { TELEMETRY_DB: "bench-exposures" },
  });
  try {
    const db = await mf.getD1Database("TELEMETRY_DB");
    await migrate(db);
    // D1 refuses PRAGMA page_count; every result's meta reports the database size instead.
    const size = async () => (await db.prepare("SELECT 1").run()).meta.size_after as number;
    const emptyBytes = await size();
    const insert = (experimentId: string, from: number, count: number) =>
      db
        .prepare(
          `WITH RECURSIVE n(i) AS (SELECT ?3 UNION ALL SELECT i + 1 FROM n WHERE i < ?3 + ?4 - 1)
           INSERT INTO experiment_exposures (project_id, experiment_id, unit, variant, first_exposed_at, exposures)
           SELECT ?1, ?2, 'user-' || i, CASE i % 2 WHEN 0 THEN 'control' ELSE 'treatment' END,
             strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || (i % 86400) || ' seconds'), 1 + i % 3
           FROM n`,
        )
        .bind(PROJECT, experimentId, from, count)
        .run();
    const started = performance.now();
    for (let from = 0; from < UNITS; from += INSERT_ROWS) {
      await insert(EXPERIMENT, from, Math.min(INSERT_ROWS, UNITS - from));
    }
    await insert("exp_other", 0, OTHER_UNITS);
    const insertSeconds = Math.round((performance.now() - started) / 100) / 10;
    const databaseBytes = await size();

    const timings: number[] = [];
    let counts: Awaited<ReturnType<typeof experimentExposures>> | undefined;
    for (let run = 0; run <= RUNS; run++) {
      const began = performance.now();
      counts = await experimentExposures(db, PROJECT, EXPERIMENT);
      timings.push(performance.now() - began);
    }
    const [first, ...rest] = timings as [number, ...number[]];
    rest.sort((a, b) => a - b);
    const total = counts?.variants.reduce((sum, v) => sum + v.units, 0);
    if (total !== UNITS) throw new Error(`counted ${total} units, inserted ${UNITS}`);
    return {
      units: UNITS,
      otherUnits: OTHER_UNITS,
      insertSeconds,
      databaseBytes,
      bytesPerUnit: Math.round((databaseBytes - emptyBytes) / (UNITS + OTHER_UNITS)),
      query: {
        firstMs: Math.round(first),
        medianMs: Math.round(rest[rest.length >> 1] as number),
        maxMs: Math.round(rest.at(-1) as number),
        runs: RUNS,
      },
      variants: (counts?.variants ?? []).map((v) => ({ variant: v.variant, units: v.units })),
    };
  } finally {
    await mf.dispose();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchExposures(), null, 2));
}
