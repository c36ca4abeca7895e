/**
 * Where an edge isolate hit's time goes, in ns per request inside workerd: each section of
 * bench/workers/hit-loop.ts calls a fetch handler n times in one invocation (the floor, a body,
 * its headers, reading request headers, a Hono route, the edge with and without its fast path,
 * a running experiment, the Langfuse read). Timed from outside, the empty loop subtracted, fastest
 * of ROUNDS: on a shared machine noise only ever adds time, so the minimum is the figure. What it leaves out is
 * what every row shares (socket, HTTP parsing, serialization), which `npm run bench` includes.
 *
 *   npx tsx bench/hit-loop.ts     # prints ns per request per section
 *   HIT_LOOP_ONLY="floor,edge" npx tsx bench/hit-loop.ts    # only these sections
 */
import { join } from "node:path";
import { build } from "esbuild";
import { Log, LogLevel, Miniflare } from "miniflare";
import { repositoryRoot } from "../scripts/platform";

const CALLS = Number(process.env.HIT_LOOP_CALLS ?? 20_000);
const ROUNDS = Number(process.env.HIT_LOOP_ROUNDS ?? 7);
const ALL_SECTIONS = [
  "floor",
  "body",
  "body+headers",
  "body+headers as pairs",
  "body+headers from a Headers template, 2 set",
  "body+3 headers",
  "read 4 headers",
  "hono route, body+headers",
  "edge through hono",
  "edge",
  "edge ?label=",
  "edge Langfuse read",
  "edge experiment through hono",
  "edge experiment ?unit=",
];
const only = process.env.HIT_LOOP_ONLY?.split(",");
const SECTIONS = only ? ALL_SECTIONS.filter((section) => only.includes(section)) : ALL_SECTIONS;

const outfile = join(repositoryRoot, "dist", "bench", "hit-loop.js");
await build({
  entryPoints: [join(repositoryRoot, "bench/workers/hit-loop.ts")],
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
  kvNamespaces: ["PROMPTS_KV"],
  bindings: { ISOLATE_CACHE_TTL_MS: "3600000" },
});
const timed = async (section: string, n: number) => {
  const started = performance.now();
  const response = await mf.dispatchFetch(
    `http://bench/?section=${encodeURIComponent(section)}&n=${n}`,
  );
  const body = (await response.json()) as { async: number };
  if (!response.ok) throw new Error(`${section}: ${response.status}`);
  return { ns: (performance.now() - started) * 1e6, async: body.async };
};
try {
  for (const section of SECTIONS) await timed(section, CALLS); // JIT warm-up
  const figures: Record<string, { nsPerRequest: number; awaited: number }> = {};
  const best = new Map<string, number>();
  const awaited = new Map<string, number>();
  // Sections take turns round by round, so drift in the machine's load spreads over all of them.
  for (let round = 0; round < ROUNDS; round++) {
    for (const section of ["none", ...SECTIONS]) {
      const { ns, async } = await timed(section, CALLS);
      best.set(section, Math.min(best.get(section) ?? Number.POSITIVE_INFINITY, ns));
      awaited.set(section, async);
    }
  }
  const empty = best.get("none") as number;
  for (const section of SECTIONS) {
    figures[section] = {
      nsPerRequest: Math.round(((best.get(section) as number) - empty) / CALLS),
      awaited: awaited.get(section) as number,
    };
  }
  console.log(JSON.stringify({ calls: CALLS, rounds: ROUNDS, figures }, null, 2));
} finally {
  await mf.dispose();
}
