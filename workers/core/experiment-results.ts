/**
 * The contract between the telemetry worker (which aggregates per unit), the admin worker's
 * results module (which runs the statistics), and their readers (API, UI, CLI). Types only.
 *
 * The unit of analysis is the unit of randomisation: every mean and ratio statistic below is
 * summed over *units* (one value per unit), never over calls, so a unit with many calls cannot
 * shrink the variance.
 */

/** Σx and Σx² over units: the metric's value is one number per unit (e.g. converted 0/1). */
export interface MeanStatistic {
  kind: "mean";
  /** Units in the variant (exposed units, including those whose value is 0). */
  units: number;
  sum: number;
  sumSquares: number;
}

/**
 * A ratio metric summed over units (numerator and denominator per unit, e.g. errors / calls,
 * cost / calls, score sum / score count): analysed with the delta method.
 */
export interface RatioStatistic {
  kind: "ratio";
  /** Units with a denominator above 0. */
  units: number;
  numeratorSum: number;
  numeratorSumSquares: number;
  denominatorSum: number;
  denominatorSumSquares: number;
  /** Σ numerator × denominator over units. */
  crossSum: number;
}

/**
 * A quantile metric (latency p95, time-to-first-token p95): the variant's call histogram over
 * LATENCY_BUCKETS_MS (@cuecard/core/telemetry), plus the number of units the calls came from.
 */
export interface QuantileStatistic {
  kind: "quantile";
  units: number;
  /** The quantile asked for, e.g. 0.95. */
  quantile: number;
  /**
   * Calls per LATENCY_BUCKETS_MS bucket, plus the overflow bucket last (LATENCY_BUCKETS_MS.length
   * + 1 entries, as latencyBucket() numbers them; histogramQuantile() reads it as is).
   */
  counts: number[];
}

export type MetricStatistic = MeanStatistic | RatioStatistic | QuantileStatistic;

/** A metric as an experiment names it (see the experiments module's `Metric`). */
export type ExperimentMetricRef =
  | { kind: "score" | "conversion"; name: string }
  | { kind: "error_rate" | "latency_p95" | "ttft_p95" | "cost" | "tokens" };

/**
 * What the telemetry worker answers at
 * `POST /internal/projects/{projectId}/experiments/{experimentId}/statistics`
 * with the body `{ metrics: ExperimentMetricRef[], since?: string, until?: string }`.
 */
export interface ExperimentStatistics {
  experimentId: string;
  /** Distinct exposed units per variant key (the SRM check's observed counts). */
  exposedUnits: Record<string, number>;
  /** One entry per requested metric, in request order. */
  metrics: {
    metric: ExperimentMetricRef;
    /** Per variant key. A variant with no data is present with units 0. */
    variants: Record<string, MetricStatistic>;
  }[];
  /**
   * Cumulative snapshots by UTC day (the effect over time): the same shape at the end of each
   * day since the first exposure, oldest first.
   */
  days: {
    day: string;
    exposedUnits: Record<string, number>;
    metrics: ExperimentStatistics["metrics"];
  }[];
}

export type IntervalKind = "sequential" | "fixed" | "bayesian";
export type GuardrailState = "ok" | "failing" | "not_enough_data";
export type ExperimentDecision =
  /** Below the minimum sample, or no data at all. */
  | "not_enough_data"
  /** The sample-ratio mismatch check failed: no verdict until it is explained. */
  | "srm"
  | "guardrail_failed"
  | "no_winner_yet"
  | "winner";

/** One variant's figures for one metric. The control's effect fields are null. */
export interface VariantResult {
  variant: string;
  units: number;
  /** The metric's value (a mean, a rate, a ratio or a quantile), null without data. */
  value: number | null;
  /** Standard deviation of the per-unit values (null for quantiles and without data). */
  sd: number | null;
  absoluteEffect: number | null;
  relativeEffect: number | null;
  /** The interval of the relative effect (fractions: 0.05 = +5 %). */
  interval: [number, number] | null;
  /** Frequentist engines. */
  pValue: number | null;
  /** Bayesian engine: chance to beat the control, and the expected loss (risk) of choosing it. */
  chanceToWin: number | null;
  risk: number | null;
}

export interface MetricResult {
  metric: ExperimentMetricRef;
  role: "primary" | "guardrail";
  /** Whether a larger value is better (scores, conversions) or worse (errors, latency, cost). */
  higherIsBetter: boolean;
  variants: VariantResult[];
  /** Guardrails only: the allowed regression (%) and each treatment's state. */
  guardrail?: { maxRegressionPct: number; states: Record<string, GuardrailState> };
}

/** `GET /api/v1/projects/{project}/experiments/{id}/results`. */
export interface ExperimentResults {
  experimentId: string;
  engine: "frequentist" | "bayesian";
  intervalKind: IntervalKind;
  alpha: number;
  srm: {
    pValue: number | null;
    expected: Record<string, number>;
    observed: Record<string, number>;
  };
  minimumUnitsPerVariant: number;
  metrics: MetricResult[];
  decision: ExperimentDecision;
  /** The winning variant when the decision is "winner". */
  winner: string | null;
  /** Why the decision is what it is, in a sentence a person can act on. */
  reason: string;
  /** The primary metric's relative effect per day (cumulative data), per treatment. */
  overTime: {
    day: string;
    variants: Record<string, { relativeEffect: number | null; interval: [number, number] | null }>;
  }[];
  computedAt: string;
}
