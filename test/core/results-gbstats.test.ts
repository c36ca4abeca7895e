import { describe, expect, it } from "vitest";
import {
  bayesianTest,
  fixedHorizonTest,
  proportionSummary,
  type Summary,
  sampleMeanSummary,
  sequentialTest,
  srmPValue,
} from "../../workers/modules/results/stats";
import gbstats from "./testdata/gbstats-vectors.json";

// Known answers from GrowthBook's gbstats 0.8.0 unit tests (see the JSON's "source"): the engine
// computes each vector's figures and they must agree to 4 decimals.

type Arm = { n: number; sum: number; sum_squares: number } | { n: number; successes: number };
interface Vector {
  test: string;
  alpha?: number;
  sequential_tuning?: number;
  prior?: { mean: number; stddev: number; proper: boolean };
  A: Arm;
  B: Arm;
  expected: {
    effect: number;
    ci: [number, number];
    se?: number;
    p_value?: number;
    sd?: number;
    chance_to_win?: number;
    risk?: [number, number];
  };
}

const vectors = gbstats.vectors as Vector[];

const summaryOf = (arm: Arm): Summary =>
  "successes" in arm
    ? proportionSummary(arm.n, arm.successes)
    : sampleMeanSummary(arm.n, arm.sum, arm.sum_squares);

const close = (actual: number | undefined, expected: number) =>
  expect(actual).toBeCloseTo(expected, 4);

describe("gbstats known answers", () => {
  it("has the 8 vectors", () => {
    expect(vectors).toHaveLength(8);
  });

  for (const vector of vectors) {
    it(vector.test, () => {
      const control = summaryOf(vector.A);
      const treatment = summaryOf(vector.B);
      const alpha = vector.alpha ?? 0.05;
      const { expected } = vector;
      if (vector.test.startsWith("Bayesian")) {
        // gbstats' GaussianPrior takes a *variance*; its test passes 0.1, which the JSON records
        // as "stddev": the expected figures (sd 0.03549) are those of a prior variance of 0.1.
        const prior = vector.prior?.proper
          ? { mean: vector.prior.mean, variance: vector.prior.stddev }
          : undefined;
        const result = bayesianTest(control, treatment, { alpha, prior });
        close(result?.effect, expected.effect);
        close(result?.interval[0], expected.ci[0]);
        close(result?.interval[1], expected.ci[1]);
        close(result?.sd, expected.sd!);
        close(result?.chanceAbove, expected.chance_to_win!);
        close(result?.risk[0], expected.risk![0]);
        close(result?.risk[1], expected.risk![1]);
        return;
      }
      const relative = !vector.test.includes("absolute");
      const result = vector.test.startsWith("sequential")
        ? sequentialTest(control, treatment, { alpha, relative, tuning: vector.sequential_tuning })
        : fixedHorizonTest(control, treatment, { alpha, relative });
      close(result?.effect, expected.effect);
      close(result?.interval[0], expected.ci[0]);
      close(result?.interval[1], expected.ci[1]);
      if (expected.se !== undefined) close(result?.se, expected.se);
      if (expected.p_value !== undefined) close(result?.pValue, expected.p_value);
    });
  }
});

describe("sample-ratio mismatch χ²", () => {
  it("matches scipy's chi2.sf for two arms", () => {
    // 5,000 vs 5,200 units at 50/50: χ² = 2·100²/5,100 = 3.92157 with 1 degree of freedom;
    // scipy 1.17.1: chi2.sf(3.9215686, 1) = 0.0476703806561615.
    expect(srmPValue([5000, 5200], [0.5, 0.5])).toBeCloseTo(0.0476703806561615, 8);
  });

  it("matches the closed form of χ² with 2 degrees of freedom (sf(x) = e^(−x/2))", () => {
    // 1,000 / 1,100 / 900 at equal weights: χ² = (0 + 100² + 100²)/1,000 = 20, so p = e^−10;
    // scipy 1.17.1: chi2.sf(20, 2) = 4.539992976248486e-05.
    const p = srmPValue([1000, 1100, 900], [1 / 3, 1 / 3, 1 / 3]);
    expect(p).toBeCloseTo(4.539992976248486e-5, 10);
    expect(p).toBeCloseTo(Math.exp(-10), 10);
  });

  it("compares with the weights, not an even split", () => {
    // 2,000 / 8,000 at 20/80 is exactly as designed.
    expect(srmPValue([2000, 8000], [0.2, 0.8])).toBeCloseTo(1, 10);
    // … and the same counts at 50/50 are a glaring mismatch.
    expect(srmPValue([2000, 8000], [0.5, 0.5])).toBeLessThan(1e-12);
  });
});
