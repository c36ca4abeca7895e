import { readFileSync } from "node:fs";
import {
  assign,
  type BucketRange,
  bucketHash,
  bucketRanges,
  chooseVariant,
  equalWeights,
  inNamespace,
} from "@cuecard/core/assignment";
import { describe, expect, it } from "vitest";

interface GrowthBookCases {
  hash: [string, string, number, number | null][];
  getBucketRange: [string, [number, number, number[] | null], [number, number][]][];
  chooseVariation: [string, number, [number, number][], number][];
  inNamespace: [string, string, [string, number, number], boolean][];
  getEqualWeights: [number, number[]][];
}

const growthbook: GrowthBookCases = JSON.parse(
  readFileSync(new URL("./testdata/growthbook-bucketing-cases.json", import.meta.url), "utf8"),
);
const utf8Vectors: { hash: [string, string, number, number][] } = JSON.parse(
  readFileSync(new URL("./testdata/assignment-utf8-vectors.json", import.meta.url), "utf8"),
);

const rounded = (ranges: readonly BucketRange[]) =>
  ranges.map(([start, end]) => [Number(start.toFixed(6)), Number(end.toFixed(6))]);

describe("GrowthBook's bucketing cases (specVersion 0.8.0)", () => {
  it.each(growthbook.hash)("hash(%j, %j, v%i) = %j", (seed, value, version, expected) => {
    expect(bucketHash(seed, value, version)).toBe(expected);
  });
  it.each(growthbook.getBucketRange)(
    "bucket ranges: %s",
    (_name, [n, coverage, weights], expected) => {
      expect(rounded(bucketRanges(n, coverage, weights))).toEqual(expected);
    },
  );
  it.each(growthbook.chooseVariation)("choose variation: %s", (_name, hash, ranges, expected) => {
    expect(chooseVariant(hash, ranges)).toBe(expected);
  });
  it.each(growthbook.inNamespace)("namespace: %s", (_name, id, namespace, expected) => {
    expect(inNamespace(id, namespace)).toBe(expected);
  });
  it.each(growthbook.getEqualWeights)("equal weights of %i", (n, expected) => {
    expect(equalWeights(n).map((w) => Number(w.toFixed(8)))).toEqual(expected);
  });
  it("has every case of the file", () => {
    expect(
      growthbook.hash.length +
        growthbook.getBucketRange.length +
        growthbook.chooseVariation.length +
        growthbook.inNamespace.length +
        growthbook.getEqualWeights.length,
    ).toBe(63);
  });
});

describe("non-ASCII ids hash their UTF-8 bytes", () => {
  it.each(utf8Vectors.hash)("hash(%j, %j, v%i) = %j", (seed, unit, version, expected) => {
    expect(bucketHash(seed, unit, version)).toBe(expected);
  });
  it("tells a precomposed é from e + combining accent (no normalisation)", () => {
    expect(bucketHash("exp_demo:1", "\u00e9", 2)).not.toBe(bucketHash("exp_demo:1", "e\u0301", 2));
  });
});

/** Deterministic ids, so a failure reproduces. */
function* unitIds(count: number, prefix = "user-"): Generator<string> {
  let state = 0x2545f491;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    yield `${prefix}${state.toString(36)}-${i}`;
  }
}

describe("assignment", () => {
  const experiment = {
    seed: "exp_01demo:1",
    hashVersion: 2 as const,
    coverage: 1,
    weights: [0.5, 0.3, 0.2],
  };

  it("splits 100,000 units as the weights say (χ², 2 degrees of freedom, p > 0.001)", () => {
    const counts = [0, 0, 0];
    for (const unit of unitIds(100_000)) counts[assign(experiment, unit).variant]! += 1;
    const chiSquare = experiment.weights.reduce((sum, weight, i) => {
      const expected = weight * 100_000;
      return sum + (counts[i]! - expected) ** 2 / expected;
    }, 0);
    // 13.82 is the χ² critical value for p = 0.001 with 2 degrees of freedom.
    expect(chiSquare).toBeLessThan(13.82);
  });

  it("gives a unit the same variant on every call", () => {
    for (const unit of unitIds(1000))
      expect(assign(experiment, unit)).toEqual(assign(experiment, unit));
  });

  it("serves the control, and says why, without a unit id or outside the coverage", () => {
    expect(assign(experiment, undefined)).toEqual({ variant: 0, bucket: null, reason: "no_unit" });
    expect(assign(experiment, "")).toEqual({ variant: 0, bucket: null, reason: "no_unit" });
    const halfCovered = { ...experiment, coverage: 0.5 };
    const reasons = new Set([...unitIds(200)].map((unit) => assign(halfCovered, unit).reason));
    expect(reasons).toEqual(new Set(["assigned", "not_in_coverage"]));
  });

  it("lowering coverage moves no included unit to another variant", () => {
    for (const unit of unitIds(20_000)) {
      const low = assign({ ...experiment, coverage: 0.3 }, unit);
      if (low.reason !== "assigned") continue;
      expect(assign({ ...experiment, coverage: 0.8 }, unit).variant).toBe(low.variant);
      expect(assign(experiment, unit).variant).toBe(low.variant);
    }
  });

  it("a growing rollout keeps treated units treated", () => {
    const stages = [0.01, 0.05, 0.25, 0.5, 1];
    const treatedAt = (share: number, unit: string) =>
      assign({ ...experiment, weights: [1 - share, share] }, unit).variant === 1;
    let treatedOverall = 0;
    for (const unit of unitIds(20_000)) {
      for (let stage = 1; stage < stages.length; stage++) {
        if (treatedAt(stages[stage - 1]!, unit)) expect(treatedAt(stages[stage]!, unit)).toBe(true);
      }
      if (treatedAt(0.25, unit)) treatedOverall++;
    }
    expect(treatedOverall / 20_000).toBeCloseTo(0.25, 1);
  });

  it("a new bucket version re-randomises: about half of the units change arm", () => {
    let moved = 0;
    const ids = [...unitIds(10_000)];
    const weights = [0.5, 0.5];
    for (const unit of ids) {
      const before = assign({ ...experiment, weights, seed: "exp_01demo:1" }, unit).variant;
      const after = assign({ ...experiment, weights, seed: "exp_01demo:2" }, unit).variant;
      if (before !== after) moved++;
    }
    expect(moved / ids.length).toBeGreaterThan(0.45);
    expect(moved / ids.length).toBeLessThan(0.55);
  });
});
