import type { MetricsGranularity, MetricsGrouping, MetricsPoint } from "@cuecard/core/telemetry";
import type { ChartPoint, ValueFormat } from "../../../../admin/charts";
import type { MetricsQueryInput, MetricsSeriesView } from "../schemas";

/** What the metrics pages show, computed from a `PromptMetrics` answer (no I/O here). */

const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;

/** The ranges the pages offer: the last 24 hours per hour, the last 7 or 30 days per day. */
export const RANGES = {
  "24h": { label: "24 h", ms: DAY_MS, granularity: "hour" },
  "7d": { label: "7 d", ms: 7 * DAY_MS, granularity: "day" },
  "30d": { label: "30 d", ms: 30 * DAY_MS, granularity: "day" },
} as const satisfies Record<string, { label: string; ms: number; granularity: MetricsGranularity }>;
export type RangeKey = keyof typeof RANGES;

export function rangeOf(value: string | undefined): RangeKey {
  return value !== undefined && value in RANGES ? (value as RangeKey) : "7d";
}

/**
 * A page's query for a range ending with the current hour or day: whole buckets only, so the
 * last point is the one still filling up and the first is complete.
 */
export function pageQuery(
  range: RangeKey,
  groupBy: MetricsGrouping,
  now: Date,
): MetricsQueryInput & { from: string; to: string; granularity: MetricsGranularity } {
  const { ms, granularity } = RANGES[range];
  const step = granularity === "hour" ? HOUR_MS : DAY_MS;
  const to = Math.floor(now.getTime() / step) * step + step;
  return {
    groupBy,
    granularity,
    from: new Date(to - ms).toISOString(),
    to: new Date(to).toISOString(),
  };
}

/** Every bucket start in [from, to). */
export function bucketsOf(from: number, to: number, granularity: MetricsGranularity): number[] {
  const step = granularity === "hour" ? HOUR_MS : DAY_MS;
  const buckets: number[] = [];
  for (let t = Math.floor(from / step) * step; t < to; t += step) buckets.push(t);
  return buckets;
}

/** What a series is called in legends and tables. */
export function seriesName(series: MetricsSeriesView, groupBy: MetricsGrouping): string {
  if (groupBy === "version") {
    const name = `v${series.version ?? "?"}`;
    return series.unknownVersion ? `${name} (unknown version)` : name;
  }
  if (groupBy === "label") return series.label ? series.label : "pinned version (no label)";
  return [series.experimentId, series.variant].filter(Boolean).join(" / ") || "no experiment";
}

export interface MetricDefinition {
  key: string;
  title: string;
  description: string;
  format: ValueFormat;
  value: (point: MetricsPoint) => number | null;
  /** A sum per bucket: a bucket without calls is 0, not a gap. */
  summed?: boolean;
}

const BASE_METRICS: MetricDefinition[] = [
  {
    key: "calls",
    title: "Calls",
    description: "LLM calls per bucket.",
    format: "count",
    value: (p) => p.calls,
    summed: true,
  },
  {
    key: "error-rate",
    title: "Error rate",
    description: "Share of calls that failed.",
    format: "percent",
    value: (p) => p.errorRate,
  },
  {
    key: "latency-p50",
    title: "Latency p50",
    description: "Median time from request to last byte.",
    format: "ms",
    value: (p) => p.latencyMs.p50,
  },
  {
    key: "latency-p95",
    title: "Latency p95",
    description: "95th percentile of the time from request to last byte.",
    format: "ms",
    value: (p) => p.latencyMs.p95,
  },
  {
    key: "ttft-p50",
    title: "Time to first token p50",
    description: "Median time to the first streamed chunk (streaming calls only).",
    format: "ms",
    value: (p) => p.timeToFirstTokenMs.p50,
  },
  {
    key: "ttft-p95",
    title: "Time to first token p95",
    description: "95th percentile of the time to the first streamed chunk.",
    format: "ms",
    value: (p) => p.timeToFirstTokenMs.p95,
  },
  {
    key: "input-tokens",
    title: "Input tokens",
    description: "Prompt tokens sent per bucket.",
    format: "count",
    value: (p) => p.inputTokens,
    summed: true,
  },
  {
    key: "output-tokens",
    title: "Output tokens",
    description: "Completion tokens received per bucket.",
    format: "count",
    value: (p) => p.outputTokens,
    summed: true,
  },
  {
    key: "cost",
    title: "Cost",
    description: "US dollars per bucket, from the model price table.",
    format: "usd",
    value: (p) => p.costUsd,
    summed: true,
  },
];

/** The score names any series has, sorted: one chart (and one column) each. */
export function scoreNamesOf(series: MetricsSeriesView[]): string[] {
  return [...new Set(series.flatMap((s) => Object.keys(s.total.scores)))].sort();
}

/** The charts a metrics page draws: the fixed ones, then one per score name. */
export function metricDefinitions(scoreNames: string[]): MetricDefinition[] {
  return [
    ...BASE_METRICS,
    ...scoreNames.map(
      (name): MetricDefinition => ({
        key: `score-${name}`,
        title: `Score: ${name} (mean)`,
        description: `Mean of the score '${name}' per bucket.`,
        format: "decimal",
        value: (p) => p.scores[name]?.mean ?? null,
      }),
    ),
  ];
}

/** A series' values for one metric over every bucket; summed metrics fill empty buckets with 0. */
export function chartPoints(
  series: MetricsSeriesView,
  metric: MetricDefinition,
  buckets: number[],
): ChartPoint[] {
  const byStart = new Map(series.points.map((p) => [Date.parse(p.start), p]));
  if (!metric.summed) {
    return [...byStart].sort(([a], [b]) => a - b).map(([t, p]) => ({ t, value: metric.value(p) }));
  }
  return buckets.map((t) => {
    const point = byStart.get(t);
    return { t, value: point ? metric.value(point) : 0 };
  });
}

/** Calls and error rate per bucket across all series: the prompt's trend. */
export function overallTrend(
  series: MetricsSeriesView[],
  buckets: number[],
): { calls: ChartPoint[]; errorRate: ChartPoint[]; totalCalls: number; totalErrors: number } {
  const calls = new Map<number, number>();
  const errors = new Map<number, number>();
  for (const one of series) {
    for (const point of one.points) {
      const t = Date.parse(point.start);
      calls.set(t, (calls.get(t) ?? 0) + point.calls);
      errors.set(t, (errors.get(t) ?? 0) + point.errors);
    }
  }
  const totalCalls = series.reduce((sum, s) => sum + s.total.calls, 0);
  const totalErrors = series.reduce((sum, s) => sum + s.total.errors, 0);
  return {
    calls: buckets.map((t) => ({ t, value: calls.get(t) ?? 0 })),
    errorRate: buckets.map((t) => {
      const n = calls.get(t) ?? 0;
      return { t, value: n > 0 ? (errors.get(t) ?? 0) / n : null };
    }),
    totalCalls,
    totalErrors,
  };
}

const INTEGER = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** Exact figures for the totals tables (the charts' axes round). */
export function formatTotal(value: number | null, format: ValueFormat): string {
  if (value === null || !Number.isFinite(value)) return "–";
  switch (format) {
    case "count":
      return INTEGER.format(value);
    case "percent":
      return `${(value * 100).toFixed(1)} %`;
    case "ms":
      return `${INTEGER.format(value)} ms`;
    case "usd":
      return `$${value < 1 ? value.toFixed(4) : value.toFixed(2)}`;
    default:
      return value.toFixed(2);
  }
}
