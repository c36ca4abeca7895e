import { VERSION_MAX } from "@cuecard/core/limits";
import { labelProblem, promptNameProblem } from "@cuecard/core/names";
import {
  histogramQuantile,
  LATENCY_BUCKETS_MS,
  METRICS_GRANULARITIES,
  METRICS_GROUPINGS,
  type MetricsGranularity,
  type MetricsGrouping,
  type MetricsPoint,
  type MetricsSeries,
  type PromptMetrics,
  type ScoreSummary,
} from "@cuecard/core/telemetry";
import { z } from "zod";

/** How far one query may reach: hourly points for a month, daily points for a year. */
export const METRICS_RANGE_MAX_DAYS: Record<MetricsGranularity, number> = { hour: 31, day: 366 };
/** Without `from`/`to`: the last 7 days. */
export const METRICS_RANGE_DEFAULT_DAYS = 7;

const DAY_MS = 86_400_000;
const PERIOD_MS: Record<MetricsGranularity, number> = { hour: 3_600_000, day: DAY_MS };

/** A string checked by one of the shared rules (core/names.ts), with the rule's message. */
const ruled = (problemOf: (value: string) => string | undefined) =>
  z.string().superRefine((value, ctx) => {
    const problem = problemOf(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

export const promptName = ruled(promptNameProblem);

export const metricsQuery = z
  .object({
    groupBy: z.enum(METRICS_GROUPINGS).default("version"),
    granularity: z.enum(METRICS_GRANULARITIES).default("hour"),
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    version: z.coerce.number().int().min(1).max(VERSION_MAX).optional(),
    label: ruled(labelProblem).optional(),
  })
  .strict();

export type MetricsQuery = z.output<typeof metricsQuery>;

export interface MetricsRange {
  /** Start of the first period (from, rounded down to its hour or day). */
  from: number;
  /** End of the last period, exclusive (to, rounded up). */
  to: number;
}

/**
 * The periods a query covers: whole hours or days (rollups have no finer grain), so `from` is
 * rounded down and `to` up. Null with the reason when the range is backwards or too long.
 */
export function metricsRange(
  query: MetricsQuery,
  now: number,
): { range: MetricsRange } | { problem: { field: string; message: string } } {
  const period = PERIOD_MS[query.granularity];
  const to = query.to ? Date.parse(query.to) : now;
  const from = query.from ? Date.parse(query.from) : to - METRICS_RANGE_DEFAULT_DAYS * DAY_MS;
  if (from >= to) return { problem: { field: "query.from", message: "must be before `to`" } };
  const maxDays = METRICS_RANGE_MAX_DAYS[query.granularity];
  if (to - from > maxDays * DAY_MS) {
    return {
      problem: {
        field: "query.from",
        message: `the range must be at most ${maxDays} days with granularity=${query.granularity}`,
      },
    };
  }
  return {
    range: {
      from: Math.floor(from / period) * period,
      to: Math.ceil(to / period) * period,
    },
  };
}

interface Accumulator {
  start: string;
  calls: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  latency: number[];
  ttft: number[];
  scores: Map<string, { n: number; sum: number; sumSquares: number }>;
}

function emptyAccumulator(start: string): Accumulator {
  const buckets = () => new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  return {
    start,
    calls: 0,
    errors: 0,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    latency: buckets(),
    ttft: buckets(),
    scores: new Map(),
  };
}

/** Sample standard deviation from n, sum and sum of squares (0 for a single score). */
function scoreSummary({
  n,
  sum,
  sumSquares,
}: {
  n: number;
  sum: number;
  sumSquares: number;
}): ScoreSummary {
  const mean = sum / n;
  // Rounding can leave a tiny negative variance when all values are equal.
  const variance = n > 1 ? Math.max(0, (sumSquares - (sum * sum) / n) / (n - 1)) : 0;
  return { n, mean, sd: Math.sqrt(variance) };
}

function pointOf(acc: Accumulator): MetricsPoint {
  return {
    start: acc.start,
    calls: acc.calls,
    errors: acc.errors,
    errorRate: acc.calls > 0 ? acc.errors / acc.calls : null,
    latencyMs: {
      p50: histogramQuantile(acc.latency, 0.5),
      p95: histogramQuantile(acc.latency, 0.95),
    },
    timeToFirstTokenMs: {
      p50: histogramQuantile(acc.ttft, 0.5),
      p95: histogramQuantile(acc.ttft, 0.95),
    },
    inputTokens: acc.inputTokens,
    outputTokens: acc.outputTokens,
    costUsd: acc.costUsd,
    scores: Object.fromEntries(
      [...acc.scores]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, s]) => [name, scoreSummary(s)]),
    ),
  };
}

const SERIES_COLUMNS: Record<MetricsGrouping, string> = {
  version: "prompt_version AS version, NULL AS label, NULL AS experiment_id, NULL AS variant",
  label: "NULL AS version, label, NULL AS experiment_id, NULL AS variant",
  variant: "NULL AS version, NULL AS label, experiment_id, variant",
};
const SERIES_GROUP: Record<MetricsGrouping, string> = {
  version: "prompt_version",
  label: "label",
  variant: "experiment_id, variant",
};
const PERIOD: Record<MetricsGranularity, string> = {
  hour: "hour",
  day: "substr(hour, 1, 10) || 'T00:00:00.000Z'",
};

interface SeriesRow {
  version: number | null;
  label: string | null;
  experiment_id: string | null;
  variant: string | null;
  period: string;
}

/** The prompt's metrics over the range, one series per version, label or variant. */
export async function promptMetrics(
  db: D1Database,
  projectId: string,
  prompt: string,
  query: MetricsQuery,
  range: MetricsRange,
): Promise<PromptMetrics> {
  const { groupBy, granularity } = query;
  const where = [
    "project_id = ?1",
    "prompt_name = ?2",
    "hour >= ?3",
    "hour < ?4",
    "(?5 IS NULL OR prompt_version = ?5)",
    "(?6 IS NULL OR label = ?6)",
    ...(groupBy === "variant" ? ["experiment_id <> ''"] : []),
  ].join(" AND ");
  const select = `${SERIES_COLUMNS[groupBy]}, ${PERIOD[granularity]} AS period`;
  const group = `${SERIES_GROUP[groupBy]}, period`;
  const params = [
    projectId,
    prompt,
    new Date(range.from).toISOString(),
    new Date(range.to).toISOString(),
    query.version ?? null,
    query.label ?? null,
  ];
  const statement = (sql: string) => db.prepare(sql).bind(...params);
  const [calls, histograms, scores] = await db.batch<Record<string, unknown>>([
    statement(
      `SELECT ${select}, sum(calls) AS calls, sum(errors) AS errors, sum(input_tokens) AS input_tokens,
         sum(output_tokens) AS output_tokens, total(cost_usd) AS cost_usd
       FROM generation_rollups WHERE ${where} GROUP BY ${group}`,
    ),
    statement(
      `SELECT ${select}, metric, bucket, sum(count) AS count
       FROM latency_histograms WHERE ${where} GROUP BY ${group}, metric, bucket`,
    ),
    statement(
      `SELECT ${select}, name, sum(n) AS n, total(sum) AS sum, total(sum_squares) AS sum_squares
       FROM score_rollups WHERE ${where} GROUP BY ${group}, name`,
    ),
  ]);

  const series = new Map<
    string,
    {
      meta: Omit<MetricsSeries, "points" | "total">;
      points: Map<string, Accumulator>;
      total: Accumulator;
    }
  >();
  const from = new Date(range.from).toISOString();
  const accumulatorsOf = (row: SeriesRow): Accumulator[] => {
    const key = JSON.stringify([row.version, row.label, row.experiment_id, row.variant]);
    let entry = series.get(key);
    if (!entry) {
      const meta: Omit<MetricsSeries, "points" | "total"> =
        groupBy === "version"
          ? { version: row.version as number }
          : groupBy === "label"
            ? { label: row.label === "" ? null : row.label }
            : { experimentId: row.experiment_id as string, variant: row.variant as string };
      entry = { meta, points: new Map(), total: emptyAccumulator(from) };
      series.set(key, entry);
    }
    let point = entry.points.get(row.period);
    if (!point) {
      point = emptyAccumulator(row.period);
      entry.points.set(row.period, point);
    }
    return [point, entry.total];
  };

  for (const row of calls?.results ?? []) {
    for (const acc of accumulatorsOf(row as unknown as SeriesRow)) {
      acc.calls += Number(row.calls);
      acc.errors += Number(row.errors);
      acc.inputTokens += Number(row.input_tokens);
      acc.outputTokens += Number(row.output_tokens);
      acc.costUsd += Number(row.cost_usd);
    }
  }
  for (const row of histograms?.results ?? []) {
    for (const acc of accumulatorsOf(row as unknown as SeriesRow)) {
      const histogram = row.metric === "ttft" ? acc.ttft : acc.latency;
      const bucket = Number(row.bucket);
      histogram[bucket] = (histogram[bucket] ?? 0) + Number(row.count);
    }
  }
  for (const row of scores?.results ?? []) {
    for (const acc of accumulatorsOf(row as unknown as SeriesRow)) {
      const name = String(row.name);
      const score = acc.scores.get(name) ?? { n: 0, sum: 0, sumSquares: 0 };
      score.n += Number(row.n);
      score.sum += Number(row.sum);
      score.sumSquares += Number(row.sum_squares);
      acc.scores.set(name, score);
    }
  }

  const ordered = [...series.values()].sort((a, b) => compareSeries(a.meta, b.meta));
  return {
    prompt,
    groupBy,
    granularity,
    from,
    to: new Date(range.to).toISOString(),
    series: ordered.map((entry) => ({
      ...entry.meta,
      points: [...entry.points.values()]
        .sort((a, b) => a.start.localeCompare(b.start))
        .map(pointOf),
      total: pointOf(entry.total),
    })),
  };
}

function compareSeries(a: Partial<MetricsSeries>, b: Partial<MetricsSeries>): number {
  if (a.version !== undefined && b.version !== undefined) return a.version - b.version;
  if (a.label !== undefined || b.label !== undefined) {
    // Pinned calls (label null) first, then labels by name.
    return (a.label ?? "").localeCompare(b.label ?? "");
  }
  return `${a.experimentId}\u0000${a.variant}`.localeCompare(`${b.experimentId}\u0000${b.variant}`);
}

/** Distinct units per variant of an experiment (each unit counted once, under its first variant). */
export async function experimentExposures(
  db: D1Database,
  projectId: string,
  experimentId: string,
): Promise<{
  experimentId: string;
  variants: { variant: string; units: number; exposures: number; firstExposedAt: string }[];
}> {
  const { results } = await db
    .prepare(
      `SELECT variant, count(*) AS units, sum(exposures) AS exposures, min(first_exposed_at) AS first_exposed_at
       FROM experiment_exposures WHERE project_id = ?1 AND experiment_id = ?2
       GROUP BY variant ORDER BY variant`,
    )
    .bind(projectId, experimentId)
    .all<{ variant: string; units: number; exposures: number; first_exposed_at: string }>();
  return {
    experimentId,
    variants: results.map((row) => ({
      variant: row.variant,
      units: row.units,
      exposures: row.exposures,
      firstExposedAt: row.first_exposed_at,
    })),
  };
}
