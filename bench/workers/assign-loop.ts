import { assign } from "@cuecard/core/assignment";
import { assignVersion } from "../../workers/edge/experiments";
import { pickVersion, type ServedPrompt, servePointer } from "../../workers/edge/prompt-store";
import { BENCH_EXPERIMENT, experimentPointer, published, unitIds } from "../fixtures";

/**
 * Bench-only: runs one section of experiment assignment over `n` distinct-ish unit ids in one
 * request and answers when done. workerd's clock does not advance while a request computes, so
 * the caller times the request from outside and subtracts the `none` section (same loop, same
 * ids, no assignment).
 */
const ids = unitIds(10_000);
const assignable = {
  seed: BENCH_EXPERIMENT.seed,
  hashVersion: BENCH_EXPERIMENT.hashVersion,
  coverage: BENCH_EXPERIMENT.coverage,
  weights: BENCH_EXPERIMENT.variants.map((variant) => variant.weight),
};
let prompt: Promise<ServedPrompt | null> | undefined;

async function servedPrompt() {
  prompt ??= Promise.all([
    published("bench/exp", 1, "Hello {{customer}}, thanks for contacting support."),
    published("bench/exp", 2, "Hi {{customer}}! Thanks so much for reaching out."),
  ]).then(([control, treatment]) => servePointer(experimentPointer(control, treatment)));
  const served = await prompt;
  if (!served?.experiment) throw new Error("the bench pointer runs no experiment");
  return served;
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const section = url.searchParams.get("section") ?? "";
    const n = Number(url.searchParams.get("n") ?? "1");
    const served = await servedPrompt();
    let sink = 0;
    switch (section) {
      case "none":
        for (let i = 0; i < n; i++) sink += (ids[i % ids.length] as string).length;
        break;
      case "assign":
        for (let i = 0; i < n; i++) {
          const unit = ids[i % ids.length] as string;
          sink += unit.length + assign(assignable, unit).variant;
        }
        break;
      case "assignVersion":
        for (let i = 0; i < n; i++) {
          const unit = ids[i % ids.length] as string;
          sink += unit.length + (assignVersion(served, unit, pickVersion)?.body.length ?? 0);
        }
        break;
      default:
        return new Response(`no section ${section}`, { status: 400 });
    }
    return Response.json({ section, n, sink });
  },
};
