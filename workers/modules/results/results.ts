import type { ExperimentResults } from "@cuecard/core/experiment-results";
import { ProblemError } from "@cuecard/core/problem";
import type { ReadContext } from "../../platform/context";
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
  return analyseExperiment(statistics, experiment, {
    engine: query.engine,
    sequential: query.sequential,
    now,
  });
}
