import type { ExperimentMetricRef, ExperimentResults } from "@cuecard/core/experiment-results";
import { ProblemError } from "@cuecard/core/problem";
import { and, eq } from "drizzle-orm";
import type { ReadContext } from "../../platform/context";
import { experiments } from "../../platform/db/schema";
import { getExperiment } from "../experiments/experiments";
import type { TelemetryReader } from "../metrics/reader";
import { analyseExperiment } from "./analyse";
import type { ResultsQueryInput } from "./schemas";

/** What reading results needs: a read context and this deployment's telemetry reader. */
export interface ResultsContext extends ReadContext {
  telemetry: TelemetryReader;
}

const NOT_CONFIGURED =
  "This deployment has no telemetry worker, so there is nothing to compute results from. Deploy it (see docs/telemetry.md) and send exposures and metrics.";

/**
 * An experiment's results: its per-unit statistics from telemetry, analysed against its design
 * (arms, current weights, primary metric and guardrails). Only data from the experiment's start
 * (and up to its stop) is read; days are whole UTC days.
 */
export async function experimentResults(
  ctx: ResultsContext,
  projectId: string,
  id: string,
  query: ResultsQueryInput,
  now = new Date(),
): Promise<ExperimentResults> {
  const experiment = await getExperiment(ctx, projectId, id);
  if (!ctx.telemetry.deployed) {
    throw new ProblemError("telemetry_not_configured", NOT_CONFIGURED);
  }
  const { primary, guardrails } = experiment.metrics;
  const metrics = [primary, ...guardrails.map((guardrail) => guardrail.metric)];
  const empty = {
    experimentId: id,
    exposedUnits: {},
    metrics: metrics.map((metric) => ({ metric, variants: {} })),
    days: [],
  };
  // A draft has served nobody: there is nothing to ask telemetry for.
  const statistics =
    experiment.startedAt === null
      ? empty
      : ((await ctx.telemetry.experimentStatistics({
          projectId,
          experimentId: id,
          metrics,
          since: experiment.startedAt,
          ...(experiment.stoppedAt === null ? {} : { until: experiment.stoppedAt }),
        })) ?? empty);
  const [weights] = await ctx.db
    .select({ stage: experiments.stage, stageStartedAt: experiments.stageStartedAt })
    .from(experiments)
    .where(and(eq(experiments.projectId, projectId), eq(experiments.id, id)));
  const srmExposedUnits =
    experiment.startedAt === null || !weights
      ? undefined
      : await unitsAssignedByCurrentWeights(ctx.telemetry, {
          projectId,
          experimentId: id,
          metric: primary,
          ...weights,
          until: experiment.stoppedAt,
        });
  return analyseExperiment(statistics, experiment, {
    engine: query.engine,
    sequential: query.sequential,
    now,
    ...(srmExposedUnits ? { srmExposedUnits } : {}),
  });
}

/**
 * The exposed units per arm that the experiment's current weights assigned, for the sample-ratio
 * check; undefined while the weights are the start's (stage 0: every unit counts). A rollout stage
 * changes the weights, and the units exposed before it were assigned by the earlier ones, so
 * judging them against today's weights would report a mismatch that is not there. Units first
 * exposed since the stage began were all assigned by the current weights.
 */
export async function unitsAssignedByCurrentWeights(
  telemetry: TelemetryReader,
  experiment: {
    projectId: string;
    experimentId: string;
    /** Any metric of the experiment: telemetry answers exposures beside at least one. */
    metric: ExperimentMetricRef;
    stage: number;
    stageStartedAt: string | null;
    until: string | null;
  },
): Promise<Record<string, number> | undefined> {
  if (experiment.stage === 0 || experiment.stageStartedAt === null) return undefined;
  const statistics = await telemetry.experimentStatistics({
    projectId: experiment.projectId,
    experimentId: experiment.experimentId,
    metrics: [experiment.metric],
    since: experiment.stageStartedAt,
    ...(experiment.until === null ? {} : { until: experiment.until }),
  });
  return statistics?.exposedUnits;
}
