import type { RatioStatistic } from "@cuecard/core/experiment-results";
import { histogramQuantile, LATENCY_BUCKETS_MS } from "@cuecard/core/telemetry";
import {
  chiSquareSf,
  normalCdf,
  normalPdf,
  normalQuantile,
  studentTQuantile,
  studentTTwoSidedP,
} from "./distributions";

/**
 * The statistics of experiment results, after GrowthBook's gbstats (0.8): Welch–Satterthwaite
 * t-tests, the delta method for ratio metrics and relative effects, gbstats' always-valid
 * sequential intervals, the Gaussian Bayesian model, and the χ² sample-ratio check. Pure
 * arithmetic over per-unit sums; the distributions come from ./distributions (jstat).
 *
 * Every function here is direction-neutral: an effect is treatment − control (or
 * treatment / control − 1), and "better" is decided by the caller, who knows the metric.
 */

/** One variant's estimate: units, the per-unit mean, and the per-unit variance. */
export interface Summary {
  n: number;
  mean: number;
  variance: number;
}

/** Σx and Σx² over units → mean and sample variance (n − 1), as gbstats' SampleMeanStatistic. */
export function sampleMeanSummary(n: number, sum: number, sumSquares: number): Summary {
  const mean = n > 0 ? sum / n : 0;
  const variance = n > 1 ? Math.max(0, (sumSquares - (sum * sum) / n) / (n - 1)) : 0;
  return { n, mean, variance };
}

/** Successes out of n units → the rate and p(1 − p), as gbstats' ProportionStatistic. */
export function proportionSummary(n: number, successes: number): Summary {
  const mean = n > 0 ? successes / n : 0;
  return { n, mean, variance: mean * (1 - mean) };
}

/**
 * A ratio metric (Σ numerator / Σ denominator over units) with its per-unit variance by the
 * delta method, as gbstats' RatioStatistic: Var(m)/d̄² − 2·Cov(m,d)·m̄/d̄³ + Var(d)·m̄²/d̄⁴.
 * This is what keeps a unit with many calls from counting as many independent observations.
 */
export function ratioSummary(statistic: RatioStatistic): Summary {
  const n = statistic.units;
  if (n < 1 || statistic.denominatorSum <= 0) return { n, mean: 0, variance: 0 };
  const mean = statistic.numeratorSum / statistic.denominatorSum;
  if (n < 2) return { n, mean, variance: 0 };
  const mMean = statistic.numeratorSum / n;
  const dMean = statistic.denominatorSum / n;
  const mVar = (statistic.numeratorSumSquares - statistic.numeratorSum ** 2 / n) / (n - 1);
  const dVar = (statistic.denominatorSumSquares - statistic.denominatorSum ** 2 / n) / (n - 1);
  const cov =
    (statistic.crossSum - (statistic.numeratorSum * statistic.denominatorSum) / n) / (n - 1);
  const variance =
    mVar / dMean ** 2 - (2 * cov * mMean) / dMean ** 3 + (dVar * mMean ** 2) / dMean ** 4;
  return { n, mean, variance: Math.max(0, variance) };
}

/**
 * How many units a ratio metric's evidence really rests on: Kish's effective sample size of the
 * denominators, (Σd)² / Σd². It equals the units when every unit makes the same number of calls
 * and drops towards 1 when one unit makes most of them. The delta method linearises around the
 * ratio, which such a unit itself sets, so its variance is then far too small: the engine does not
 * judge a ratio whose effective units are below the minimum sample.
 */
export function effectiveUnits(statistic: RatioStatistic): number {
  if (statistic.denominatorSumSquares <= 0) return 0;
  return statistic.denominatorSum ** 2 / statistic.denominatorSumSquares;
}

/** An effect and the variance of its estimate (not per unit). */
export interface Effect {
  effect: number;
  variance: number;
}

/** treatment − control, with Var = s²_b/n_b + s²_a/n_a. */
export function absoluteEffect(control: Summary, treatment: Summary): Effect {
  return {
    effect: treatment.mean - control.mean,
    variance: treatment.variance / treatment.n + control.variance / control.n,
  };
}

/**
 * treatment / control − 1, with the delta-method variance gbstats uses:
 * s²_b/(μ_a²·n_b) + s²_a·μ_b²/(μ_a⁴·n_a).
 */
export function relativeEffect(control: Summary, treatment: Summary): Effect {
  const a = control.mean;
  const b = treatment.mean;
  return {
    effect: b / a - 1,
    variance:
      treatment.variance / (a * a * treatment.n) +
      (control.variance * b * b) / (a ** 4 * control.n),
  };
}

/** The Welch–Satterthwaite degrees of freedom of the two variants' means. */
export function welchDegreesOfFreedom(control: Summary, treatment: Summary): number {
  const va = control.variance / control.n;
  const vb = treatment.variance / treatment.n;
  return (va + vb) ** 2 / (va ** 2 / (control.n - 1) + vb ** 2 / (treatment.n - 1));
}

export interface TestOptions {
  alpha: number;
  /** Relative (treatment / control − 1, the default) or absolute (treatment − control). */
  relative?: boolean;
}

export interface FrequentistResult {
  effect: number;
  /** Standard error of the effect. */
  se: number;
  interval: [number, number];
  pValue: number;
}

/**
 * The effect and its variance, or null when no test is possible: fewer than 2 units in a
 * variant, a control mean of 0 for a relative effect, or no variance at all.
 */
function estimate(control: Summary, treatment: Summary, relative: boolean): Effect | null {
  if (control.n < 2 || treatment.n < 2) return null;
  if (relative && control.mean === 0) return null;
  const effect = relative ? relativeEffect(control, treatment) : absoluteEffect(control, treatment);
  if (!(effect.variance > 0) || !Number.isFinite(effect.variance)) return null;
  return effect;
}

/** gbstats' two-sided Welch t-test at a fixed horizon (valid when looked at once). */
export function fixedHorizonTest(
  control: Summary,
  treatment: Summary,
  options: TestOptions,
): FrequentistResult | null {
  const found = estimate(control, treatment, options.relative ?? true);
  if (!found) return null;
  const se = Math.sqrt(found.variance);
  const dof = welchDegreesOfFreedom(control, treatment);
  const t = studentTQuantile(1 - options.alpha / 2, dof);
  return {
    effect: found.effect,
    se,
    interval: [found.effect - t * se, found.effect + t * se],
    pValue: studentTTwoSidedP(found.effect / se, dof),
  };
}

/** gbstats' default tuning of the sequential interval (the sample size it is tightest at). */
export const DEFAULT_SEQUENTIAL_TUNING = 5000;

/**
 * The half-width of gbstats' always-valid interval (a normal mixture boundary, Howard et al.
 * 2021): ρ = sqrt((−2 ln α + ln(−2 ln α + 1)) / tuning), and
 * sqrt(s²) · sqrt(2(Nρ² + 1) · ln(sqrt(Nρ² + 1)/α) / (Nρ)²), with s² the effect's variance × N.
 */
export function sequentialHalfWidth(
  variance: number,
  totalUnits: number,
  alpha: number,
  tuning: number = DEFAULT_SEQUENTIAL_TUNING,
): number {
  const rho = Math.sqrt((-2 * Math.log(alpha) + Math.log(-2 * Math.log(alpha) + 1)) / tuning);
  const n = totalUnits;
  const s2 = variance * n;
  const nRho2 = n * rho * rho;
  return (
    Math.sqrt(s2) *
    Math.sqrt((2 * (nRho2 + 1) * Math.log(Math.sqrt(nRho2 + 1) / alpha)) / (n * rho) ** 2)
  );
}

/**
 * The always-valid p-value that goes with the interval: the smallest α whose sequential
 * interval excludes 0 (found by bisection on log α, the half-width shrinking as α grows).
 */
function sequentialPValue(effect: number, variance: number, totalUnits: number, tuning: number) {
  const size = Math.abs(effect);
  const width = (alpha: number) => sequentialHalfWidth(variance, totalUnits, alpha, tuning);
  // Bracketed short of α = 1, where ρ is 0 and the formula divides by zero; the half-width
  // levels off there, so an effect inside it gets p = 1.
  let low = Math.log(1e-300);
  let high = Math.log(0.9999);
  if (width(Math.exp(high)) >= size) return 1;
  if (width(Math.exp(low)) < size) return 1e-300;
  for (let step = 0; step < 60; step++) {
    const mid = (low + high) / 2;
    if (width(Math.exp(mid)) >= size) low = mid;
    else high = mid;
  }
  return Math.exp(high);
}

/**
 * gbstats' sequential test: the same effect and standard error as the fixed-horizon test, an
 * interval that stays valid however often it is looked at, and the matching always-valid
 * p-value. N is the units of both variants.
 */
export function sequentialTest(
  control: Summary,
  treatment: Summary,
  options: TestOptions & { tuning?: number },
): FrequentistResult | null {
  const found = estimate(control, treatment, options.relative ?? true);
  if (!found) return null;
  const tuning = options.tuning ?? DEFAULT_SEQUENTIAL_TUNING;
  const total = control.n + treatment.n;
  const half = sequentialHalfWidth(found.variance, total, options.alpha, tuning);
  return {
    effect: found.effect,
    se: Math.sqrt(found.variance),
    interval: [found.effect - half, found.effect + half],
    pValue: sequentialPValue(found.effect, found.variance, total, tuning),
  };
}

/** A proper Gaussian prior on the effect (on the scale tested: relative by default). */
export interface GaussianPrior {
  mean: number;
  variance: number;
}

export interface BayesianResult {
  effect: number;
  /** Posterior standard deviation of the effect. */
  sd: number;
  /** The central 1 − α credible interval. */
  interval: [number, number];
  /** P(effect > 0). */
  chanceAbove: number;
  /**
   * Expected loss on the effect's scale: [of keeping the control = E[max(effect, 0)], of
   * choosing the treatment = E[max(−effect, 0)]], as gbstats' risk when higher is better.
   */
  risk: [number, number];
}

/**
 * gbstats' Gaussian effect model: the effect's likelihood N(estimate, variance); with the
 * default improper (flat) prior the posterior is that likelihood, with a proper prior the
 * precision-weighted combination.
 */
export function bayesianTest(
  control: Summary,
  treatment: Summary,
  options: TestOptions & { prior?: GaussianPrior },
): BayesianResult | null {
  const found = estimate(control, treatment, options.relative ?? true);
  if (!found) return null;
  let mean = found.effect;
  let variance = found.variance;
  if (options.prior) {
    const precision = 1 / found.variance + 1 / options.prior.variance;
    mean =
      (found.effect / found.variance + options.prior.mean / options.prior.variance) / precision;
    variance = 1 / precision;
  }
  const sd = Math.sqrt(variance);
  const z = normalQuantile(1 - options.alpha / 2);
  const standardised = mean / sd;
  const chanceAbove = normalCdf(standardised);
  // E[max(X, 0)] for X ~ N(μ, σ²) is μΦ(μ/σ) + σφ(μ/σ); E[max(−X, 0)] is that minus μ.
  const expectedGain = mean * chanceAbove + sd * normalPdf(standardised);
  return {
    effect: mean,
    sd,
    interval: [mean - z * sd, mean + z * sd],
    chanceAbove,
    risk: [expectedGain, expectedGain - mean],
  };
}

/** GrowthBook's SRM rules: judged only with at least this many units in every variant … */
export const SRM_MINIMUM_UNITS = 8;
/** … and a p-value below this blocks the verdict. */
export const SRM_P_THRESHOLD = 0.001;

/**
 * The χ² goodness-of-fit p-value of observed units against the weights (as gbstats' check_srm:
 * expected = weight / Σweights × Σobserved, k − 1 degrees of freedom, chi2.sf). Arms with
 * weight 0 are left out. Null when fewer than 2 arms remain or no unit was observed.
 */
export function srmPValue(observed: readonly number[], weights: readonly number[]): number | null {
  const arms = observed
    .map((count, index) => ({ count, weight: weights[index] ?? 0 }))
    .filter((arm) => arm.weight > 0);
  const total = arms.reduce((sum, arm) => sum + arm.count, 0);
  const weightSum = arms.reduce((sum, arm) => sum + arm.weight, 0);
  if (arms.length < 2 || total === 0) return null;
  let chi2 = 0;
  for (const arm of arms) {
    const expected = (arm.weight / weightSum) * total;
    chi2 += (arm.count - expected) ** 2 / expected;
  }
  return chiSquareSf(chi2, arms.length - 1);
}

export interface QuantileEstimate {
  /** The histogram's quantile: the upper bound of the bucket it falls in (ms). */
  value: number;
  /** Bounds on the population quantile: bucket edges, so the bucket width is included. */
  lower: number;
  /** Infinity when the bound falls in the overflow bucket or past the data. */
  upper: number;
}

/** The edges (ms) of bucket `index` of LATENCY_BUCKETS_MS: (previous bound, bound]. */
function bucketEdges(index: number): [number, number] {
  const lower = index === 0 ? 0 : (LATENCY_BUCKETS_MS[index - 1] ?? Number.POSITIVE_INFINITY);
  const upper = LATENCY_BUCKETS_MS[index] ?? Number.POSITIVE_INFINITY;
  return [lower, upper];
}

/** The bucket holding the call at cumulative fraction p (0 < p ≤ 1) of the histogram. */
function bucketAt(counts: readonly number[], total: number, p: number): number {
  const rank = p * total;
  let seen = 0;
  for (let index = 0; index < counts.length; index++) {
    seen += counts[index] ?? 0;
    if (seen >= rank && seen > 0) return index;
  }
  return counts.length - 1;
}

/**
 * A quantile of a latency histogram with a distribution-free interval: the rank of the
 * q-quantile among n independent observations is Binomial(n, q), so the population quantile lies
 * between the order statistics at q ∓ h (h = z·sqrt(q(1 − q)/n), or gbstats' sequential
 * half-width with s² = q(1 − q) when `sequential`), widened to the edges of their buckets.
 *
 * Limits, said plainly: the histogram counts *calls*, not units, and calls of one unit are not
 * independent. `effectiveN` is therefore the smaller of calls and units, which is conservative when
 * units make similar numbers of calls, but a single unit making most of the calls can still make
 * the interval too narrow; and the quantile is of calls (a heavy unit weighs more), not of units.
 */
export function quantileEstimate(
  counts: readonly number[],
  q: number,
  options: { alpha: number; effectiveN: number; sequential?: { tuning: number } },
): QuantileEstimate | null {
  const total = counts.reduce((sum, count) => sum + count, 0);
  const n = Math.min(total, options.effectiveN);
  if (total === 0 || n < 1) return null;
  // The same figure the metrics page shows for the quantile (the upper bound of its bucket).
  const value = histogramQuantile(counts, q) ?? 0;
  const perObservation = q * (1 - q);
  const half = options.sequential
    ? sequentialHalfWidth(perObservation / n, n, options.alpha, options.sequential.tuning)
    : normalQuantile(1 - options.alpha / 2) * Math.sqrt(perObservation / n);
  const low = q - half;
  const high = q + half;
  const lower = low <= 0 ? 0 : bucketEdges(bucketAt(counts, total, low))[0];
  const upper =
    high >= 1 ? Number.POSITIVE_INFINITY : bucketEdges(bucketAt(counts, total, high))[1];
  return { value, lower, upper };
}

/**
 * The relative difference of two quantiles, treatment / control − 1, with an interval from the
 * two variants' intervals each at α/2 (Bonferroni: both hold together with probability ≥ 1 − α),
 * so [lower_b / upper_a − 1, upper_b / lower_a − 1]. Conservative by construction; no p-value.
 */
export function quantileRelativeEffect(
  control: QuantileEstimate,
  treatment: QuantileEstimate,
): { effect: number; interval: [number, number] } | null {
  if (control.value <= 0 || !Number.isFinite(control.value)) return null;
  const effect = treatment.value / control.value - 1;
  const low = control.upper === Number.POSITIVE_INFINITY ? -1 : treatment.lower / control.upper - 1;
  const high = control.lower <= 0 ? Number.POSITIVE_INFINITY : treatment.upper / control.lower - 1;
  return { effect, interval: [low, high] };
}
