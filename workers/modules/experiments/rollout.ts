import { and, eq, sql } from "drizzle-orm";
import { commitChange } from "../../platform/changes";
import type { Actor, MutationContext, Platform } from "../../platform/context";
import { type ExperimentRow, experiments, type PromptRow, prompts } from "../../platform/db/schema";
import { guard } from "../../platform/guards";
import type { TelemetryReader } from "../metrics/reader";
import { promptTarget } from "../prompts/publish";
import {
  analyseExperiment,
  type GuardrailRegression,
  guardrailRegressions,
} from "../results/analyse";
import { unitsAssignedByCurrentWeights } from "../results/results";
import { applyScheduleVerdict, type ScheduleVerdict } from "./experiments";

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

export interface GuardReport {
  /** Running experiments with guardrails or autoPromote whose results were computed. */
  considered: number;
  decided: { id: string; action: ScheduleVerdict["action"]; variant: string }[];
  failed: number;
}

const pct = (fraction: number) =>
  `${fraction > 0 ? "+" : ""}${Number((fraction * 100).toFixed(1))} %`;

function metricName(metric: GuardrailRegression["metric"]): string {
  return "name" in metric ? `${metric.kind} ${metric.name}` : metric.kind;
}

/** "variant 'friendly' regressed error_rate: +85 % (+40 % to +130 %), beyond the allowed 10 %". */
function regressionReason(regressions: GuardrailRegression[]): string {
  const listed = regressions
    .map((found) => {
      const effect = found.relativeEffect === null ? "" : `: ${pct(found.relativeEffect)}`;
      const interval = found.interval
        ? ` (sequential interval ${pct(found.interval[0])} to ${pct(found.interval[1])})`
        : "";
      return `variant '${found.variant}' regressed ${metricName(found.metric)}${effect}${interval}, beyond the allowed ${found.maxRegressionPct} %`;
    })
    .join("; ");
  return `Guardrail failed: ${listed}.`;
}

/**
 * Guarded rollouts (run by the cron before stages advance): for each running experiment with
 * guardrails (or autoPromote), its results are computed from telemetry with the always-valid
 * sequential intervals, so looking every minute does not inflate false alarms. A guardrail
 * whose interval lies wholly beyond its allowed regression pauses the experiment and, with
 * `onRegression: "rollback"`, rolls it back. Otherwise a winner on the primary metric is promoted
 * when `autoPromote` is set, or recommended (once per winner) for a person to promote.
 */
export async function guardExperiments(
  platform: Platform,
  telemetry: TelemetryReader,
  now = new Date(),
): Promise<GuardReport> {
  const report: GuardReport = { considered: 0, decided: [], failed: 0 };
  if (!telemetry.deployed) return report;
  const rows = await platform.db
    .select()
    .from(experiments)
    .where(
      and(
        eq(experiments.state, "running"),
        sql`(json_array_length(json_extract(${experiments.metrics}, '$.guardrails')) > 0 OR ${experiments.autoPromote})`,
      ),
    );
  for (const row of rows) {
    report.considered++;
    try {
      const verdict = await verdictOf(row, telemetry, now);
      if (!verdict) continue;
      const ctx: MutationContext = {
        ...platform,
        actor: ROLLOUT_ACTOR,
        requestId: `rollout-${crypto.randomUUID()}`,
      };
      await applyScheduleVerdict(ctx, row.projectId, row.id, verdict);
      report.decided.push({ id: row.id, action: verdict.action, variant: verdict.variant });
    } catch (error) {
      // As for stages: one experiment's failure must not stop the others; the next run retries.
      console.error(`rollout ${row.id}: not guarded`, String(error));
      report.failed++;
    }
  }
  return report;
}

/** What the schedule should do about one running experiment now, or null: nothing. */
async function verdictOf(
  row: ExperimentRow,
  telemetry: TelemetryReader,
  now: Date,
): Promise<ScheduleVerdict | null> {
  const metrics = [row.metrics.primary, ...row.metrics.guardrails.map((g) => g.metric)];
  const statistics = await telemetry.experimentStatistics({
    projectId: row.projectId,
    experimentId: row.id,
    metrics,
    ...(row.startedAt ? { since: row.startedAt } : {}),
  });
  if (!statistics) return null;
  const srmExposedUnits = await unitsAssignedByCurrentWeights(telemetry, {
    projectId: row.projectId,
    experimentId: row.id,
    metric: row.metrics.primary,
    stage: row.stage,
    stageStartedAt: row.stageStartedAt,
    until: null,
  });
  const results = analyseExperiment(
    statistics,
    {
      control: { key: row.controlKey, weight: row.controlWeight },
      variants: row.variants,
      metrics: row.metrics,
    },
    {
      engine: "frequentist",
      sequential: true,
      now,
      ...(srmExposedUnits ? { srmExposedUnits } : {}),
    },
  );
  const regressions = guardrailRegressions(results);
  const first = regressions[0];
  if (first) {
    return {
      action: row.onRegression === "rollback" ? "rolled_back" : "paused",
      variant: first.variant,
      reason: regressionReason(regressions),
    };
  }
  const winner = results.decision === "winner" ? results.winner : null;
  if (winner === null || winner === row.controlKey) return null;
  if (row.autoPromote) return { action: "promoted", variant: winner, reason: results.reason };
  // Recommended once per winner: the audit log is not a minute-by-minute log.
  if (row.decision?.action === "recommended" && row.decision.variant === winner) return null;
  return {
    action: "recommended",
    variant: winner,
    reason: `Cuecard recommends promoting ${winner}: ${results.reason}`,
  };
}

/** The cron's rollout work: guardrails first (a regressing rollout must not advance), then stages. */
export async function runRolloutSchedule(
  platform: Platform,
  telemetry: TelemetryReader,
  now = new Date(),
): Promise<{ guarded: GuardReport; rollouts: RolloutReport }> {
  const guarded = await guardExperiments(platform, telemetry, now);
  const rollouts = await advanceRollouts(platform, telemetry, now);
  return { guarded, rollouts };
}
