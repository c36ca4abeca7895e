import { and, eq, sql } from "drizzle-orm";
import { commitChange } from "../../platform/changes";
import type { Actor, MutationContext, Platform } from "../../platform/context";
import { type ExperimentRow, experiments, type PromptRow, prompts } from "../../platform/db/schema";
import { guard } from "../../platform/guards";
import type { TelemetryReader } from "../metrics/reader";
import { promptTarget } from "../prompts/publish";

/**
 * The rollout schedule (run by the admin worker's cron): a running experiment with `stages`
 * moves to its next stage once the current one has both its minimum exposure (distinct units in
 * the experiment, all arms, since it started, as telemetry counts them) and its minimum duration
 * (since the stage began). Advancing is an ordinary audited change: the arms' weights become the
 * next stage's, the experiment's rev grows so the label's KV pointer is republished with them,
 * and `experiment.stage_advanced` goes to webhooks. The seed never changes, and core's
 * bucketRanges keeps a treated unit treated as its arm's weight grows.
 */

/** Who the audit log names for a stage the schedule advanced. */
export const ROLLOUT_ACTOR: Actor = {
  id: "schedule:rollout",
  name: "rollout schedule",
  role: "system",
  projectId: null,
  via: "schedule",
};

const HOUR_MS = 3600 * 1000;

export interface RolloutReport {
  /** Running experiments with a stage left to go to. */
  considered: number;
  advanced: { id: string; stage: number }[];
  /** Criteria not met yet. */
  waiting: number;
  failed: number;
}

/** Why a stage may not advance yet, or null when it may. */
export function stageWaitsFor(
  row: Pick<ExperimentRow, "stages" | "stage" | "stageStartedAt" | "startedAt">,
  exposedUnits: number,
  now: Date,
): "duration" | "exposure" | null {
  const current = row.stages[row.stage];
  if (!current) return null;
  const since = Date.parse(row.stageStartedAt ?? row.startedAt ?? "");
  if (!(now.getTime() - since >= current.minDurationHours * HOUR_MS)) return "duration";
  if (exposedUnits < current.minExposures) return "exposure";
  return null;
}

/** Advances every running rollout whose current stage is done. Telemetry not deployed: none. */
export async function advanceRollouts(
  platform: Platform,
  telemetry: TelemetryReader,
  now = new Date(),
): Promise<RolloutReport> {
  const report: RolloutReport = { considered: 0, advanced: [], waiting: 0, failed: 0 };
  if (!telemetry.deployed) return report;
  const rows = await platform.db
    .select()
    .from(experiments)
    .innerJoin(prompts, eq(prompts.id, experiments.promptId))
    .where(
      and(
        eq(experiments.state, "running"),
        sql`json_array_length(${experiments.stages}) > ${experiments.stage} + 1`,
      ),
    );
  for (const { experiments: row, prompts: prompt } of rows) {
    report.considered++;
    try {
      // Duration first: it needs no request to telemetry.
      if (stageWaitsFor(row, Number.POSITIVE_INFINITY, now) === "duration") {
        report.waiting++;
        continue;
      }
      const exposures = await telemetry.experimentExposures(row.projectId, row.id);
      const units = Object.values(exposures ?? {}).reduce((sum, count) => sum + count, 0);
      if (stageWaitsFor(row, units, now) !== null) {
        report.waiting++;
        continue;
      }
      await advanceStage(platform, row, prompt, now);
      report.advanced.push({ id: row.id, stage: row.stage + 1 });
    } catch (error) {
      // One experiment's failure (telemetry down, a concurrent change) must not stop the others;
      // the next run tries again.
      console.error(`rollout ${row.id}: stage not advanced`, String(error));
      report.failed++;
    }
  }
  return report;
}

async function advanceStage(
  platform: Platform,
  row: ExperimentRow,
  prompt: PromptRow,
  now: Date,
): Promise<void> {
  const stage = row.stage + 1;
  const weights = row.stages[stage]?.weights;
  if (!weights || weights.length !== row.variants.length + 1) {
    throw new Error(
      `stage ${stage} has ${weights?.length ?? 0} weights for ${row.variants.length + 1} arms`,
    );
  }
  const [controlWeight, ...variantWeights] = weights as [number, ...number[]];
  const variants = row.variants.map((variant, index) => ({
    ...variant,
    weight: variantWeights[index] as number,
  }));
  const ctx: MutationContext = {
    ...platform,
    actor: ROLLOUT_ACTOR,
    requestId: `rollout-${crypto.randomUUID()}`,
  };
  const at = now.toISOString();
  const armWeights = (control: number, arms: { key: string; weight: number }[]) =>
    Object.fromEntries([[row.controlKey, control], ...arms.map((arm) => [arm.key, arm.weight])]);
  await commitChange(ctx, {
    projectId: row.projectId,
    statements: [
      // Still running, still in the stage this run read: a concurrent run (or a pause) wins,
      // and this one changes nothing.
      guard(
        ctx.db,
        "experiment_state",
        sql`EXISTS (SELECT 1 FROM experiments WHERE id = ${row.id} AND state = 'running' AND stage = ${row.stage})`,
      ),
      ctx.db
        .update(experiments)
        .set({
          stage,
          stageStartedAt: at,
          controlWeight,
          variants,
          // One more than any experiment's, as every state change: the publisher rewrites the
          // label's pointer with the new weights.
          rev: sql`(SELECT COALESCE(MAX(rev), 0) + 1 FROM experiments)`,
          updatedAt: at,
        })
        .where(eq(experiments.id, row.id)),
    ],
    audit: {
      action: "experiment.stage_advance",
      targetType: "experiment",
      target: row.id,
      before: { stage: row.stage, weights: armWeights(row.controlWeight, row.variants) },
      after: { stage, weights: armWeights(controlWeight, variants) },
    },
    event: {
      type: "experiment.stage_advanced",
      publishTarget: promptTarget(prompt.name),
      payload: {
        experiment: { id: row.id, key: row.key },
        prompt: { name: prompt.name, type: prompt.type },
        label: row.label,
        controlVersion: row.controlVersion,
        stage,
      },
    },
  });
}
