import type {
  ExperimentDecision,
  ExperimentMetricRef,
  ExperimentResults,
  ExperimentStatistics,
  GuardrailState,
  IntervalKind,
  MetricResult,
  MetricStatistic,
  VariantResult,
} from "@cuecard/core/experiment-results";
import {
  bayesianTest,
  DEFAULT_SEQUENTIAL_TUNING,
  effectiveUnits,
  fixedHorizonTest,
  type GaussianPrior,
  proportionSummary,
  quantileEstimate,
  quantileRelativeEffect,
  ratioSummary,
  SRM_MINIMUM_UNITS,
  SRM_P_THRESHOLD,
  type Summary,
  sampleMeanSummary,
  sequentialTest,
  srmPValue,
} from "./stats";

/**
 * analyseExperiment: from the telemetry worker's per-unit aggregates and the experiment's design
 * to the results the API returns (figures per variant and metric, guardrail states, the
 * decision and why). Pure: no bindings, no clock unless `now` is left out.
 */

/** What the engine needs of an experiment (the experiments module's experiment fits it). */
export interface ExperimentDesign {
  control: { key: string; weight: number };
  /** The treatments, with the weights units are assigned by now. */
  variants: readonly { key: string; weight: number }[];
  metrics: {
    primary: ExperimentMetricRef;
    guardrails: readonly { metric: ExperimentMetricRef; maxRegressionPct: number }[];
  };
}

export interface AnalysisOptions {
  engine?: "frequentist" | "bayesian";
  /** Frequentist only: always-valid intervals (default) or fixed-horizon ones. */
  sequential?: boolean;
  alpha?: number;
  minimumUnitsPerVariant?: number;
  /** The sequential interval's tuning (the total units it is tightest at). */
  sequentialTuning?: number;
  /** Bayesian only: a proper prior on the relative effect; improper (flat) without one. */
  prior?: GaussianPrior;
  /** When the results are computed (computedAt); the current time without it. */
  now?: Date;
  /**
   * The exposed units per arm to judge the sample ratio on, when they differ from
   * `statistics.exposedUnits`: after a rollout stage changed the weights, only the units first
   * exposed since then were assigned by the design's (current) weights. Without it: all units.
   */
  srmExposedUnits?: Record<string, number>;
}

/**
 * The defaults. 100 units per variant before any verdict: below that a single unit moves a rate
 * by a percent or more, and the normal approximations the tests rest on are rough.
 */
export const RESULTS_DEFAULTS = {
  engine: "frequentist",
  sequential: true,
  alpha: 0.05,
  minimumUnitsPerVariant: 100,
  sequentialTuning: DEFAULT_SEQUENTIAL_TUNING,
} as const;

/** Scores and conversions are better higher; errors, latency, cost and tokens are better lower. */
export function higherIsBetter(metric: ExperimentMetricRef): boolean {
  return metric.kind === "score" || metric.kind === "conversion";
}

/** The metric as a person reads it in a reason. */
export function metricLabel(metric: ExperimentMetricRef): string {
  switch (metric.kind) {
    case "score":
      return `score "${metric.name}"`;
    case "conversion":
      return `conversion "${metric.name}"`;
    case "error_rate":
      return "error rate";
    case "latency_p95":
      return "p95 latency";
    case "ttft_p95":
      return "p95 time to first token";
    case "cost":
      return "cost per call";
    case "tokens":
      return "tokens per call";
  }
}

const sameMetric = (a: ExperimentMetricRef, b: ExperimentMetricRef) =>
  a.kind === b.kind && ("name" in a ? a.name : null) === ("name" in b ? b.name : null);

interface Settings {
  engine: "frequentist" | "bayesian";
  sequential: boolean;
  alpha: number;
  minimumUnits: number;
  tuning: number;
  prior?: GaussianPrior;
}

/** A metric's per-unit summary for the mean and ratio tests, or null for quantiles. */
function summaryOf(metric: ExperimentMetricRef, statistic: MetricStatistic): Summary | null {
  switch (statistic.kind) {
    case "mean":
      // A conversion whose per-unit values are all 0 or 1 (Σx² = Σx) is a proportion: gbstats
      // gives it the variance p(1 − p).
      if (metric.kind === "conversion" && statistic.sumSquares === statistic.sum) {
        return proportionSummary(statistic.units, statistic.sum);
      }
      return sampleMeanSummary(statistic.units, statistic.sum, statistic.sumSquares);
    case "ratio":
      return ratioSummary(statistic);
    case "quantile":
      return null;
  }
}

function emptyVariant(variant: string, units: number): VariantResult {
  return {
    variant,
    units,
    value: null,
    sd: null,
    absoluteEffect: null,
    relativeEffect: null,
    interval: null,
    pValue: null,
    chanceToWin: null,
    risk: null,
  };
}

function quantileCalls(statistic: MetricStatistic): number {
  return statistic.kind === "quantile" ? statistic.counts.reduce((sum, c) => sum + c, 0) : 0;
}

/** The figures of one treatment against the control on one metric. */
function compare(
  metric: ExperimentMetricRef,
  control: MetricStatistic,
  treatment: MetricStatistic,
  variant: string,
  settings: Settings,
): VariantResult {
  const result = emptyVariant(variant, treatment.units);
  const better = higherIsBetter(metric);
  if (treatment.kind === "quantile" && control.kind === "quantile") {
    // Each variant's interval at α/2 so that the two hold together at 1 − α.
    const options = {
      alpha: settings.alpha / 2,
      sequential:
        settings.engine === "frequentist" && settings.sequential
          ? { tuning: settings.tuning }
          : undefined,
    };
    const a = quantileEstimate(control.counts, control.quantile, {
      ...options,
      effectiveN: control.units,
    });
    const b = quantileEstimate(treatment.counts, treatment.quantile, {
      ...options,
      effectiveN: treatment.units,
    });
    if (!b) return result;
    result.value = b.value;
    if (!a) return result;
    result.absoluteEffect = b.value - a.value;
    const relative = quantileRelativeEffect(a, b);
    if (relative) {
      result.relativeEffect = relative.effect;
      // An unbounded side (too few calls, or a quantile in the first or the overflow bucket)
      // is no interval a reader can use, nor one a guardrail can be judged on.
      result.interval = relative.interval.every(Number.isFinite) ? relative.interval : null;
    }
    return result;
  }
  const a = summaryOf(metric, control);
  const b = summaryOf(metric, treatment);
  if (!a || !b || b.n === 0) return result;
  result.value = b.mean;
  result.sd = b.n > 1 ? Math.sqrt(b.variance) : null;
  if (a.n === 0) return result;
  result.absoluteEffect = b.mean - a.mean;
  result.relativeEffect = a.mean === 0 ? null : b.mean / a.mean - 1;
  if (thinRatio(control, settings) || thinRatio(treatment, settings)) return result;
  if (settings.engine === "bayesian") {
    const found = bayesianTest(a, b, { alpha: settings.alpha, prior: settings.prior });
    if (!found) return result;
    result.relativeEffect = found.effect;
    result.interval = found.interval;
    result.chanceToWin = better ? found.chanceAbove : 1 - found.chanceAbove;
    result.risk = better ? found.risk[1] : found.risk[0];
    return result;
  }
  const found = settings.sequential
    ? sequentialTest(a, b, { alpha: settings.alpha, tuning: settings.tuning })
    : fixedHorizonTest(a, b, { alpha: settings.alpha });
  if (!found) return result;
  result.relativeEffect = found.effect;
  result.interval = found.interval;
  result.pValue = found.pValue;
  return result;
}

/** A ratio whose calls come from too few units to be judged (see `effectiveUnits`). */
function thinRatio(statistic: MetricStatistic, settings: Settings): boolean {
  return (
    statistic.kind === "ratio" &&
    statistic.units > 0 &&
    effectiveUnits(statistic) < settings.minimumUnits
  );
}

/** The control's own row: its value and spread, no effect. */
function controlRow(metric: ExperimentMetricRef, statistic: MetricStatistic, key: string) {
  const result = emptyVariant(key, statistic.units);
  if (statistic.kind === "quantile") {
    if (quantileCalls(statistic) > 0) {
      result.value =
        quantileEstimate(statistic.counts, statistic.quantile, {
          alpha: 0.05,
          effectiveN: statistic.units,
        })?.value ?? null;
    }
    return result;
  }
  const summary = summaryOf(metric, statistic);
  if (summary && summary.n > 0) {
    result.value = summary.mean;
    result.sd = summary.n > 1 ? Math.sqrt(summary.variance) : null;
  }
  return result;
}

const noData = (): MetricStatistic => ({ kind: "mean", units: 0, sum: 0, sumSquares: 0 });

function analyseMetric(
  metric: ExperimentMetricRef,
  metrics: ExperimentStatistics["metrics"],
  design: ExperimentDesign,
  settings: Settings,
): VariantResult[] {
  const entry = metrics.find((candidate) => sameMetric(candidate.metric, metric));
  const statisticOf = (key: string) => entry?.variants[key] ?? noData();
  const control = statisticOf(design.control.key);
  return [
    controlRow(metric, control, design.control.key),
    ...design.variants.map((variant) =>
      compare(metric, control, statisticOf(variant.key), variant.key, settings),
    ),
  ];
}

/** "+12.3 %" for a relative effect (a fraction). */
function percent(fraction: number): string {
  if (!Number.isFinite(fraction)) return fraction > 0 ? "+∞ %" : "−∞ %";
  const value = fraction * 100;
  const digits = Math.abs(value) >= 10 ? 0 : 1;
  return `${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(digits)} %`;
}

function effectText(variant: VariantResult): string {
  if (variant.relativeEffect === null) return `${variant.variant}: no estimate`;
  const interval = variant.interval
    ? ` [${percent(variant.interval[0])}, ${percent(variant.interval[1])}]`
    : "";
  return `${variant.variant} ${percent(variant.relativeEffect)}${interval}`;
}

/** Whether a treatment's interval (or chance to win) clears the control in either direction. */
function verdict(
  variant: VariantResult,
  higher: boolean,
  settings: Settings,
): "better" | "worse" | "unclear" {
  if (settings.engine === "bayesian" && variant.chanceToWin !== null) {
    if (variant.chanceToWin >= 1 - settings.alpha) return "better";
    if (variant.chanceToWin <= settings.alpha) return "worse";
    return "unclear";
  }
  if (!variant.interval) return "unclear";
  const [low, high] = variant.interval;
  if (low > 0) return higher ? "better" : "worse";
  if (high < 0) return higher ? "worse" : "better";
  return "unclear";
}

/**
 * "No worse than X %": failing when the whole interval of the relative effect lies beyond X % in
 * the bad direction (the regression is established, not merely possible); not_enough_data below
 * the minimum sample or without an interval.
 */
function guardrailState(
  variant: VariantResult,
  controlUnits: number,
  higher: boolean,
  maxRegressionPct: number,
  minimumUnits: number,
): GuardrailState {
  if (variant.units < minimumUnits || controlUnits < minimumUnits || !variant.interval) {
    return "not_enough_data";
  }
  const allowed = maxRegressionPct / 100;
  const [low, high] = variant.interval;
  const failing = higher ? high < -allowed : low > allowed;
  return failing ? "failing" : "ok";
}

/** A treatment failing a guardrail, for the rollout cron to pause or roll back. */
export interface GuardrailRegression {
  variant: string;
  metric: ExperimentMetricRef;
  maxRegressionPct: number;
  relativeEffect: number | null;
  interval: [number, number] | null;
}

/** Every treatment × guardrail whose state is "failing". */
export function guardrailRegressions(results: ExperimentResults): GuardrailRegression[] {
  const found: GuardrailRegression[] = [];
  for (const metric of results.metrics) {
    if (!metric.guardrail) continue;
    for (const [variant, state] of Object.entries(metric.guardrail.states)) {
      if (state !== "failing") continue;
      const row = metric.variants.find((candidate) => candidate.variant === variant);
      found.push({
        variant,
        metric: metric.metric,
        maxRegressionPct: metric.guardrail.maxRegressionPct,
        relativeEffect: row?.relativeEffect ?? null,
        interval: row?.interval ?? null,
      });
    }
  }
  return found;
}

const count = (value: number) => value.toLocaleString("en-US");

export function analyseExperiment(
  statistics: ExperimentStatistics,
  design: ExperimentDesign,
  options: AnalysisOptions = {},
): ExperimentResults {
  const settings: Settings = {
    engine: options.engine ?? RESULTS_DEFAULTS.engine,
    sequential: options.sequential ?? RESULTS_DEFAULTS.sequential,
    alpha: options.alpha ?? RESULTS_DEFAULTS.alpha,
    minimumUnits: options.minimumUnitsPerVariant ?? RESULTS_DEFAULTS.minimumUnitsPerVariant,
    tuning: options.sequentialTuning ?? RESULTS_DEFAULTS.sequentialTuning,
    prior: options.prior,
  };
  const intervalKind: IntervalKind =
    settings.engine === "bayesian" ? "bayesian" : settings.sequential ? "sequential" : "fixed";
  const arms = [design.control, ...design.variants];
  const srmUnits = options.srmExposedUnits ?? statistics.exposedUnits;
  const exposed = (key: string) => srmUnits[key] ?? 0;

  // Sample-ratio mismatch: observed exposed units against the weights that assigned them.
  const observed = Object.fromEntries(arms.map((arm) => [arm.key, exposed(arm.key)]));
  const totalObserved = arms.reduce((sum, arm) => sum + exposed(arm.key), 0);
  const weightSum = arms.reduce((sum, arm) => sum + arm.weight, 0);
  const expected = Object.fromEntries(
    arms.map((arm) => [arm.key, weightSum > 0 ? (arm.weight / weightSum) * totalObserved : 0]),
  );
  const judgedArms = arms.filter((arm) => arm.weight > 0);
  const srmJudged = judgedArms.every((arm) => exposed(arm.key) >= SRM_MINIMUM_UNITS);
  const srmP = srmJudged
    ? srmPValue(
        judgedArms.map((arm) => exposed(arm.key)),
        judgedArms.map((arm) => arm.weight),
      )
    : null;

  const primary = design.metrics.primary;
  const metrics: MetricResult[] = [
    {
      metric: primary,
      role: "primary",
      higherIsBetter: higherIsBetter(primary),
      variants: analyseMetric(primary, statistics.metrics, design, settings),
    },
    ...design.metrics.guardrails.map((guardrail): MetricResult => {
      const higher = higherIsBetter(guardrail.metric);
      const variants = analyseMetric(guardrail.metric, statistics.metrics, design, settings);
      const controlUnits = variants[0]?.units ?? 0;
      const states = Object.fromEntries(
        variants
          .slice(1)
          .map((variant) => [
            variant.variant,
            guardrailState(
              variant,
              controlUnits,
              higher,
              guardrail.maxRegressionPct,
              settings.minimumUnits,
            ),
          ]),
      );
      return {
        metric: guardrail.metric,
        role: "guardrail",
        higherIsBetter: higher,
        variants,
        guardrail: { maxRegressionPct: guardrail.maxRegressionPct, states },
      };
    }),
  ];

  const decided = decide(statistics, design, settings, metrics, {
    srmP,
    observed,
    expected,
  });

  const overTime = statistics.days.map((day) => {
    const rows = analyseMetric(primary, day.metrics, design, settings).slice(1);
    return {
      day: day.day,
      variants: Object.fromEntries(
        rows.map((row) => [
          row.variant,
          { relativeEffect: row.relativeEffect, interval: row.interval },
        ]),
      ),
    };
  });

  return {
    experimentId: statistics.experimentId,
    engine: settings.engine,
    intervalKind,
    alpha: settings.alpha,
    srm: { pValue: srmP, expected, observed },
    minimumUnitsPerVariant: settings.minimumUnits,
    metrics,
    decision: decided.decision,
    winner: decided.winner,
    reason: decided.reason,
    overTime,
    computedAt: (options.now ?? new Date()).toISOString(),
  };
}

function decide(
  statistics: ExperimentStatistics,
  design: ExperimentDesign,
  settings: Settings,
  metrics: MetricResult[],
  srm: { srmP: number | null; observed: Record<string, number>; expected: Record<string, number> },
): { decision: ExperimentDecision; winner: string | null; reason: string } {
  const arms = [design.control, ...design.variants];
  const exposed = (key: string) => statistics.exposedUnits[key] ?? 0;

  if (srm.srmP !== null && srm.srmP < SRM_P_THRESHOLD) {
    const listed = arms
      .map(
        (arm) =>
          `${arm.key} ${count(srm.observed[arm.key] ?? 0)} (expected ${count(Math.round(srm.expected[arm.key] ?? 0))})`,
      )
      .join(", ");
    return {
      decision: "srm",
      winner: null,
      reason:
        `Sample-ratio mismatch (p = ${srm.srmP.toPrecision(2)}): exposed units ${listed} do not ` +
        "match the weights. Units are being assigned or counted unevenly (weights changed " +
        "mid-experiment, a variant failing before exposure is logged, bots); find the cause " +
        "before trusting any result.",
    };
  }

  const short = arms.filter((arm) => exposed(arm.key) < settings.minimumUnits);
  if (short.length > 0) {
    const listed = short.map((arm) => `${arm.key} has ${count(exposed(arm.key))}`).join(", ");
    return {
      decision: "not_enough_data",
      winner: null,
      reason:
        `Not enough data: each variant needs at least ${count(settings.minimumUnits)} exposed ` +
        `units and ${listed}. Keep the experiment running.`,
    };
  }
  const primary = metrics[0];
  const treatments = primary?.variants.slice(1) ?? [];
  const primaryName = primary ? metricLabel(primary.metric) : "the primary metric";
  const missing = treatments.filter((variant) => variant.interval === null);
  if (primary && missing.length > 0) {
    const entry = statistics.metrics.find((candidate) =>
      sameMetric(candidate.metric, primary.metric),
    );
    const thin = [design.control.key, ...missing.map((variant) => variant.variant)].flatMap(
      (key) => {
        const statistic = entry?.variants[key];
        return statistic?.kind === "ratio" && thinRatio(statistic, settings)
          ? [
              `${key}'s calls come mostly from a few units (as many as ${effectiveUnits(statistic).toFixed(1)} equal units)`,
            ]
          : [];
      },
    );
    if (thin.length > 0) {
      return {
        decision: "not_enough_data",
        winner: null,
        reason:
          `Not enough independent data on ${primaryName}: ${thin.join("; ")}, fewer than the ` +
          `${count(settings.minimumUnits)} needed. Look at those heavy units (a batch job, a ` +
          "test account) and exclude them, or wait for more units.",
      };
    }
  }
  if (!primary || missing.length > 0) {
    return {
      decision: "not_enough_data",
      winner: null,
      reason:
        `Not enough data on ${primaryName} to compare ${missing.map((v) => v.variant).join(", ")} ` +
        "with the control yet (too few units with a value, or no variation); check that the " +
        "app reports it, and keep the experiment running.",
    };
  }

  const failing = metrics.flatMap((metric) =>
    metric.guardrail
      ? Object.entries(metric.guardrail.states)
          .filter(([, state]) => state === "failing")
          .map(([variant]) => ({ metric, variant }))
      : [],
  );
  if (failing.length > 0) {
    const listed = failing
      .map(({ metric, variant }) => {
        const row = metric.variants.find((candidate) => candidate.variant === variant);
        return `${variant} makes ${metricLabel(metric.metric)} worse than the allowed ${metric.guardrail?.maxRegressionPct} % (${row ? effectText(row).slice(variant.length + 1) : "no estimate"})`;
      })
      .join("; ");
    return {
      decision: "guardrail_failed",
      winner: null,
      reason: `Guardrail failed: ${listed}. Stop or roll back the failing variant and investigate before going on.`,
    };
  }

  const higher = primary.higherIsBetter;
  const verdicts = treatments.map((variant) => ({
    variant,
    verdict: verdict(variant, higher, settings),
  }));
  const winners = verdicts
    .filter((entry) => entry.verdict === "better")
    .map((entry) => entry.variant)
    .sort((a, b) => {
      const gain = (row: VariantResult) => (row.relativeEffect ?? 0) * (higher ? 1 : -1);
      return gain(b) - gain(a);
    });
  const evidence = settings.engine === "bayesian" ? "chance to beat the control" : "interval";
  const best = winners[0];
  if (best) {
    const chance =
      best.chanceToWin === null
        ? ""
        : best.chanceToWin > 0.999
          ? ", over 99.9 % chance to win"
          : `, ${(best.chanceToWin * 100).toFixed(1)} % chance to win`;
    return {
      decision: "winner",
      winner: best.variant,
      reason:
        `${best.variant} beats the control on ${primaryName}: ${effectText(best).slice(best.variant.length + 1)}${chance}, ` +
        "and no guardrail fails. Promote it when you are ready.",
    };
  }
  if (verdicts.every((entry) => entry.verdict === "worse")) {
    return {
      decision: "winner",
      winner: design.control.key,
      reason:
        `The control wins: every treatment is worse on ${primaryName} (${treatments.map(effectText).join("; ")}). ` +
        "Stop the experiment and keep the control.",
    };
  }
  return {
    decision: "no_winner_yet",
    winner: null,
    reason:
      `No variant clearly differs from the control on ${primaryName} yet (${treatments.map(effectText).join("; ")}): ` +
      `the ${evidence} does not settle it. Keep it running, or stop if the possible effect is too small to matter.`,
  };
}
