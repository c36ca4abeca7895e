/**
 * Experiment statistics read back after real events went through ingest, the queue and the
 * consumer. Every expectation is worked out by hand from the dataset below (per unit first, then
 * summed over units), so a change in how units are aggregated shows up as a wrong number.
 */
import { exports } from "cloudflare:workers";
import type { ExperimentStatistics, MetricStatistic } from "@cuecard/core/experiment-results";
import { LATENCY_BUCKETS_MS, type TelemetryEvent } from "@cuecard/core/telemetry";
import { beforeAll, describe, expect, it } from "vitest";
import { generation, newId, newProject, score, sendEvents, waitForCalls } from "./harness";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Two UTC days: D0 (two days ago) and D1 (yesterday). */
const d0 = Math.floor(Date.now() / DAY) * DAY - 2 * DAY;
const d1 = d0 + DAY;
const at = (day: number, hour: number) => new Date(day + hour * HOUR + 10 * 60_000).toISOString();
const dayName = (day: number) => new Date(day).toISOString().slice(0, 10);

const project = newProject();
const EXPERIMENT = "exp_stats0000000000000000";
const PROMPT = { name: "support/triage", version: 1, label: "production" };

function exposure(unit: string, variant: string, day: number, hour: number): TelemetryEvent {
  return {
    type: "exposure",
    id: newId("exp"),
    timestamp: at(day, hour),
    experiment: { id: EXPERIMENT, key: "tone", variant },
    unit,
    prompt: PROMPT,
  };
}

function call(
  unit: string,
  variant: string,
  day: number,
  options: { error?: boolean; costUsd: number; latencyMs: number },
) {
  return generation({
    timestamp: at(day, 6),
    prompt: PROMPT,
    experiment: { id: EXPERIMENT, key: "tone", variant },
    unit,
    latencyMs: options.latencyMs,
    inputTokens: 10,
    outputTokens: 5,
    costUsd: options.costUsd,
    error: options.error ? { type: "timeout" } : null,
  });
}

function conversion(unit: string, day: number, hour: number): TelemetryEvent {
  return {
    type: "conversion",
    id: newId("conv"),
    timestamp: at(day, hour),
    name: "purchase",
    unit,
  };
}

// control: u1 (3 calls over two days, 1 error), u2 (1 call, an error).
// treatment: u3 (1 call on D0), u4 (2 calls on D1), u5 (exposed on D1, no calls).
const u1a = call("u1", "control", d0, { error: true, costUsd: 0.5, latencyMs: 100 });
const u1b = call("u1", "control", d0, { costUsd: 0.5, latencyMs: 100 });
const u1c = call("u1", "control", d1, { costUsd: 1, latencyMs: 300 });
const u2a = call("u2", "control", d0, { error: true, costUsd: 0.5, latencyMs: 5000 });
const u3a = call("u3", "treatment", d0, { costUsd: 0.25, latencyMs: 50 });
const u4a = call("u4", "treatment", d1, { costUsd: 0.5, latencyMs: 50 });
const u4b = call("u4", "treatment", d1, { costUsd: 0.5, latencyMs: 50 });

const events: TelemetryEvent[] = [
  exposure("u1", "control", d0, 2),
  exposure("u2", "control", d0, 3),
  exposure("u3", "treatment", d0, 2),
  exposure("u4", "treatment", d1, 5),
  exposure("u5", "treatment", d1, 5),
  // A second exposure of u1 later does not make it a second unit.
  exposure("u1", "control", d1, 1),
  u1a,
  u1b,
  u1c,
  u2a,
  u3a,
  u4a,
  u4b,
  score(u1a.id, { name: "helpful", value: true }),
  score(u1c.id, { name: "helpful", value: false }),
  score(u3a.id, { name: "helpful", value: 1 }),
  score(u4a.id, { name: "helpful", value: 1 }),
  score(u4b.id, { name: "helpful", value: 1 }),
  // u1 converts after its exposure: counts.
  conversion("u1", d0, 5),
  // u2 converted an hour before its first exposure: must not count.
  conversion("u2", d0, 1),
  // u3 converts twice on D1: one converted unit.
  conversion("u3", d1, 6),
  conversion("u3", d1, 7),
  // u4 converted on D0, a day before it was exposed: must not count.
  conversion("u4", d0, 1),
  // Never exposed: no variant to count it in.
  conversion("stranger", d0, 5),
];

function statistics(body: unknown, experiment = EXPERIMENT): Promise<Response> {
  return exports.default.fetch(
    `http://telemetry.internal/internal/projects/${project}/experiments/${experiment}/statistics`,
    { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) },
  );
}

async function read(body: unknown): Promise<ExperimentStatistics> {
  const response = await statistics(body);
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as ExperimentStatistics;
}

const ratio = (
  units: number,
  numeratorSum: number,
  numeratorSumSquares: number,
  denominatorSum: number,
  denominatorSumSquares: number,
  crossSum: number,
): MetricStatistic => ({
  kind: "ratio",
  units,
  numeratorSum,
  numeratorSumSquares,
  denominatorSum,
  denominatorSumSquares,
  crossSum,
});

/** A histogram over LATENCY_BUCKETS_MS plus the overflow bucket, with these bucket counts. */
function histogram(counts: Record<number, number>): number[] {
  const buckets = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  for (const [bucket, count] of Object.entries(counts)) buckets[Number(bucket)] = count;
  return buckets;
}

const ALL_METRICS = [
  { kind: "error_rate" },
  { kind: "cost" },
  { kind: "tokens" },
  { kind: "score", name: "helpful" },
  { kind: "conversion", name: "purchase" },
  { kind: "latency_p95" },
];

beforeAll(async () => {
  const response = await sendEvents(project, events);
  expect(response.status, await response.clone().text()).toBe(200);
  await waitForCalls(project, 7);
});

describe("POST /internal/projects/{projectId}/experiments/{experimentId}/statistics", () => {
  it("aggregates per unit first, over the whole experiment", async () => {
    const stats = await read({ metrics: ALL_METRICS });
    expect(stats.experimentId).toBe(EXPERIMENT);
    expect(stats.exposedUnits).toEqual({ control: 2, treatment: 3 });
    const byKind = Object.fromEntries(stats.metrics.map((m) => [m.metric.kind, m]));
    expect(stats.metrics.map((m) => m.metric)).toEqual(ALL_METRICS);

    // errors / calls per unit. control: u1 1/3, u2 1/1; treatment: u3 0/1, u4 0/2.
    expect(byKind.error_rate?.variants).toEqual({
      control: ratio(2, 2, 1 + 1, 4, 9 + 1, 1 * 3 + 1 * 1),
      treatment: ratio(2, 0, 0, 3, 1 + 4, 0),
    });
    // cost / calls. control: u1 2.0/3, u2 0.5/1; treatment: u3 0.25/1, u4 1.0/2.
    expect(byKind.cost?.variants).toEqual({
      control: ratio(2, 2.5, 4 + 0.25, 4, 10, 2 * 3 + 0.5 * 1),
      treatment: ratio(2, 1.25, 0.0625 + 1, 3, 5, 0.25 * 1 + 1 * 2),
    });
    // tokens (15 a call) / calls.
    expect(byKind.tokens?.variants).toEqual({
      control: ratio(2, 60, 45 * 45 + 15 * 15, 4, 10, 45 * 3 + 15 * 1),
      treatment: ratio(2, 45, 15 * 15 + 30 * 30, 3, 5, 15 * 1 + 30 * 2),
    });
    // score sum / n per unit (true = 1). control: u1 1/2; treatment: u3 1/1, u4 2/2.
    expect(byKind.score?.variants).toEqual({
      control: ratio(1, 1, 1, 2, 4, 2),
      treatment: ratio(2, 3, 1 + 4, 3, 1 + 4, 1 + 4),
    });
    // Converted (0/1) over every exposed unit: control u1 of u1, u2 (u2's came before its
    // exposure); treatment u3 of u3, u4, u5 (u4's came before, u3's two count once).
    expect(byKind.conversion?.variants).toEqual({
      control: { kind: "mean", units: 2, sum: 1, sumSquares: 1 },
      treatment: { kind: "mean", units: 3, sum: 1, sumSquares: 1 },
    });
    // Latency buckets: 50 ms → ≤60 (5), 100 → ≤100 (6), 300 → ≤400 (9), 5000 → ≤6000 (15).
    expect(byKind.latency_p95?.variants).toEqual({
      control: {
        kind: "quantile",
        units: 2,
        quantile: 0.95,
        counts: histogram({ 6: 2, 9: 1, 15: 1 }),
      },
      treatment: { kind: "quantile", units: 2, quantile: 0.95, counts: histogram({ 5: 3 }) },
    });
  });

  it("gives a cumulative snapshot at the end of each day", async () => {
    const stats = await read({ metrics: ALL_METRICS });
    expect(stats.days.map((day) => day.day)).toEqual([dayName(d0), dayName(d1)]);
    const [first, last] = stats.days;
    expect(first?.exposedUnits).toEqual({ control: 2, treatment: 1 });
    const firstByKind = Object.fromEntries(first?.metrics.map((m) => [m.metric.kind, m]) ?? []);
    // End of D0: u1 1/2, u2 1/1; treatment u3 0/1.
    expect(firstByKind.error_rate?.variants).toEqual({
      control: ratio(2, 2, 2, 3, 4 + 1, 1 * 2 + 1 * 1),
      treatment: ratio(1, 0, 0, 1, 1, 0),
    });
    expect(firstByKind.cost?.variants).toEqual({
      control: ratio(2, 1.5, 1 + 0.25, 3, 5, 1 * 2 + 0.5 * 1),
      treatment: ratio(1, 0.25, 0.0625, 1, 1, 0.25),
    });
    expect(firstByKind.score?.variants).toEqual({
      control: ratio(1, 1, 1, 1, 1, 1),
      treatment: ratio(1, 1, 1, 1, 1, 1),
    });
    expect(firstByKind.conversion?.variants).toEqual({
      control: { kind: "mean", units: 2, sum: 1, sumSquares: 1 },
      treatment: { kind: "mean", units: 1, sum: 0, sumSquares: 0 },
    });
    // The last day's snapshot is the whole experiment.
    expect({ exposedUnits: last?.exposedUnits, metrics: last?.metrics }).toEqual({
      exposedUnits: stats.exposedUnits,
      metrics: stats.metrics,
    });
  });

  it("reads only the days of the window", async () => {
    const stats = await read({
      metrics: [{ kind: "error_rate" }, { kind: "conversion", name: "purchase" }],
      since: new Date(d1).toISOString(),
      until: new Date(d1 + DAY).toISOString(),
    });
    // Every variant with data in the window is listed, with 0 when none of its units was exposed then.
    expect(stats.exposedUnits).toEqual({ control: 0, treatment: 2 });
    // D1 only: control u1 1 call, no error; treatment u4 2 calls.
    expect(stats.metrics[0]?.variants).toEqual({
      control: ratio(1, 0, 0, 1, 1, 0),
      treatment: ratio(1, 0, 0, 2, 4, 0),
    });
    // u4 and u5 exposed on D1; u4's conversion was before its exposure.
    expect(stats.metrics[1]?.variants).toEqual({
      control: { kind: "mean", units: 0, sum: 0, sumSquares: 0 },
      treatment: { kind: "mean", units: 2, sum: 0, sumSquares: 0 },
    });
    expect(stats.days.map((day) => day.day)).toEqual([dayName(d1)]);
  });

  it("counts exposed units from `since` itself, not from its day", async () => {
    // 03:00 on D0: u1 and u3 (02:10) came before it, u2 (03:10) after; u4 and u5 on D1.
    const stats = await read({
      metrics: [{ kind: "error_rate" }],
      since: new Date(d0 + 3 * HOUR).toISOString(),
    });
    expect(stats.exposedUnits).toEqual({ control: 1, treatment: 2 });
  });

  it("answers an experiment without data with no variants and no days", async () => {
    const response = await statistics({ metrics: [{ kind: "cost" }] }, "exp_nothing");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      experimentId: "exp_nothing",
      exposedUnits: {},
      metrics: [{ metric: { kind: "cost" }, variants: {} }],
      days: [],
    });
  });

  it("refuses a bad body naming every field at fault (422 problem+json)", async () => {
    const response = await statistics({
      metrics: [{ kind: "clicks" }, { kind: "score" }, { kind: "cost", name: "x" }, 5],
      since: "yesterday",
      extra: true,
    });
    expect(response.status).toBe(422);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
    const problem = (await response.json()) as { code: string; errors: { field: string }[] };
    expect(problem.code).toBe("validation_failed");
    expect(problem.errors.map((error) => error.field).sort()).toEqual([
      "body.extra",
      "body.metrics[0].kind",
      "body.metrics[1].name",
      "body.metrics[2].name",
      "body.metrics[3]",
      "body.since",
    ]);
    const empty = await statistics({ metrics: [] });
    expect(empty.status).toBe(422);
    const backwards = await statistics({
      metrics: [{ kind: "cost" }],
      since: "2026-07-02T00:00:00Z",
      until: "2026-07-01T00:00:00Z",
    });
    expect(backwards.status).toBe(422);
  });

  it("is not open to requests the edge forwarded (read keys)", async () => {
    const response = await exports.default.fetch(
      `http://telemetry.internal/internal/projects/${project}/experiments/${EXPERIMENT}/statistics`,
      {
        method: "POST",
        headers: { "content-type": "application/json", "cuecard-key-id": "key_1" },
        body: JSON.stringify({ metrics: [{ kind: "cost" }] }),
      },
    );
    expect(response.status).toBe(403);
  });
});
