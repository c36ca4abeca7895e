import type {
  ExperimentMetricRef,
  ExperimentStatistics,
  MeanStatistic,
  MetricStatistic,
  QuantileStatistic,
  RatioStatistic,
} from "@cuecard/core/experiment-results";
import { LATENCY_BUCKETS_MS, latencyBucket } from "@cuecard/core/telemetry";
import { describe, expect, it } from "vitest";
import {
  analyseExperiment,
  type ExperimentDesign,
  guardrailRegressions,
  higherIsBetter,
  RESULTS_DEFAULTS,
} from "../../workers/modules/results/analyse";

// The decisions a person acts on, each reached from constructed telemetry aggregates.

const SIGNUP: ExperimentMetricRef = { kind: "conversion", name: "signup" };
const LATENCY: ExperimentMetricRef = { kind: "latency_p95" };
const ERRORS: ExperimentMetricRef = { kind: "error_rate" };
const NOW = new Date("2026-12-01T12:00:00.000Z");

/** `converted` of `units` units converted (per-unit values 0 or 1). */
const conversions = (units: number, converted: number): MeanStatistic => ({
  kind: "mean",
  units,
  sum: converted,
  sumSquares: converted,
});

/** A latency histogram: `calls` calls at each given latency. */
function latencies(units: number, calls: Record<number, number>): QuantileStatistic {
  const counts = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
  for (const [ms, count] of Object.entries(calls)) counts[latencyBucket(Number(ms))] += count;
  return { kind: "quantile", units, quantile: 0.95, counts };
}

/** Units each making `callsPerUnit` calls, `errors` errors in all, spread one per unit. */
function errorRate(units: number, callsPerUnit: number, errors: number): RatioStatistic {
  return {
    kind: "ratio",
    units,
    numeratorSum: errors,
    numeratorSumSquares: errors,
    denominatorSum: units * callsPerUnit,
    denominatorSumSquares: units * callsPerUnit ** 2,
    crossSum: errors * callsPerUnit,
  };
}

const design = (
  guardrails: ExperimentDesign["metrics"]["guardrails"] = [],
  variants = [{ key: "b", weight: 0.5 }],
): ExperimentDesign => ({
  control: { key: "control", weight: 1 - variants.reduce((sum, v) => sum + v.weight, 0) },
  variants,
  metrics: { primary: SIGNUP, guardrails },
});

function data(
  exposedUnits: Record<string, number>,
  metrics: { metric: ExperimentMetricRef; variants: Record<string, MetricStatistic> }[],
  days: ExperimentStatistics["days"] = [],
): ExperimentStatistics {
  return { experimentId: "exp_0123456789abcdef0123", exposedUnits, metrics, days };
}

const twoArms = (control: MeanStatistic, treatment: MeanStatistic) =>
  data({ control: control.units, b: treatment.units }, [
    { metric: SIGNUP, variants: { control, b: treatment } },
  ]);

describe("decisions", () => {
  it("not_enough_data below the minimum units per variant, naming who is short", () => {
    const results = analyseExperiment(twoArms(conversions(60, 10), conversions(58, 30)), design(), {
      now: NOW,
    });
    expect(results.decision).toBe("not_enough_data");
    expect(results.minimumUnitsPerVariant).toBe(100);
    expect(results.reason).toContain("at least 100 exposed units");
    expect(results.reason).toContain("b has 58");
    // The figures are still there to look at.
    expect(results.metrics[0]?.variants[1]?.value).toBeCloseTo(30 / 58, 10);
    expect(results.winner).toBeNull();
  });

  it("srm when the split departs from the weights, before anything else", () => {
    const results = analyseExperiment(
      twoArms(conversions(1000, 200), conversions(1300, 400)),
      design(),
    );
    expect(results.decision).toBe("srm");
    expect(results.srm.observed).toEqual({ control: 1000, b: 1300 });
    expect(results.srm.expected).toEqual({ control: 1150, b: 1150 });
    expect(results.srm.pValue).toBeLessThan(0.001);
    expect(results.reason).toContain("Sample-ratio mismatch");
    expect(results.winner).toBeNull();
  });

  it("judges SRM on the units the current weights assigned when a stage changed them", () => {
    // 1,000 / 1,300 over the whole rollout (an earlier stage gave b less), but since the current
    // 50/50 stage began, 600 and 610 units: no mismatch, and the verdict goes on.
    const results = analyseExperiment(
      twoArms(conversions(1000, 200), conversions(1300, 400)),
      design(),
      { srmExposedUnits: { control: 600, b: 610 } },
    );
    expect(results.srm.observed).toEqual({ control: 600, b: 610 });
    expect(results.srm.pValue).toBeGreaterThan(0.5);
    expect(results.decision).not.toBe("srm");
  });

  it("does not judge SRM with fewer than 8 units in a variant", () => {
    const results = analyseExperiment(twoArms(conversions(2, 1), conversions(30, 3)), design());
    expect(results.srm.pValue).toBeNull();
    expect(results.decision).toBe("not_enough_data");
  });

  it("guardrail_failed when a treatment's p95 latency is established to be beyond the allowed regression", () => {
    const statistics = data({ control: 2000, b: 2000 }, [
      { metric: SIGNUP, variants: { control: conversions(2000, 400), b: conversions(2000, 600) } },
      {
        metric: LATENCY,
        variants: {
          control: latencies(2000, { 200: 9800, 900: 200 }),
          b: latencies(2000, { 200: 200, 900: 9800 }),
        },
      },
    ]);
    const results = analyseExperiment(
      statistics,
      design([{ metric: LATENCY, maxRegressionPct: 10 }]),
    );
    // b converts far better, but it is 4× slower: the guardrail wins.
    expect(results.decision).toBe("guardrail_failed");
    const guardrail = results.metrics[1];
    expect(guardrail?.role).toBe("guardrail");
    expect(guardrail?.higherIsBetter).toBe(false);
    expect(guardrail?.guardrail).toEqual({ maxRegressionPct: 10, states: { b: "failing" } });
    expect(guardrail?.variants[0]?.value).toBe(250);
    expect(guardrail?.variants[1]?.value).toBe(1000);
    expect(guardrail?.variants[1]?.relativeEffect).toBeCloseTo(3, 10);
    expect(results.reason).toContain("b makes p95 latency worse than the allowed 10 %");
    expect(guardrailRegressions(results)).toEqual([
      {
        variant: "b",
        metric: LATENCY,
        maxRegressionPct: 10,
        relativeEffect: guardrail?.variants[1]?.relativeEffect,
        interval: guardrail?.variants[1]?.interval,
      },
    ]);
  });

  it("winner when the treatment's interval clears the control, with the guardrails holding", () => {
    const statistics = data({ control: 2000, b: 2000 }, [
      { metric: SIGNUP, variants: { control: conversions(2000, 400), b: conversions(2000, 600) } },
      {
        metric: ERRORS,
        variants: { control: errorRate(2000, 3, 120), b: errorRate(2000, 3, 118) },
      },
    ]);
    const results = analyseExperiment(
      statistics,
      design([{ metric: ERRORS, maxRegressionPct: 5 }]),
      {
        now: NOW,
      },
    );
    expect(results.decision).toBe("winner");
    expect(results.winner).toBe("b");
    expect(results.intervalKind).toBe("sequential");
    expect(results.metrics[1]?.guardrail?.states).toEqual({ b: "ok" });
    expect(guardrailRegressions(results)).toEqual([]);
    const b = results.metrics[0]?.variants[1];
    expect(b?.relativeEffect).toBeCloseTo(0.5, 10);
    expect(b?.absoluteEffect).toBeCloseTo(0.1, 10);
    expect(b?.interval?.[0]).toBeGreaterThan(0);
    expect(b?.pValue).toBeLessThan(0.05);
    expect(results.metrics[0]?.variants[0]).toMatchObject({
      variant: "control",
      units: 2000,
      value: 0.2,
      relativeEffect: null,
      interval: null,
    });
    expect(results.reason).toContain('b beats the control on conversion "signup"');
    expect(results.computedAt).toBe("2026-12-01T12:00:00.000Z");
  });

  it("winner is the control when every treatment is clearly worse", () => {
    const results = analyseExperiment(
      twoArms(conversions(2000, 600), conversions(2000, 400)),
      design(),
    );
    expect(results.decision).toBe("winner");
    expect(results.winner).toBe("control");
    expect(results.reason).toContain("keep the control");
  });

  it("no_winner_yet when the interval straddles no effect", () => {
    const results = analyseExperiment(
      twoArms(conversions(2000, 400), conversions(2000, 410)),
      design(),
    );
    expect(results.decision).toBe("no_winner_yet");
    expect(results.winner).toBeNull();
    const interval = results.metrics[0]?.variants[1]?.interval;
    expect(interval?.[0]).toBeLessThan(0);
    expect(interval?.[1]).toBeGreaterThan(0);
    expect(results.reason).toContain("Keep it running");
  });

  it("picks the best of several winning treatments", () => {
    const statistics = data({ control: 2000, b: 2000, c: 2000 }, [
      {
        metric: SIGNUP,
        variants: {
          control: conversions(2000, 400),
          b: conversions(2000, 560),
          c: conversions(2000, 640),
        },
      },
    ]);
    const results = analyseExperiment(
      statistics,
      design(
        [],
        [
          { key: "b", weight: 1 / 3 },
          { key: "c", weight: 1 / 3 },
        ],
      ),
    );
    expect(results.decision).toBe("winner");
    expect(results.winner).toBe("c");
  });
});

describe("guardrails", () => {
  const withLatency = (treatment: QuantileStatistic) =>
    data({ control: 2000, b: 2000 }, [
      { metric: SIGNUP, variants: { control: conversions(2000, 400), b: conversions(2000, 400) } },
      {
        metric: LATENCY,
        variants: { control: latencies(2000, { 200: 9800, 900: 200 }), b: treatment },
      },
    ]);

  it("hold while a regression beyond the allowed one is merely possible, not established", () => {
    // Same histogram: the bucketed interval is wide ([−40 %, +67 %]) and includes +10 %.
    const results = analyseExperiment(
      withLatency(latencies(2000, { 200: 9800, 900: 200 })),
      design([{ metric: LATENCY, maxRegressionPct: 10 }]),
    );
    const b = results.metrics[1]?.variants[1];
    expect(b?.interval?.[0]).toBeLessThan(0.1);
    expect(b?.interval?.[1]).toBeGreaterThan(0.1);
    expect(results.metrics[1]?.guardrail?.states).toEqual({ b: "ok" });
    expect(results.decision).toBe("no_winner_yet");
  });

  it("say not_enough_data below the minimum sample", () => {
    const results = analyseExperiment(
      withLatency(latencies(40, { 900: 400 })),
      design([{ metric: LATENCY, maxRegressionPct: 10 }]),
    );
    expect(results.metrics[1]?.guardrail?.states).toEqual({ b: "not_enough_data" });
  });

  it("fail a higher-is-better metric when its whole interval lies below −X %", () => {
    const scores: ExperimentMetricRef = { kind: "score", name: "helpfulness" };
    const score = (units: number, mean: number): MeanStatistic => ({
      kind: "mean",
      units,
      sum: units * mean,
      // sd 1 per unit
      sumSquares: units - 1 + units * mean * mean,
    });
    const statistics = data({ control: 4000, b: 4000 }, [
      { metric: SIGNUP, variants: { control: conversions(4000, 800), b: conversions(4000, 800) } },
      { metric: scores, variants: { control: score(4000, 4), b: score(4000, 3) } },
    ]);
    const results = analyseExperiment(
      statistics,
      design([{ metric: scores, maxRegressionPct: 5 }]),
    );
    expect(results.metrics[1]?.higherIsBetter).toBe(true);
    expect(results.metrics[1]?.variants[1]?.interval?.[1]).toBeLessThan(-0.05);
    expect(results.metrics[1]?.guardrail?.states).toEqual({ b: "failing" });
    expect(results.decision).toBe("guardrail_failed");
  });
});

describe("engines and options", () => {
  it("the Bayesian engine reports chance to win and risk, and decides on them", () => {
    const results = analyseExperiment(
      twoArms(conversions(2000, 400), conversions(2000, 480)),
      design(),
      { engine: "bayesian" },
    );
    expect(results.engine).toBe("bayesian");
    expect(results.intervalKind).toBe("bayesian");
    const b = results.metrics[0]?.variants[1];
    expect(b?.pValue).toBeNull();
    expect(b?.chanceToWin).toBeGreaterThan(0.95);
    expect(b?.risk).toBeGreaterThan(0);
    expect(b?.risk).toBeLessThan(0.01);
    expect(results.decision).toBe("winner");
    expect(results.winner).toBe("b");
  });

  it("the Bayesian chance to win counts lower as better for error rates", () => {
    const statistics = data({ control: 3000, b: 3000 }, [
      { metric: SIGNUP, variants: { control: conversions(3000, 600), b: conversions(3000, 600) } },
      {
        metric: ERRORS,
        variants: { control: errorRate(3000, 2, 600), b: errorRate(3000, 2, 300) },
      },
    ]);
    const results = analyseExperiment(
      statistics,
      design([{ metric: ERRORS, maxRegressionPct: 5 }]),
      {
        engine: "bayesian",
      },
    );
    expect(results.metrics[1]?.variants[1]?.chanceToWin).toBeGreaterThan(0.99);
  });

  it("fixed-horizon intervals on request are narrower than the sequential default", () => {
    const statistics = twoArms(conversions(2000, 400), conversions(2000, 450));
    const sequential = analyseExperiment(statistics, design());
    const fixed = analyseExperiment(statistics, design(), { sequential: false });
    expect(fixed.intervalKind).toBe("fixed");
    const width = (interval: [number, number] | null | undefined) =>
      interval ? interval[1] - interval[0] : Number.NaN;
    expect(width(fixed.metrics[0]?.variants[1]?.interval)).toBeLessThan(
      width(sequential.metrics[0]?.variants[1]?.interval),
    );
  });

  it("states its defaults", () => {
    expect(RESULTS_DEFAULTS).toEqual({
      engine: "frequentist",
      sequential: true,
      alpha: 0.05,
      minimumUnitsPerVariant: 100,
      sequentialTuning: 5000,
    });
  });

  it("knows which way is better for each metric kind", () => {
    expect(higherIsBetter({ kind: "score", name: "s" })).toBe(true);
    expect(higherIsBetter({ kind: "conversion", name: "c" })).toBe(true);
    for (const kind of ["error_rate", "latency_p95", "ttft_p95", "cost", "tokens"] as const) {
      expect(higherIsBetter({ kind })).toBe(false);
    }
  });
});

describe("over time", () => {
  it("gives the primary metric's relative effect for each day's cumulative data", () => {
    const day = (name: string, control: MeanStatistic, treatment: MeanStatistic) => ({
      day: name,
      exposedUnits: { control: control.units, b: treatment.units },
      metrics: [{ metric: SIGNUP, variants: { control, b: treatment } }],
    });
    const statistics = data(
      { control: 2000, b: 2000 },
      [
        {
          metric: SIGNUP,
          variants: { control: conversions(2000, 400), b: conversions(2000, 500) },
        },
      ],
      [
        day("2026-11-29", conversions(0, 0), conversions(0, 0)),
        day("2026-11-30", conversions(1000, 200), conversions(1000, 260)),
        day("2026-12-01", conversions(2000, 400), conversions(2000, 500)),
      ],
    );
    const results = analyseExperiment(statistics, design());
    expect(results.overTime.map((entry) => entry.day)).toEqual([
      "2026-11-29",
      "2026-11-30",
      "2026-12-01",
    ]);
    expect(results.overTime[0]?.variants.b).toEqual({ relativeEffect: null, interval: null });
    expect(results.overTime[1]?.variants.b?.relativeEffect).toBeCloseTo(0.3, 10);
    expect(results.overTime[2]?.variants.b?.relativeEffect).toBeCloseTo(0.25, 10);
    // The last day is the current data: the same interval as the headline figure.
    expect(results.overTime[2]?.variants.b?.interval).toEqual(
      results.metrics[0]?.variants[1]?.interval,
    );
  });

  it("reports a metric missing from the telemetry answer as not enough data", () => {
    const statistics = data({ control: 500, b: 500 }, []);
    const results = analyseExperiment(statistics, design());
    expect(results.decision).toBe("not_enough_data");
    expect(results.metrics[0]?.variants[1]).toMatchObject({
      units: 0,
      value: null,
      interval: null,
    });
  });
});
