/**
 * What experiment assignment costs per call, in ns: core's `assign()` in Node (what the SDK runs
 * for each of its units) and inside workerd (what the edge runs per request), plus the edge's
 * whole per-request experiment step (`assignVersion`: assign, then splice the result into the
 * prebuilt body and build the ETag).
 *
 * In workerd, bench/workers/assign-loop.ts loops over 10,000 unit ids `n` times in one request;
 * the request is timed from outside (workerd's clocks stand still while a request computes) and
 * the same loop without assignment (`none`) is subtracted. Fastest of a few rounds: on a shared
 * machine, noise only ever adds time.
 *
 *   npx tsx bench/assign.ts     # prints the figures as JSON
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { assign } from "@cuecard/core/assignment";
import { build } from "esbuild";
import { Log, LogLevel, Miniflare } from "miniflare";
import { repositoryRoot } from "../scripts/platform";
import { BENCH_EXPERIMENT, unitIds } from "./fixtures";

export interface AssignBench {
  calls: number;
  rounds: number;
  /** Core's assign() in Node: the SDK's per-unit cost. */
  sdkAssignNs: number;
  /** Core's assign() inside workerd. */
  edgeAssignNs: number;
  /** The edge's per-request experiment step inside workerd (assign + body + ETag). */
  edgeAssignVersionNs: number;
}

const CALLS = Number(process.env.ASSIGN_CALLS ?? 1_000_000);
const ROUNDS = 5;

export async function benchAssign(): Promise<AssignBench> {
  const edge = await inWorkerd();
  return { calls: CALLS, rounds: ROUNDS, sdkAssignNs: inNode(), ...edge };
}

function inNode(): number {
  const ids = unitIds(10_000);
  const assignable = {
    seed: BENCH_EXPERIMENT.seed,
    hashVersion: BENCH_EXPERIMENT.hashVersion,
    coverage: BENCH_EXPERIMENT.coverage,
    weights: BENCH_EXPERIMENT.variants.map((variant) => variant.weight),
  };
  // The same loops as the worker's, so the difference is assign() alone.
  const loop = (withAssign: boolean) => {
    let sink = 0;
    const started = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) {
      const unit = ids[i % ids.length] as string;
      sink += withAssign ? unit.length + assign(assignable, unit).variant : unit.length;
    }
    const elapsed = Number(process.hrtime.bigint() - started);
    if (sink < 0) throw new Error("unreachable: keeps the loop from being optimised away");
    return elapsed;
  };
  loop(true); // JIT warm-up
  let empty = Number.POSITIVE_INFINITY;
  let full = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    empty = Math.min(empty, loop(false));
    full = Math.min(full, loop(true));
  }
  return Math.round((full - empty) / CALLS);
}

async function inWorkerd(): Promise<Pick<AssignBench, "edgeAssignNs" | "edgeAssignVersionNs">> {
  const outfile = join(repositoryRoot, "dist", "bench", "assign-loop.js");
  await build({
    entryPoints: [join(repositoryRoot, "bench/workers/assign-loop.ts")],
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
  });
  const timed = async (section: string, n: number) => {
    const started = performance.now();
    const response = await mf.dispatchFetch(`http://assign/?section=${section}&n=${n}`);
    if (!response.ok) throw new Error(`${section}: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
    return (performance.now() - started) * 1e6;
  };
  const nsPerCall = async (section: string) => {
    let empty = Number.POSITIVE_INFINITY;
    let full = Number.POSITIVE_INFINITY;
    for (let round = 0; round < ROUNDS; round++) {
      empty = Math.min(empty, await timed("none", CALLS));
      full = Math.min(full, await timed(section, CALLS));
    }
    return Math.round((full - empty) / CALLS);
  };
  try {
    await timed("assignVersion", CALLS); // JIT warm-up
    await timed("assign", CALLS);
    return {
      edgeAssignNs: await nsPerCall("assign"),
      edgeAssignVersionNs: await nsPerCall("assignVersion"),
    };
  } finally {
    await mf.dispose();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchAssign(), null, 2));
}
