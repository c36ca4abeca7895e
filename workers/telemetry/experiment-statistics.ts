import type {
  ExperimentMetricRef,
  ExperimentStatistics,
  MetricStatistic,
} from "@cuecard/core/experiment-results";
import {
  EXPERIMENT_STATISTICS_DAYS_MAX,
  EXPERIMENT_STATISTICS_METRICS_MAX,
} from "@cuecard/core/limits";
import type { FieldError } from "@cuecard/core/problem";
import { LATENCY_BUCKETS_MS, TELEMETRY_NAME_MAX } from "@cuecard/core/telemetry";
import { ISO_TIME_WITH_ZONE } from "./event-rules";

/**
 * Experiment statistics from the per-unit tables: everything is aggregated per unit first (the
 * unit of randomisation is the unit of analysis), in SQL, so no per-unit row reaches JavaScript.
 *
 * Snapshots as of the end of each UTC day come from one pass over the per-unit-per-day rows: a
 * window function gives each row the unit's cumulative totals, and the row contributes the
 * *change* in the unit's value, square and cross product (c² − (c − Δ)²). Summing those changes
 * per day and then cumulating over days gives Σx, Σx² and Σxy across units as of any day — the
 * cost is one scan of the rows, not one per day.
 */

/** The body of `POST /internal/projects/{projectId}/experiments/{experimentId}/statistics`. */
export interface StatisticsRequest {
  metrics: ExperimentMetricRef[];
  since?: string;
  until?: string;
}

/** Ample for the most metrics a request may name (each name at most TELEMETRY_NAME_MAX). */
export const STATISTICS_BODY_MAX_BYTES = 16 * 1024;

const NAMED_KINDS = ["score", "conversion"] as const;
const BUILT_IN_KINDS = ["error_rate", "latency_p95", "ttft_p95", "cost", "tokens"] as const;
const METRIC_KINDS: readonly string[] = [...NAMED_KINDS, ...BUILT_IN_KINDS];

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Checks the body by hand, like every telemetry input: the request, or every field at fault. */
export function checkStatisticsRequest(
  raw: unknown,
): { ok: true; request: StatisticsRequest } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const fail = (field: string, message: string) => errors.push({ field, message });
  if (!isObject(raw))
    return { ok: false, errors: [{ field: "body", message: "must be an object" }] };
  for (const key of Object.keys(raw)) {
    if (!["metrics", "since", "until"].includes(key)) fail(`body.${key}`, "is not a known field");
  }
  const metrics: ExperimentMetricRef[] = [];
  if (!Array.isArray(raw.metrics) || raw.metrics.length === 0) {
    fail("body.metrics", "must be a non-empty array of metrics");
  } else if (raw.metrics.length > EXPERIMENT_STATISTICS_METRICS_MAX) {
    fail("body.metrics", `must have at most ${EXPERIMENT_STATISTICS_METRICS_MAX} metrics`);
  } else {
    for (const [index, metric] of (raw.metrics as unknown[]).entries()) {
      const at = `body.metrics[${index}]`;
      if (!isObject(metric) || typeof metric.kind !== "string") {
        fail(at, "must be an object with a kind");
        continue;
      }
      const { kind, name, ...rest } = metric;
      if (!METRIC_KINDS.includes(kind)) {
        fail(`${at}.kind`, `must be one of ${METRIC_KINDS.join(", ")}`);
        continue;
      }
      for (const key of Object.keys(rest)) fail(`${at}.${key}`, "is not a known field");
      if ((NAMED_KINDS as readonly string[]).includes(kind)) {
        if (typeof name !== "string" || name.length === 0 || name.length > TELEMETRY_NAME_MAX) {
          fail(`${at}.name`, `must be a name of 1 to ${TELEMETRY_NAME_MAX} characters`);
          continue;
        }
        metrics.push({ kind: kind as (typeof NAMED_KINDS)[number], name });
      } else {
        if (name !== undefined) fail(`${at}.name`, `a ${kind} metric has no name`);
        else metrics.push({ kind: kind as (typeof BUILT_IN_KINDS)[number] });
      }
    }
  }
  const time = (key: "since" | "until"): string | undefined => {
    const value = raw[key];
    if (value === undefined) return undefined;
    if (typeof value !== "string" || !ISO_TIME_WITH_ZONE.test(value)) {
      fail(`body.${key}`, "must be an ISO 8601 time with a zone, e.g. 2026-07-01T00:00:00Z");
      return undefined;
    }
    return new Date(Date.parse(value)).toISOString();
  };
  const since = time("since");
  const until = time("until");
  if (since !== undefined && until !== undefined && since >= until) {
    fail("body.since", "must be before `until`");
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    request: {
      metrics,
      ...(since === undefined ? {} : { since }),
      ...(until === undefined ? {} : { until }),
    },
  };
}

const DAY_MS = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * The window as whole UTC days, `[fromDay, toDay)`: per-unit rows are kept per day, so `since` is
 * rounded down to its day and `until` up to the end of its day. Compared with ISO strings, a day
 * (`2026-07-01`) sorts before every time of that day, so `hour >= fromDay AND hour < toDay` works.
 */
export function statisticsWindow(request: StatisticsRequest): { fromDay: string; toDay: string } {
  return {
    fromDay: request.since ? request.since.slice(0, 10) : "0000-01-01",
    toDay: request.until ? dayOf(Date.parse(request.until) - 1 + DAY_MS) : "9999-12-31",
  };
}

/** Calls per unit: the three ratio metrics over calls share one query. */
const CALL_RATIOS = {
  error_rate: "e",
  cost: "k",
  tokens: "t",
} as const satisfies Partial<Record<ExperimentMetricRef["kind"], string>>;

const UNIT_CALLS = `
WITH unit_days AS (
  SELECT variant, day, calls AS c, errors AS e, cost_usd AS k, input_tokens + output_tokens AS t,
    sum(calls) OVER w AS cc, sum(errors) OVER w AS ce, sum(cost_usd) OVER w AS ck,
    sum(input_tokens + output_tokens) OVER w AS ct
  FROM experiment_unit_calls
  WHERE project_id = ?1 AND experiment_id = ?2 AND day >= ?3 AND day < ?4
  WINDOW w AS (PARTITION BY variant, unit ORDER BY day ROWS UNBOUNDED PRECEDING)
)
SELECT variant, day, sum(cc = c) AS units,
  total(c) AS den, total(cc * cc - (cc - c) * (cc - c)) AS den_sq,
  total(e) AS e_num, total(ce * ce - (ce - e) * (ce - e)) AS e_sq, total(ce * cc - (ce - e) * (cc - c)) AS e_cross,
  total(k) AS k_num, total(ck * ck - (ck - k) * (ck - k)) AS k_sq, total(ck * cc - (ck - k) * (cc - c)) AS k_cross,
  total(t) AS t_num, total(ct * ct - (ct - t) * (ct - t)) AS t_sq, total(ct * cc - (ct - t) * (cc - c)) AS t_cross
FROM unit_days GROUP BY variant, day`;

const UNIT_SCORES = `
WITH unit_days AS (
  SELECT variant, name, day, n, sum AS s,
    sum(n) OVER w AS cn, sum(sum) OVER w AS cs
  FROM experiment_unit_scores
  WHERE project_id = ?1 AND experiment_id = ?2 AND day >= ?3 AND day < ?4
    AND name IN (SELECT value FROM json_each(?5))
  WINDOW w AS (PARTITION BY variant, unit, name ORDER BY day ROWS UNBOUNDED PRECEDING)
)
SELECT name, variant, day, sum(cn = n) AS units,
  total(n) AS den, total(cn * cn - (cn - n) * (cn - n)) AS den_sq,
  total(s) AS num, total(cs * cs - (cs - s) * (cs - s)) AS num_sq, total(cs * cn - (cs - s) * (cn - n)) AS cross
FROM unit_days GROUP BY name, variant, day`;

const EXPOSURES = `
SELECT variant, substr(first_exposed_at, 1, 10) AS day, count(*) AS units
FROM experiment_exposures
WHERE project_id = ?1 AND experiment_id = ?2 AND first_exposed_at >= ?3 AND first_exposed_at < ?4
GROUP BY variant, day`;

// A unit converts on the day of its first conversion at or after its first exposure's hour
// (conversions are kept per hour, so that hour is the finest line there is). SQLite takes the
// bare e.variant from the unit's one exposure row.
const CONVERSIONS = `
SELECT name, variant, day, count(*) AS converted FROM (
  SELECT c.name AS name, e.variant AS variant, substr(min(c.hour), 1, 10) AS day
  FROM experiment_exposures AS e
  JOIN unit_conversions AS c ON c.project_id = e.project_id AND c.unit = e.unit
    AND c.hour >= substr(e.first_exposed_at, 1, 13) || ':00:00.000Z'
  WHERE e.project_id = ?1 AND e.experiment_id = ?2
    AND e.first_exposed_at >= ?3 AND e.first_exposed_at < ?4 AND c.hour < ?4
    AND c.name IN (SELECT value FROM json_each(?5))
  GROUP BY e.unit, c.name
) GROUP BY name, variant, day`;

const HISTOGRAMS = `
SELECT metric, variant, substr(hour, 1, 10) AS day, bucket, sum(count) AS count
FROM latency_histograms
WHERE project_id = ?1 AND experiment_id = ?2 AND hour >= ?3 AND hour < ?4
  AND metric IN (SELECT value FROM json_each(?5))
GROUP BY metric, variant, day, bucket`;

const QUANTILE_METRIC = { latency_p95: "latency", ttft_p95: "ttft" } as const;
const QUANTILE = 0.95;
/** Histogram counts per variant: one per bucket of LATENCY_BUCKETS_MS plus the overflow bucket. */
const HISTOGRAM_LENGTH = LATENCY_BUCKETS_MS.length + 1;

type Row = Record<string, unknown>;

/**
 * Per series (a metric's variant, or a variant's exposures) and day, the changes that day
 * contributed; cumulated in day order they give the statistic as of each day's end.
 */
class DailyChanges {
  private readonly byDay = new Map<string, number[]>();
  constructor(private readonly width: number) {}
  add(day: string, change: readonly number[]) {
    const current = this.byDay.get(day) ?? new Array<number>(this.width).fill(0);
    change.forEach((value, index) => {
      current[index] = (current[index] ?? 0) + value;
    });
    this.byDay.set(day, current);
  }
  changeOn(day: string): readonly number[] | undefined {
    return this.byDay.get(day);
  }
}

/** What one requested metric reads, and how its running totals become a statistic. */
interface MetricSeries {
  width: number;
  perVariant: Map<string, DailyChanges>;
  statistic: (totals: readonly number[]) => MetricStatistic;
}

function series(width: number, statistic: MetricSeries["statistic"]): MetricSeries {
  return { width, perVariant: new Map(), statistic };
}

function changesOf(target: MetricSeries, variant: string): DailyChanges {
  let changes = target.perVariant.get(variant);
  if (!changes) {
    changes = new DailyChanges(target.width);
    target.perVariant.set(variant, changes);
  }
  return changes;
}

// Running totals: [units, numeratorSum, numeratorSumSquares, denominatorSum, denominatorSumSquares, crossSum].
const ratio = (t: readonly number[]): MetricStatistic => ({
  kind: "ratio",
  units: t[0] ?? 0,
  numeratorSum: t[1] ?? 0,
  numeratorSumSquares: t[2] ?? 0,
  denominatorSum: t[3] ?? 0,
  denominatorSumSquares: t[4] ?? 0,
  crossSum: t[5] ?? 0,
});

const n = (row: Row, column: string) => Number(row[column] ?? 0);

/** The experiment's statistics over the window, with cumulative daily snapshots. */
export async function experimentStatistics(
  db: D1Database,
  projectId: string,
  experimentId: string,
  request: StatisticsRequest,
): Promise<ExperimentStatistics> {
  const { fromDay, toDay } = statisticsWindow(request);
  const kinds = new Set(request.metrics.map((metric) => metric.kind));
  const namesOf = (kind: "score" | "conversion") =>
    JSON.stringify([...new Set(request.metrics.flatMap((m) => (m.kind === kind ? [m.name] : [])))]);
  const histogramMetrics = JSON.stringify(
    request.metrics.flatMap((m) =>
      m.kind === "latency_p95" || m.kind === "ttft_p95" ? [QUANTILE_METRIC[m.kind]] : [],
    ),
  );
  const needsCalls = request.metrics.some((m) => m.kind !== "score" && m.kind !== "conversion");
  const bind = (sql: string, names?: string) =>
    names === undefined
      ? db.prepare(sql).bind(projectId, experimentId, fromDay, toDay)
      : db.prepare(sql).bind(projectId, experimentId, fromDay, toDay, names);

  // Exposures carry their own time, so they are cut at `since` itself, not at its day: units
  // first exposed since a stage's weights took effect are exactly the ones those weights assigned.
  const exposuresSince = db
    .prepare(EXPOSURES)
    .bind(projectId, experimentId, request.since ?? fromDay, toDay);
  // Only the queries the metrics need, in one round trip.
  const queries: { name: string; statement: D1PreparedStatement }[] = [
    { name: "exposures", statement: exposuresSince },
  ];
  if (needsCalls) queries.push({ name: "calls", statement: bind(UNIT_CALLS) });
  if (kinds.has("score")) {
    queries.push({ name: "scores", statement: bind(UNIT_SCORES, namesOf("score")) });
  }
  if (kinds.has("conversion")) {
    queries.push({ name: "conversions", statement: bind(CONVERSIONS, namesOf("conversion")) });
  }
  if (kinds.has("latency_p95") || kinds.has("ttft_p95")) {
    queries.push({ name: "histograms", statement: bind(HISTOGRAMS, histogramMetrics) });
  }
  const answers = await db.batch<Row>(queries.map((query) => query.statement));
  const rowsOf = (name: string): Row[] =>
    answers[queries.findIndex((query) => query.name === name)]?.results ?? [];

  const variants = new Set<string>();
  const days = new Set<string>();
  const seen = (row: Row) => {
    variants.add(String(row.variant));
    days.add(String(row.day));
  };

  const exposures = series(1, () => ({ kind: "mean", units: 0, sum: 0, sumSquares: 0 }));
  for (const row of rowsOf("exposures")) {
    seen(row);
    changesOf(exposures, String(row.variant)).add(String(row.day), [n(row, "units")]);
  }

  const seriesOf = (metric: ExperimentMetricRef): MetricSeries => {
    switch (metric.kind) {
      case "error_rate":
      case "cost":
      case "tokens": {
        const target = series(6, ratio);
        const p = CALL_RATIOS[metric.kind];
        for (const row of rowsOf("calls")) {
          seen(row);
          changesOf(target, String(row.variant)).add(String(row.day), [
            n(row, "units"),
            n(row, `${p}_num`),
            n(row, `${p}_sq`),
            n(row, "den"),
            n(row, "den_sq"),
            n(row, `${p}_cross`),
          ]);
        }
        return target;
      }
      case "score": {
        // A unit's score is its mean score (sum / n); booleans are 0/1, so that is a rate.
        const target = series(6, ratio);
        for (const row of rowsOf("scores")) {
          if (row.name !== metric.name) continue;
          seen(row);
          changesOf(target, String(row.variant)).add(String(row.day), [
            n(row, "units"),
            n(row, "num"),
            n(row, "num_sq"),
            n(row, "den"),
            n(row, "den_sq"),
            n(row, "cross"),
          ]);
        }
        return target;
      }
      case "conversion": {
        // Over every exposed unit: [units exposed, units converted]. A unit's value is 0 or 1.
        const target = series(2, (t) => ({
          kind: "mean",
          units: t[0] ?? 0,
          sum: t[1] ?? 0,
          sumSquares: t[1] ?? 0,
        }));
        for (const row of rowsOf("exposures")) {
          changesOf(target, String(row.variant)).add(String(row.day), [n(row, "units"), 0]);
        }
        for (const row of rowsOf("conversions")) {
          if (row.name !== metric.name) continue;
          seen(row);
          changesOf(target, String(row.variant)).add(String(row.day), [0, n(row, "converted")]);
        }
        return target;
      }
      case "latency_p95":
      case "ttft_p95": {
        // [units with calls, count per bucket…]
        const target = series(1 + HISTOGRAM_LENGTH, (t) => ({
          kind: "quantile",
          units: t[0] ?? 0,
          quantile: QUANTILE,
          counts: t.slice(1),
        }));
        for (const row of rowsOf("calls")) {
          seen(row);
          changesOf(target, String(row.variant)).add(String(row.day), [n(row, "units")]);
        }
        for (const row of rowsOf("histograms")) {
          if (row.metric !== QUANTILE_METRIC[metric.kind]) continue;
          seen(row);
          const bucket = Math.min(Math.max(n(row, "bucket"), 0), HISTOGRAM_LENGTH - 1);
          const change = new Array<number>(1 + HISTOGRAM_LENGTH).fill(0);
          change[1 + bucket] = n(row, "count");
          changesOf(target, String(row.variant)).add(String(row.day), change);
        }
        return target;
      }
    }
  };
  const metricSeries = request.metrics.map(seriesOf);

  // Every day from the first with data to the last, gaps included (a day without data repeats
  // the previous snapshot): a chart of the effect over time then has one point per day.
  const sortedDays = [...days].sort();
  const allDays: string[] = [];
  const first = sortedDays[0];
  const last = sortedDays[sortedDays.length - 1];
  if (first !== undefined && last !== undefined) {
    for (let at = Date.parse(first); at <= Date.parse(last); at += DAY_MS) allDays.push(dayOf(at));
  }
  const sortedVariants = [...variants].sort();
  const keptFrom = Math.max(0, allDays.length - EXPERIMENT_STATISTICS_DAYS_MAX);

  const running = (target: MetricSeries) =>
    new Map(
      sortedVariants.map((variant) => [variant, new Array<number>(target.width).fill(0)] as const),
    );
  const exposureTotals = running(exposures);
  const metricTotals = metricSeries.map(running);
  const snapshot = () => ({
    exposedUnits: Object.fromEntries(
      sortedVariants.map((variant) => [variant, exposureTotals.get(variant)?.[0] ?? 0]),
    ),
    metrics: request.metrics.map((metric, index) => {
      const target = metricSeries[index] as MetricSeries;
      const totals = metricTotals[index] as Map<string, number[]>;
      return {
        metric,
        variants: Object.fromEntries(
          sortedVariants.map((variant) => [
            variant,
            target.statistic(totals.get(variant) ?? new Array<number>(target.width).fill(0)),
          ]),
        ),
      };
    }),
  });

  const advance = (target: MetricSeries, totals: Map<string, number[]>, day: string) => {
    for (const [variant, changes] of target.perVariant) {
      const change = changes.changeOn(day);
      const sums = totals.get(variant);
      if (!change || !sums) continue;
      change.forEach((value, index) => {
        sums[index] = (sums[index] ?? 0) + value;
      });
    }
  };

  const daily: ExperimentStatistics["days"] = [];
  allDays.forEach((day, index) => {
    advance(exposures, exposureTotals, day);
    metricSeries.forEach((target, m) => {
      advance(target, metricTotals[m] as Map<string, number[]>, day);
    });
    if (index >= keptFrom) daily.push({ day, ...snapshot() });
  });

  return { experimentId, ...snapshot(), days: daily };
}
