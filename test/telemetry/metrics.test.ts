import { exports } from "cloudflare:workers";
import type { PromptMetrics, TelemetryEvent } from "@cuecard/core/telemetry";
import { beforeAll, describe, expect, it } from "vitest";
import { deliver, generation, getMetrics, newProject, score } from "./harness";

const HOUR = 3_600_000;
/** Start of the UTC day two days ago: every event below falls inside it. */
const day = Math.floor(Date.now() / (24 * HOUR)) * 24 * HOUR - 2 * 24 * HOUR;
const h1 = day + 3 * HOUR;
const h2 = day + 5 * HOUR;
const at = (hour: number, minute: number) => new Date(hour + minute * 60_000).toISOString();
const iso = (ms: number) => new Date(ms).toISOString();

const project = newProject();
const PROMPT = "support/triage";

function call(
  hour: number,
  latencyMs: number,
  options: {
    version?: number;
    label?: string | null;
    variant?: string;
    ttft?: number;
    error?: boolean;
  } = {},
) {
  return generation({
    timestamp: at(hour, 10),
    latencyMs,
    timeToFirstTokenMs: options.ttft ?? null,
    inputTokens: 100,
    outputTokens: 10,
    costUsd: 0.01,
    prompt: { name: PROMPT, version: options.version ?? 1, label: options.label ?? null },
    experiment: options.variant ? { id: "exp_1", key: "tone", variant: options.variant } : null,
    unit: "u1",
    error: options.error ? { type: "timeout" } : null,
  });
}

beforeAll(async () => {
  const v1h1 = [
    call(h1, 100, { label: "production", variant: "control" }),
    call(h1, 200, { label: "production", variant: "control" }),
    call(h1, 300, { label: "production", variant: "control" }),
    call(h1, 5000, { label: "production", variant: "control", error: true }),
  ];
  const v1h2 = [
    call(h2, 50, { label: "production", ttft: 30 }),
    call(h2, 60, { label: "production", ttft: 45 }),
    call(h2, 10),
  ];
  const v2h1 = [
    call(h1, 1000, { version: 2, label: "staging", variant: "treatment" }),
    call(h1, 1200, { version: 2, label: "staging", variant: "treatment" }),
  ];
  const otherPrompt = generation({
    timestamp: at(h1, 20),
    prompt: { name: "other", version: 1 },
  });
  const events: TelemetryEvent[] = [
    ...v1h1,
    ...v1h2,
    ...v2h1,
    otherPrompt,
    score((v1h1[0] as TelemetryEvent).id, { name: "rating", value: 4 }),
    score((v1h1[1] as TelemetryEvent).id, { name: "rating", value: 5 }),
    score((v2h1[0] as TelemetryEvent).id, { name: "rating", value: 3 }),
  ];
  const result = await deliver([{ projectId: project, events }]);
  expect(result.ackAll).toBe(true);
});

async function metrics(query: Record<string, string>): Promise<PromptMetrics> {
  const response = await getMetrics(project, PROMPT, {
    from: iso(day),
    to: iso(day + 24 * HOUR),
    ...query,
  });
  expect(response.status).toBe(200);
  return (await response.json()) as PromptMetrics;
}

describe("GET /internal/projects/{projectId}/prompts/{name}/metrics", () => {
  it("gives exact hourly numbers per version: calls, errors, percentiles to the bucket, sums, scores", async () => {
    const body = await metrics({ groupBy: "version", granularity: "hour" });
    expect(body).toMatchObject({
      prompt: PROMPT,
      groupBy: "version",
      granularity: "hour",
      from: iso(day),
    });
    expect(body.series.map((series) => series.version)).toEqual([1, 2]);
    const [v1, v2] = body.series;

    expect(v1?.points.map((point) => point.start)).toEqual([iso(h1), iso(h2)]);
    expect(v1?.points[0]).toMatchObject({
      calls: 4,
      errors: 1,
      errorRate: 0.25,
      // Buckets 100, 250, 400, 6000: the 2nd of 4 is the median, the 4th the 95th percentile.
      latencyMs: { p50: 250, p95: 6000 },
      timeToFirstTokenMs: { p50: null, p95: null },
      inputTokens: 400,
      outputTokens: 40,
    });
    expect(v1?.points[0]?.costUsd).toBeCloseTo(0.04, 10);
    expect(v1?.points[0]?.scores.rating?.n).toBe(2);
    expect(v1?.points[0]?.scores.rating?.mean).toBe(4.5);
    expect(v1?.points[0]?.scores.rating?.sd).toBeCloseTo(Math.SQRT1_2, 10);
    expect(v1?.points[1]).toMatchObject({
      calls: 3,
      errors: 0,
      latencyMs: { p50: 60, p95: 60 },
      timeToFirstTokenMs: { p50: 40, p95: 60 },
      scores: {},
    });
    // The total merges the histograms: buckets 10, 60, 60, 100, 250, 400, 6000.
    expect(v1?.total).toMatchObject({
      start: iso(day),
      calls: 7,
      errors: 1,
      latencyMs: { p50: 100, p95: 6000 },
      inputTokens: 700,
      outputTokens: 70,
    });
    expect(v1?.total.costUsd).toBeCloseTo(0.07, 10);
    expect(v2?.total).toMatchObject({
      calls: 2,
      latencyMs: { p50: 1000, p95: 1500 },
      scores: { rating: { n: 1, mean: 3, sd: 0 } },
    });
  });

  it("gives one point per day with granularity=day, equal to the hourly total", async () => {
    const body = await metrics({ groupBy: "version", granularity: "day" });
    const v1 = body.series[0];
    expect(v1?.points).toHaveLength(1);
    expect(v1?.points[0]).toMatchObject({
      start: iso(day),
      calls: 7,
      errors: 1,
      latencyMs: { p50: 100, p95: 6000 },
      inputTokens: 700,
    });
    expect(v1?.points[0]?.scores.rating).toMatchObject({ n: 2, mean: 4.5 });
  });

  it("groups by label, pinned calls (label null) first", async () => {
    const body = await metrics({ groupBy: "label", granularity: "day" });
    expect(body.series.map((series) => [series.label, series.total.calls])).toEqual([
      [null, 1],
      ["production", 6],
      ["staging", 2],
    ]);
  });

  it("groups by experiment variant, leaving out calls outside experiments", async () => {
    const body = await metrics({ groupBy: "variant" });
    expect(
      body.series.map((series) => [
        series.experimentId,
        series.variant,
        series.total.calls,
        series.total.errors,
      ]),
    ).toEqual([
      ["exp_1", "control", 4, 1],
      ["exp_1", "treatment", 2, 0],
    ]);
    expect(body.series[0]?.total.scores.rating).toMatchObject({ n: 2, mean: 4.5 });
  });

  it("filters by version and by label", async () => {
    const v2 = await metrics({ groupBy: "version", version: "2" });
    expect(v2.series.map((series) => series.version)).toEqual([2]);
    const production = await metrics({ groupBy: "version", label: "production" });
    expect(production.series.map((series) => [series.version, series.total.calls])).toEqual([
      [1, 6],
    ]);
  });

  it("returns no series for a range without calls", async () => {
    const response = await getMetrics(project, PROMPT, {
      from: iso(day - 10 * 24 * HOUR),
      to: iso(day - 9 * 24 * HOUR),
    });
    expect(((await response.json()) as PromptMetrics).series).toEqual([]);
  });

  it("refuses invalid parameters with problem+json (422)", async () => {
    for (const query of <Record<string, string>[]>[
      { groupBy: "model" },
      { granularity: "minute" },
      { from: "yesterday" },
      { from: iso(day + HOUR), to: iso(day) },
      { granularity: "hour", from: iso(day - 40 * 24 * HOUR), to: iso(day) },
      { version: "0" },
      { label: "Not A Label" },
      { unknown: "1" },
    ]) {
      const response = await getMetrics(project, PROMPT, query);
      expect(response.status, JSON.stringify(query)).toBe(422);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
    }
    const badName = await getMetrics(project, "bad%7Cname", {});
    expect(badName.status).toBe(422);
  });

  it("refuses queries that came through the edge (they carry its trusted headers)", async () => {
    const response = await exports.default.fetch(
      `http://telemetry.internal/internal/projects/${project}/prompts/${PROMPT}/metrics`,
      { headers: { "cuecard-project-id": project, "cuecard-key-id": "key_1" } },
    );
    expect(response.status).toBe(403);
  });
});
