import {
  costOf,
  histogramQuantile,
  LATENCY_BUCKETS_MS,
  latencyBucket,
  priceOf,
} from "@cuecard/core/telemetry";
import { describe, expect, it } from "vitest";

describe("latency histogram buckets", () => {
  it("puts a latency in the first bucket whose upper bound holds it", () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(5)).toBe(0);
    expect(latencyBucket(5.01)).toBe(1);
    expect(latencyBucket(1000)).toBe(LATENCY_BUCKETS_MS.indexOf(1000));
    expect(latencyBucket(400_001)).toBe(LATENCY_BUCKETS_MS.length);
  });

  it("reads percentiles as the upper bound of the bucket they fall in", () => {
    const counts = new Array(LATENCY_BUCKETS_MS.length + 1).fill(0);
    // 90 calls of 80 ms (bucket ≤ 100) and 10 calls of 2 s (bucket ≤ 2500).
    counts[latencyBucket(80)] = 90;
    counts[latencyBucket(2000)] = 10;
    expect(histogramQuantile(counts, 0.5)).toBe(100);
    expect(histogramQuantile(counts, 0.9)).toBe(100);
    expect(histogramQuantile(counts, 0.95)).toBe(2500);
    expect(histogramQuantile(new Array(counts.length).fill(0), 0.5)).toBeNull();
  });
});

describe("model prices", () => {
  it("matches exact names first, then the longest listed prefix", () => {
    expect(priceOf("gpt-4o")).toEqual({ input: 2.5, output: 10 });
    expect(priceOf("gpt-4o-mini-2024-07-18")).toEqual({ input: 0.15, output: 0.6 });
    expect(priceOf("my-own-model")).toBeUndefined();
  });

  it("costs a call from its tokens, and knows when it cannot", () => {
    // 1,000 input tokens at $0.15/M plus 500 output tokens at $0.60/M.
    expect(costOf("gpt-4o-mini", 1000, 500)).toBeCloseTo(0.00045, 10);
    expect(costOf("gpt-4o-mini", null, null)).toBeNull();
    expect(costOf("unknown", 10, 10)).toBeNull();
    expect(costOf("custom", 1_000_000, 0, { custom: { input: 3, output: 4 } })).toBe(3);
  });
});
