/**
 * The telemetry contract every runtime shares: what the observed SDK sends to `POST /v1/events`
 * (and what OTLP spans are read into), what ingest answers, the fixed histogram buckets the
 * rollups count into, the default model prices, and what the metrics query returns.
 *
 * The telemetry worker checks these shapes (workers/telemetry/event-rules.ts); this file only
 * names them, so the SDK and the edge stay zod-free.
 */

/** The prompt version a call used, as `getPrompt` returned it. */
export interface TelemetryPromptRef {
  name: string;
  version: number;
  /** The label asked for; null (or absent) when the version was pinned. */
  label?: string | null;
}

/** The experiment arm a unit was served, as the edge or the SDK assigned it. */
export interface TelemetryExperimentRef {
  id: string;
  key: string;
  variant: string;
}

interface EventBase {
  /** Chosen by the sender, unique per project; a resend of the same id is counted once. */
  id: string;
  /** ISO 8601 time the thing happened (not when it was sent). */
  timestamp: string;
}

/** One LLM call (observed by the SDK, recorded by `recordGeneration`, or read from an OTLP span). */
export interface GenerationEvent extends EventBase {
  type: "generation";
  prompt?: TelemetryPromptRef | null;
  experiment?: TelemetryExperimentRef | null;
  /** The id the app assigns experiments by (a user, a session, an account). */
  unit?: string | null;
  /** `gen_ai.provider.name`, e.g. `openai`. */
  provider?: string | null;
  /** `gen_ai.operation.name`, e.g. `chat`, `responses`. */
  operation?: string | null;
  /** The model asked for (`gen_ai.request.model`). */
  model: string;
  /** The model that answered (`gen_ai.response.model`). */
  responseModel?: string | null;
  stream?: boolean;
  /** Wall time from the request to the last byte (or the error), in milliseconds. */
  latencyMs: number;
  /** Streaming only: time from the request to the first chunk, in milliseconds. */
  timeToFirstTokenMs?: number | null;
  inputTokens?: number | null;
  outputTokens?: number | null;
  /** US dollars. Computed from the price table when the sender leaves it out. */
  costUsd?: number | null;
  finishReason?: string | null;
  /** Present when the call failed (`error.type`; HTTP status when the provider answered). */
  error?: { type: string; status?: number | null; message?: string | null } | null;
  /** OpenTelemetry ids, when the call was also a span. */
  traceId?: string | null;
  spanId?: string | null;
}

/** A unit was served an experiment's variant (the edge and the SDK report these in batches). */
export interface ExposureEvent extends EventBase {
  type: "exposure";
  experiment: TelemetryExperimentRef;
  unit: string;
  prompt: TelemetryPromptRef;
}

/** Feedback or an evaluation attached to a generation: a number, a boolean or a category. */
export interface ScoreEvent extends EventBase {
  type: "score";
  name: string;
  value: number | boolean | string;
  /** The generation scored. Its prompt, variant and unit are taken from it. */
  generationId: string;
  comment?: string | null;
}

/** Something the app counts for a unit (a purchase, a resolved ticket), judged by experiments. */
export interface ConversionEvent extends EventBase {
  type: "conversion";
  name: string;
  unit: string;
  value?: number | null;
}

export type TelemetryEvent = GenerationEvent | ExposureEvent | ScoreEvent | ConversionEvent;
export type TelemetryEventType = TelemetryEvent["type"];
export const TELEMETRY_EVENT_TYPES = ["generation", "exposure", "score", "conversion"] as const;

/** `POST /v1/events` body. */
export interface TelemetryBatch {
  events: TelemetryEvent[];
}

/** One event's outcome, in the order sent. */
export type EventResult =
  | { id: string | null; index: number; status: "accepted" }
  | {
      id: string | null;
      index: number;
      status: "rejected";
      errors: { path: string; message: string }[];
    };

/** `POST /v1/events` answer: 200 when every event was accepted, 207 when some were rejected. */
export interface IngestResponse {
  accepted: number;
  rejected: number;
  results: EventResult[];
}

// Limits of ingest. A batch over these is refused whole (413); a field over them rejects its event.
export const EVENTS_PER_BATCH_MAX = 100;
export const EVENT_BATCH_MAX_BYTES = 512 * 1024;
export const EVENT_ID_MAX = 128;
export const UNIT_ID_MAX = 256;
export const MODEL_NAME_MAX = 200;
export const SCORE_NAME_MAX = 100;
export const SCORE_CATEGORY_MAX = 200;
export const SCORE_COMMENT_MAX = 2000;
export const ERROR_MESSAGE_MAX = 1000;
/** Every other name an event carries: provider, operation, finish reason, error type, experiment id, key and variant. */
export const TELEMETRY_NAME_MAX = 200;
/** An hour: a larger latency is a clock error, not a call. */
export const LATENCY_MS_MAX = 3_600_000;
export const TOKENS_MAX = 100_000_000;
export const COST_USD_MAX = 100_000;
/** Events older than this (or this far in the future) are rejected: rollups are closed by then. */
export const EVENT_AGE_MAX_MS = 7 * 24 * 3600 * 1000;

/**
 * Upper bounds (ms, inclusive) of the latency and time-to-first-token histogram buckets; one more
 * bucket counts everything above the last. Roughly ×1.5 apart, so a percentile read from the
 * rollup is exact to its bucket (±25 %), and buckets from any hours add up exactly.
 */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  5, 10, 15, 25, 40, 60, 100, 150, 250, 400, 600, 1000, 1500, 2500, 4000, 6000, 10_000, 15_000,
  25_000, 40_000, 60_000, 100_000, 150_000, 250_000, 400_000,
];
const LAST_BOUND_MS = LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1] ?? 0;

/** The bucket a latency falls in: 0 … LATENCY_BUCKETS_MS.length (the overflow bucket). */
export function latencyBucket(ms: number): number {
  let low = 0;
  let high: number = LATENCY_BUCKETS_MS.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (ms <= (LATENCY_BUCKETS_MS[mid] ?? LAST_BOUND_MS)) high = mid;
    else low = mid + 1;
  }
  return low;
}

/**
 * The q-quantile (0 < q ≤ 1) of a histogram (counts per bucket), as the upper bound of the bucket
 * it falls in; the overflow bucket reports the last bound. Null for an empty histogram.
 */
export function histogramQuantile(counts: readonly number[], q: number): number | null {
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let bucket = 0; bucket < counts.length; bucket++) {
    seen += counts[bucket] ?? 0;
    if (seen >= rank) return LATENCY_BUCKETS_MS[bucket] ?? LAST_BOUND_MS;
  }
  return LAST_BOUND_MS;
}

/** US dollars per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
}

/**
 * List prices of common models (USD per million tokens), used when neither the caller nor the
 * sender gave a cost. A model is matched by its exact name, then by the longest listed prefix
 * (so `gpt-4o-mini-2024-07-18` prices as `gpt-4o-mini`). Apps override or extend it.
 */
export const DEFAULT_MODEL_PRICES: Readonly<Record<string, ModelPrice>> = {
  "gpt-4o": { input: 2.5, output: 10 },
  "gpt-4o-mini": { input: 0.15, output: 0.6 },
  "gpt-4.1": { input: 2, output: 8 },
  "gpt-4.1-mini": { input: 0.4, output: 1.6 },
  "gpt-4.1-nano": { input: 0.1, output: 0.4 },
  "gpt-5": { input: 1.25, output: 10 },
  "gpt-5-mini": { input: 0.25, output: 2 },
  "gpt-5-nano": { input: 0.05, output: 0.4 },
  o3: { input: 2, output: 8 },
  "o4-mini": { input: 1.1, output: 4.4 },
  "claude-sonnet-4": { input: 3, output: 15 },
  "claude-opus-4": { input: 15, output: 75 },
  "claude-haiku-4": { input: 1, output: 5 },
};

export function priceOf(
  model: string,
  prices: Readonly<Record<string, ModelPrice>> = DEFAULT_MODEL_PRICES,
): ModelPrice | undefined {
  const exact = prices[model];
  if (exact) return exact;
  let best: string | undefined;
  for (const name of Object.keys(prices)) {
    if (model.startsWith(name) && (best === undefined || name.length > best.length)) best = name;
  }
  return best === undefined ? undefined : prices[best];
}

/** Cost in USD of a call, or null when the model has no price or no token counts are known. */
export function costOf(
  model: string,
  inputTokens: number | null | undefined,
  outputTokens: number | null | undefined,
  prices?: Readonly<Record<string, ModelPrice>>,
): number | null {
  const price = priceOf(model, prices);
  if (!price || (inputTokens == null && outputTokens == null)) return null;
  return ((inputTokens ?? 0) * price.input + (outputTokens ?? 0) * price.output) / 1_000_000;
}

// What the metrics query returns (the telemetry worker's internal route, and the admin API's
// `GET …/prompts/{name}/metrics`, which passes it through).

export const METRICS_GROUPINGS = ["version", "label", "variant"] as const;
export type MetricsGrouping = (typeof METRICS_GROUPINGS)[number];
export const METRICS_GRANULARITIES = ["hour", "day"] as const;
export type MetricsGranularity = (typeof METRICS_GRANULARITIES)[number];

/** Sufficient statistics of one score name: mean = sum / n, variance from sumSquares. */
export interface ScoreSummary {
  n: number;
  mean: number;
  sd: number;
}

export interface MetricsPoint {
  /** Start of the hour or day (UTC, ISO 8601). In a series' `total`, the query's `from`. */
  start: string;
  calls: number;
  errors: number;
  /** errors / calls; null without calls. */
  errorRate: number | null;
  latencyMs: { p50: number | null; p95: number | null };
  timeToFirstTokenMs: { p50: number | null; p95: number | null };
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  scores: Record<string, ScoreSummary>;
}

export interface MetricsSeries {
  /** What this series is: one version, one label or one experiment variant. */
  version?: number;
  label?: string | null;
  experimentId?: string;
  variant?: string;
  /** One point per hour or day with data; hours without calls are left out. */
  points: MetricsPoint[];
  /** The whole range in one point (histograms merged, not percentiles averaged). */
  total: MetricsPoint;
}

export interface PromptMetrics {
  prompt: string;
  groupBy: MetricsGrouping;
  granularity: MetricsGranularity;
  from: string;
  to: string;
  series: MetricsSeries[];
}
