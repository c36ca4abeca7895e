import { METRICS_GRANULARITIES, METRICS_GROUPINGS } from "@cuecard/core/telemetry";
import { z } from "@hono/zod-openapi";
import { labelName, versionNumber } from "../../platform/fields";
import { PromptParams } from "../prompts/schemas";

/**
 * The metrics module's request and response schemas. The response is core's `PromptMetrics`
 * (workers/core/telemetry.ts) as the telemetry worker answers it, plus what only the control
 * plane knows: whether telemetry is deployed, and which versions the prompt does not have.
 */

export { PromptParams as MetricsParams };

const isoTime = z.iso
  .datetime({ offset: true, message: "must be an ISO 8601 time, e.g. 2026-07-01T00:00:00Z" })
  .openapi({ example: "2026-07-01T00:00:00Z" });

export const MetricsQuery = z.object({
  groupBy: z
    .enum(METRICS_GROUPINGS)
    .default("version")
    .openapi({ description: "One series per version (default), label or experiment variant" }),
  from: isoTime
    .optional()
    .openapi({ description: "Start of the range (inclusive); default: 7 days before `to`" }),
  to: isoTime.optional().openapi({ description: "End of the range (exclusive); default: now" }),
  granularity: z.enum(METRICS_GRANULARITIES).optional().openapi({
    description: "Points per hour or per day; default: hour for ranges up to 2 days, else day",
  }),
  version: versionNumber.optional().openapi({ description: "Only calls that used this version" }),
  label: labelName.optional().openapi({ description: "Only calls that asked for this label" }),
});
export type MetricsQueryInput = z.infer<typeof MetricsQuery>;

const Percentiles = z.object({ p50: z.number().nullable(), p95: z.number().nullable() });

export const ScoreSummary = z
  .object({ n: z.number().int(), mean: z.number(), sd: z.number() })
  .openapi("ScoreSummary");

export const MetricsPoint = z
  .object({
    start: z.string().openapi({ description: "Start of the hour or day (UTC)" }),
    calls: z.number().int(),
    errors: z.number().int(),
    errorRate: z.number().nullable().openapi({ description: "errors / calls; null without calls" }),
    latencyMs: Percentiles,
    timeToFirstTokenMs: Percentiles,
    inputTokens: z.number(),
    outputTokens: z.number(),
    costUsd: z.number(),
    scores: z.record(z.string(), ScoreSummary),
  })
  .openapi("MetricsPoint");

/** A series as the telemetry worker sends it (the contract in core). */
export const TelemetrySeries = z.object({
  version: z.number().int().optional(),
  label: z.string().nullable().optional(),
  experimentId: z.string().optional(),
  variant: z.string().optional(),
  points: z.array(MetricsPoint),
  total: MetricsPoint,
});

/** What the telemetry worker answers (core's `PromptMetrics`), checked before it is passed on. */
export const TelemetryMetrics = z.object({
  prompt: z.string(),
  groupBy: z.enum(METRICS_GROUPINGS),
  granularity: z.enum(METRICS_GRANULARITIES),
  from: z.string(),
  to: z.string(),
  series: z.array(TelemetrySeries),
});

export const MetricsSeries = TelemetrySeries.extend({
  unknownVersion: z.boolean().optional().openapi({
    description:
      "Present and true when telemetry reports a version this prompt does not have (an app sent a wrong version number): the calls are kept, not dropped",
  }),
}).openapi("MetricsSeries");
export type MetricsSeriesView = z.infer<typeof MetricsSeries>;

export const PromptMetrics = TelemetryMetrics.extend({
  telemetry: z.enum(["deployed", "not_deployed"]).openapi({
    description:
      "`not_deployed` when this deployment has no telemetry worker: `series` is then always empty",
  }),
  series: z.array(MetricsSeries),
}).openapi("PromptMetrics");
export type PromptMetricsView = z.infer<typeof PromptMetrics>;

/** What the telemetry worker answers for an experiment's exposures: distinct units per variant. */
export const TelemetryExposures = z.object({
  experimentId: z.string(),
  variants: z.array(
    z.object({ variant: z.string(), units: z.number().int().min(0), exposures: z.number() }),
  ),
});

const ExperimentMetricRef = z.union([
  z.object({ kind: z.enum(["score", "conversion"]), name: z.string() }),
  z.object({
    kind: z.enum(["error_rate", "latency_p95", "ttft_p95", "cost", "tokens"]),
  }),
]);

const count = z.number().min(0);

const MetricStatistic = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("mean"), units: count, sum: z.number(), sumSquares: z.number() }),
  z.object({
    kind: z.literal("ratio"),
    units: count,
    numeratorSum: z.number(),
    numeratorSumSquares: z.number(),
    denominatorSum: z.number(),
    denominatorSumSquares: z.number(),
    crossSum: z.number(),
  }),
  z.object({
    kind: z.literal("quantile"),
    units: count,
    quantile: z.number().gt(0).lt(1),
    counts: z.array(count),
  }),
]);

const StatisticsSnapshot = {
  exposedUnits: z.record(z.string(), count),
  metrics: z.array(
    z.object({ metric: ExperimentMetricRef, variants: z.record(z.string(), MetricStatistic) }),
  ),
};

/** What the telemetry worker answers for an experiment's statistics (core's ExperimentStatistics). */
export const TelemetryExperimentStatistics = z.object({
  experimentId: z.string(),
  ...StatisticsSnapshot,
  days: z.array(z.object({ day: z.string(), ...StatisticsSnapshot })),
});
