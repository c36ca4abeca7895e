import { describe, expect, it } from "vitest";
import { analyseExperiment } from "../../workers/modules/results/analyse";
import { fixedHorizonTest, sampleMeanSummary } from "../../workers/modules/results/stats";

// The results engine's distributions come from jstat, a UMD package: this checks it loads and
// computes inside workerd, where the admin worker runs it (the figures are checked in Node by
// test/core/results-*.test.ts).
describe("the results engine inside workerd", () => {
  it("computes gbstats' Welch t-test with jstat's t distribution", () => {
    const result = fixedHorizonTest(
      sampleMeanSummary(3407, 1396.87, 52377.9767),
      sampleMeanSummary(3461, 2422.7, 134698.29),
      { alpha: 0.05 },
    );
    // gbstats 0.8.0 test_tests.py: effect 0.70732, ci [-0.03526, 1.44989], p 0.06191.
    expect(result?.interval[0]).toBeCloseTo(-0.03526, 4);
    expect(result?.interval[1]).toBeCloseTo(1.44989, 4);
    expect(result?.pValue).toBeCloseTo(0.06191, 4);
  });

  it("analyses an experiment and decides", () => {
    const conversions = (units: number, converted: number) => ({
      kind: "mean" as const,
      units,
      sum: converted,
      sumSquares: converted,
    });
    const results = analyseExperiment(
      {
        experimentId: "exp_0123456789abcdef0123",
        exposedUnits: { control: 2000, b: 2000 },
        metrics: [
          {
            metric: { kind: "conversion", name: "signup" },
            variants: { control: conversions(2000, 400), b: conversions(2000, 600) },
          },
        ],
        days: [],
      },
      {
        control: { key: "control", weight: 0.5 },
        variants: [{ key: "b", weight: 0.5 }],
        metrics: { primary: { kind: "conversion", name: "signup" }, guardrails: [] },
      },
    );
    expect(results.decision).toBe("winner");
    expect(results.winner).toBe("b");
  });
});
