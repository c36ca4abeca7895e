import type { MetricsPoint, MetricsSeries, PromptMetrics } from "../../workers/core/telemetry";

/**
 * A stand-in for the telemetry worker behind the admin worker's `TELEMETRY` service binding
 * (vitest.config.ts). It runs in Node, answers the metrics route with canned figures, and
 * records every query it gets; tests read the record through the binding itself at
 * `GET /__test/requests?prompt=<name>` (tests use unique prompt names, so files never mix).
 *
 * What it answers depends on the prompt name's first segment:
 * - `broken/…`: 500 (telemetry down);
 * - `refused/…`: 422 naming `query.granularity` (the two workers disagree on a rule);
 * - `quiet/…`: no series;
 * - anything else: the canned series below, for the `groupBy` asked.
 *
 * Exposures (`GET /internal/projects/{projectId}/experiments/{experimentId}/exposures`) answer
 * what a test set, in either of two forms: `PUT /__test/exposures/{experimentId}` with
 * `{variants: [{variant, units}]}` (or `{status}` to fail with), or `POST /__test/exposures` with
 * `{projectId, experimentId, units: {variant: n} | null}` (null answers 500: telemetry down);
 * no variants otherwise. `GET /__test/exposure-queries?experimentId=` lists the queries received
 * ({projectId, experimentId}); `GET /__test/exposure-requests?experimentId=` just their ids.
 *
 * Statistics (`POST /internal/projects/{projectId}/experiments/{experimentId}/statistics`) answer
 * what `PUT /__test/statistics/{experimentId}` set (an ExperimentStatistics, or `{status}` to fail
 * with), and an experiment without data otherwise. `GET /__test/statistics-queries?experimentId=`
 * lists the queries received ({projectId, experimentId, body}).
 * Ingest (`POST /v1/events`, as the playground sends its runs) is accepted whole and kept as it
 * came, headers and raw body: `GET /__test/ingested?prompt=<name>` lists the requests whose body
 * names that prompt.
 */

const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;

function point(
  start: string,
  figures: Partial<Omit<MetricsPoint, "start">> & { calls: number; errors: number },
): MetricsPoint {
  return {
    start,
    errorRate: figures.calls > 0 ? figures.errors / figures.calls : null,
    latencyMs: { p50: null, p95: null },
    timeToFirstTokenMs: { p50: null, p95: null },
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    scores: {},
    ...figures,
  };
}

/** v1, v2 and v99 (which no test prompt has): totals the tests look for, in two buckets. */
function versionSeries(from: string, bucket: (index: number) => string): MetricsSeries[] {
  return [
    {
      version: 1,
      points: [
        point(bucket(0), {
          calls: 1000,
          errors: 30,
          latencyMs: { p50: 400, p95: 1500 },
          timeToFirstTokenMs: { p50: 150, p95: 600 },
          inputTokens: 2_000_000,
          outputTokens: 300_000,
          costUsd: 10,
          scores: { helpfulness: { n: 250, mean: 0.8, sd: 0.1 } },
        }),
        point(bucket(2), {
          calls: 200,
          errors: 6,
          latencyMs: { p50: 400, p95: 1500 },
          timeToFirstTokenMs: { p50: 150, p95: 600 },
          inputTokens: 400_000,
          outputTokens: 60_000,
          costUsd: 2.5,
          scores: { helpfulness: { n: 50, mean: 0.92, sd: 0.05 } },
        }),
      ],
      total: point(from, {
        calls: 1200,
        errors: 36,
        latencyMs: { p50: 400, p95: 1500 },
        timeToFirstTokenMs: { p50: 150, p95: 600 },
        inputTokens: 2_400_000,
        outputTokens: 360_000,
        costUsd: 12.5,
        scores: { helpfulness: { n: 300, mean: 0.82, sd: 0.1 } },
      }),
    },
    {
      version: 2,
      points: [
        point(bucket(1), {
          calls: 300,
          errors: 3,
          latencyMs: { p50: 250, p95: 1000 },
          timeToFirstTokenMs: { p50: 100, p95: 400 },
          inputTokens: 600_000,
          outputTokens: 90_000,
          costUsd: 3.25,
          scores: { helpfulness: { n: 80, mean: 0.91, sd: 0.04 } },
        }),
      ],
      total: point(from, {
        calls: 300,
        errors: 3,
        latencyMs: { p50: 250, p95: 1000 },
        timeToFirstTokenMs: { p50: 100, p95: 400 },
        inputTokens: 600_000,
        outputTokens: 90_000,
        costUsd: 3.25,
        scores: { helpfulness: { n: 80, mean: 0.91, sd: 0.04 } },
      }),
    },
    {
      version: 99,
      points: [point(bucket(1), { calls: 7, errors: 7, latencyMs: { p50: 60, p95: 100 } })],
      total: point(from, { calls: 7, errors: 7, latencyMs: { p50: 60, p95: 100 } }),
    },
  ];
}

function labelSeries(from: string, bucket: (index: number) => string): MetricsSeries[] {
  return [
    {
      label: "production",
      points: [point(bucket(0), { calls: 900, errors: 9 })],
      total: point(from, { calls: 900, errors: 9 }),
    },
    {
      label: null,
      points: [point(bucket(0), { calls: 42, errors: 0 })],
      total: point(from, { calls: 42, errors: 0 }),
    },
  ];
}

function variantSeries(from: string, bucket: (index: number) => string): MetricsSeries[] {
  return ["control", "treatment"].map((variant, index) => ({
    experimentId: "exp_greeting",
    variant,
    points: [point(bucket(index), { calls: 50 + index, errors: index })],
    total: point(from, { calls: 50 + index, errors: index }),
  }));
}

const received: {
  prompt: string;
  projectId: string;
  path: string;
  query: Record<string, string>;
}[] = [];

const METRICS_PATH = /^\/internal\/projects\/([^/]+)\/prompts\/([^/]+)\/metrics$/;
const EXPOSURES_PATH = /^\/internal\/projects\/([^/]+)\/experiments\/([^/]+)\/exposures$/;

const SET_EXPOSURES_PATH = /^\/__test\/exposures\/([^/]+)$/;

type CannedExposures = { variants: { variant: string; units: number }[] } | { status: number };
const cannedExposures = new Map<string, CannedExposures>();
/** The exposure queries received, by experiment id. */
const exposureQueries: { projectId: string; experimentId: string }[] = [];

async function fakeExposures(request: Request, url: URL): Promise<Response | undefined> {
  const set = SET_EXPOSURES_PATH.exec(url.pathname);
  if (set && request.method === "PUT") {
    cannedExposures.set(decodeURIComponent(set[1]!), (await request.json()) as CannedExposures);
    return new Response(null, { status: 204 });
  }
  if (url.pathname === "/__test/exposures" && request.method === "POST") {
    const body = (await request.json()) as {
      experimentId: string;
      units: Record<string, number> | null;
    };
    cannedExposures.set(
      body.experimentId,
      body.units === null
        ? { status: 500 }
        : { variants: Object.entries(body.units).map(([variant, units]) => ({ variant, units })) },
    );
    return new Response(null, { status: 204 });
  }
  if (url.pathname === "/__test/exposure-requests") {
    const id = url.searchParams.get("experimentId");
    return Response.json(
      exposureQueries
        .filter((query) => query.experimentId === id)
        .map((query) => query.experimentId),
    );
  }
  if (url.pathname === "/__test/exposure-queries") {
    const id = url.searchParams.get("experimentId");
    return Response.json(exposureQueries.filter((query) => query.experimentId === id));
  }
  const match = EXPOSURES_PATH.exec(url.pathname);
  if (!match || request.method !== "GET") return undefined;
  const projectId = decodeURIComponent(match[1]!);
  const experimentId = decodeURIComponent(match[2]!);
  exposureQueries.push({ projectId, experimentId });
  const canned = cannedExposures.get(experimentId) ?? { variants: [] };
  if ("status" in canned) return new Response("boom", { status: canned.status });
  return Response.json({
    experimentId,
    variants: canned.variants.map((row) => ({
      ...row,
      exposures: row.units,
      firstExposedAt: "2026-07-01T00:00:00.000Z",
    })),
  });
}

const SET_STATISTICS_PATH = /^\/__test\/statistics\/([^/]+)$/;
const STATISTICS_PATH = /^\/internal\/projects\/([^/]+)\/experiments\/([^/]+)\/statistics$/;
const cannedStatistics = new Map<string, unknown>();
const statisticsQueries: { projectId: string; experimentId: string; body: unknown }[] = [];

async function fakeStatistics(request: Request, url: URL): Promise<Response | undefined> {
  const set = SET_STATISTICS_PATH.exec(url.pathname);
  if (set && request.method === "PUT") {
    cannedStatistics.set(decodeURIComponent(set[1]!), await request.json());
    return new Response(null, { status: 204 });
  }
  if (url.pathname === "/__test/statistics-queries") {
    const id = url.searchParams.get("experimentId");
    return Response.json(statisticsQueries.filter((query) => query.experimentId === id));
  }
  const match = STATISTICS_PATH.exec(url.pathname);
  if (!match || request.method !== "POST") return undefined;
  const projectId = decodeURIComponent(match[1]!);
  const experimentId = decodeURIComponent(match[2]!);
  const body = (await request.json()) as { metrics: unknown[] };
  statisticsQueries.push({ projectId, experimentId, body });
  const canned = cannedStatistics.get(experimentId) as { status?: number } | undefined;
  if (canned?.status !== undefined) return new Response("boom", { status: canned.status });
  return Response.json(
    canned ?? {
      experimentId,
      exposedUnits: {},
      metrics: body.metrics.map((metric) => ({ metric, variants: {} })),
      days: [],
    },
  );
}

interface IngestRequest {
  headers: Record<string, string>;
  body: string;
}
const ingested: IngestRequest[] = [];

async function fakeIngest(request: Request, url: URL): Promise<Response | undefined> {
  if (url.pathname === "/__test/ingested") {
    const prompt = JSON.stringify(url.searchParams.get("prompt") ?? "");
    return Response.json(ingested.filter((entry) => entry.body.includes(prompt)));
  }
  if (url.pathname !== "/v1/events" || request.method !== "POST") return undefined;
  const body = await request.text();
  ingested.push({ headers: Object.fromEntries(request.headers), body });
  const events = (JSON.parse(body) as { events: { id: string }[] }).events;
  return Response.json({
    accepted: events.length,
    rejected: 0,
    results: events.map((event, index) => ({ id: event.id, index, status: "accepted" })),
  });
}

export async function fakeTelemetry(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const ingest = await fakeIngest(request, url);
  if (ingest) return ingest;
  const exposures = await fakeExposures(request, url);
  if (exposures) return exposures;
  const statistics = await fakeStatistics(request, url);
  if (statistics) return statistics;
  if (url.pathname === "/__test/requests") {
    const prompt = url.searchParams.get("prompt");
    return Response.json(received.filter((entry) => entry.prompt === prompt));
  }
  const match = METRICS_PATH.exec(url.pathname);
  if (!match || request.method !== "GET") {
    return new Response("not a telemetry route", { status: 404 });
  }
  const projectId = decodeURIComponent(match[1]!);
  const prompt = decodeURIComponent(match[2]!);
  const query = Object.fromEntries(url.searchParams);
  received.push({ prompt, projectId, path: url.pathname, query });

  if (prompt.startsWith("broken/")) return new Response("boom", { status: 500 });
  if (prompt.startsWith("refused/")) {
    return Response.json(
      {
        type: "https://cuecard.dev/problems/validation_failed",
        title: "Validation failed",
        status: 422,
        detail: "Some fields are not valid; see errors.",
        code: "validation_failed",
        errors: [{ field: "query.granularity", message: "hourly data is kept for 14 days" }],
      },
      { status: 422, headers: { "content-type": "application/problem+json" } },
    );
  }
  const from = query.from ?? new Date(0).toISOString();
  const to = query.to ?? new Date().toISOString();
  const granularity = query.granularity === "hour" ? "hour" : "day";
  const step = granularity === "hour" ? HOUR_MS : DAY_MS;
  const first = Math.floor(Date.parse(from) / step) * step;
  const bucket = (index: number) => new Date(first + index * step).toISOString();
  const groupBy =
    query.groupBy === "label" ? "label" : query.groupBy === "variant" ? "variant" : "version";
  let series: MetricsSeries[] = [];
  if (!prompt.startsWith("quiet/")) {
    if (groupBy === "version") series = versionSeries(from, bucket);
    else if (groupBy === "label") series = labelSeries(from, bucket);
    else series = variantSeries(from, bucket);
  }
  // The canned label and variant series are not split by version; only version series filter.
  if (query.version && groupBy === "version") {
    series = series.filter((s) => s.version === Number(query.version));
  }
  const body: PromptMetrics = { prompt, groupBy, granularity, from, to, series };
  return Response.json(body);
}
