import { ProblemError } from "@cuecard/core/problem";

/**
 * OTLP/HTTP JSON traces (ExportTraceServiceRequest) read into generation events. Only spans with
 * a `gen_ai.*` attribute, or that `@langfuse/tracing` marks as a generation
 * (`langfuse.observation.type`), are LLM calls; every other span is ignored (neither accepted nor
 * rejected). Attribute names follow the OpenTelemetry GenAI semantic conventions (see
 * docs/telemetry.md for the full mapping), plus the Langfuse and Cuecard prompt attributes; the
 * `langfuse.observation.*` ones are read where no `gen_ai.*` one says the same.
 */

type AnyValue = {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number | string;
  arrayValue?: { values?: AnyValue[] };
};

type Attributes = Map<string, AnyValue>;

interface OtlpSpan {
  traceId?: unknown;
  spanId?: unknown;
  startTimeUnixNano?: unknown;
  endTimeUnixNano?: unknown;
  attributes?: unknown;
  status?: { code?: unknown; message?: unknown };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function attributesOf(list: unknown): Attributes {
  const attributes: Attributes = new Map();
  if (!Array.isArray(list)) return attributes;
  for (const item of list) {
    if (isObject(item) && typeof item.key === "string" && isObject(item.value)) {
      attributes.set(item.key, item.value as AnyValue);
    }
  }
  return attributes;
}

function stringOf(value: AnyValue | undefined): string | undefined {
  return typeof value?.stringValue === "string" ? value.stringValue : undefined;
}

/** intValue is a string in OTLP JSON (64-bit); exporters also send numbers. */
function numberOf(value: AnyValue | undefined): number | undefined {
  const raw = value?.intValue ?? value?.doubleValue;
  if (raw === undefined) return undefined;
  const number = typeof raw === "number" ? raw : Number(raw);
  return Number.isFinite(number) ? number : Number.NaN;
}

function boolOf(value: AnyValue | undefined): boolean | undefined {
  return typeof value?.boolValue === "boolean" ? value.boolValue : undefined;
}

/** A version may arrive as an int or as a string ("3"). */
function versionOf(value: AnyValue | undefined): number | undefined {
  const text = stringOf(value);
  if (text !== undefined) return /^\d+$/.test(text) ? Number(text) : Number.NaN;
  return numberOf(value);
}

function nanosOf(value: unknown): bigint | undefined {
  if (typeof value === "string" && /^\d+$/.test(value)) return BigInt(value);
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  return undefined;
}

function hexId(value: unknown): string | undefined {
  return typeof value === "string" ? value.toLowerCase() : undefined;
}

/** Span status ERROR: 2 in OTLP JSON, or its enum name from some exporters. */
function isErrorStatus(code: unknown): boolean {
  return code === 2 || code === "STATUS_CODE_ERROR";
}

/**
 * An LLM call: a GenAI span, or a Langfuse generation (`@langfuse/tracing` sets no `gen_ai.*`
 * attribute on its own observations). Langfuse's other observation types (span, tool, agent, …)
 * are not calls.
 */
export function isGenerationSpan(attributes: Attributes): boolean {
  if (stringOf(attributes.get("langfuse.observation.type")) === "generation") return true;
  for (const key of attributes.keys()) if (key.startsWith("gen_ai.")) return true;
  return false;
}

/**
 * A JSON-serialised attribute of `@langfuse/tracing` (usage_details, cost_details,
 * completion_start_time): undefined when absent or not JSON.
 */
function jsonOf(value: AnyValue | undefined): unknown {
  const text = stringOf(value);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The first of `keys` in a Langfuse usage or cost object that holds a number. */
function detailOf(details: unknown, keys: readonly string[]): number | undefined {
  if (!isObject(details)) return undefined;
  for (const key of keys) if (typeof details[key] === "number") return details[key] as number;
  return undefined;
}

/**
 * Input and output tokens of a Langfuse usage object: its own keys (`input`, `output`), the OpenAI
 * and Anthropic names it also accepts, and the legacy `usage` object's camel-case ones.
 */
export function langfuseTokens(usage: unknown): { input?: number; output?: number } {
  return {
    input: detailOf(usage, ["input", "prompt_tokens", "input_tokens", "promptTokens"]),
    output: detailOf(usage, ["output", "completion_tokens", "output_tokens", "completionTokens"]),
  };
}

/** A Langfuse cost object's total, in USD. */
export function langfuseCostUsd(cost: unknown): number | undefined {
  return detailOf(cost, ["total"]);
}

const TRACE_ID_HEX = /^[0-9a-f]{32}$/i;
const SPAN_ID_HEX = /^[0-9a-f]{16}$/i;

/**
 * The generation id of an OpenTelemetry span: `traceId:spanId` (a span id alone is unique only
 * within its trace). A Langfuse score or observation that names an OpenTelemetry trace and span
 * gets the same id, so it meets the span's generation; other ids are kept as they are.
 */
export function generationIdOf(traceId: unknown, spanId: string): string {
  return typeof traceId === "string" && TRACE_ID_HEX.test(traceId) && SPAN_ID_HEX.test(spanId)
    ? `${traceId.toLowerCase()}:${spanId.toLowerCase()}`
    : spanId;
}

/** completion_start_time is a JSON string of an ISO time (or the bare time). */
function langfuseTimeToFirstTokenMs(
  value: AnyValue | undefined,
  start: bigint | undefined,
): number | undefined {
  const parsed = jsonOf(value) ?? stringOf(value);
  if (typeof parsed !== "string" || start === undefined) return undefined;
  const at = Date.parse(parsed);
  return Number.isFinite(at) ? at - Number(start / 1_000_000n) : Number.NaN;
}

/**
 * A span as a raw generation event (not yet validated: the same schema as `POST /v1/events`
 * judges it, so a span and an event are held to one rule).
 */
export function spanToGeneration(span: OtlpSpan, attributes: Attributes): Record<string, unknown> {
  const get = (key: string) => attributes.get(key);
  const traceId = hexId(span.traceId);
  const spanId = hexId(span.spanId);
  const start = nanosOf(span.startTimeUnixNano);
  const end = nanosOf(span.endTimeUnixNano);

  const errorType = stringOf(get("error.type"));
  const statusMessage =
    (typeof span.status?.message === "string" ? span.status.message : undefined) ||
    stringOf(get("langfuse.observation.status_message")) ||
    null;
  const error =
    errorType !== undefined
      ? { type: errorType, message: statusMessage }
      : isErrorStatus(span.status?.code) || stringOf(get("langfuse.observation.level")) === "ERROR"
        ? { type: "error", message: statusMessage }
        : null;
  const usage = langfuseTokens(jsonOf(get("langfuse.observation.usage_details")));
  const cost = langfuseCostUsd(jsonOf(get("langfuse.observation.cost_details")));

  const promptName =
    stringOf(get("cuecard.prompt.name")) ??
    stringOf(get("langfuse.observation.prompt.name")) ??
    stringOf(get("gen_ai.prompt.name"));
  const promptVersion =
    versionOf(get("cuecard.prompt.version")) ??
    versionOf(get("langfuse.observation.prompt.version"));
  // A prompt without a version cannot be counted under one: the call goes under "no prompt".
  const prompt =
    promptName !== undefined && promptVersion !== undefined
      ? {
          name: promptName,
          version: promptVersion,
          label: stringOf(get("cuecard.prompt.label")) ?? null,
        }
      : null;

  const flagKey = stringOf(get("feature_flag.key"));
  const variant = stringOf(get("feature_flag.result.variant"));
  const experiment =
    flagKey !== undefined && variant !== undefined
      ? { id: stringOf(get("cuecard.experiment.id")) ?? flagKey, key: flagKey, variant }
      : null;

  const finishReasons = get("gen_ai.response.finish_reasons");
  const finishReason =
    stringOf(finishReasons) ?? stringOf(finishReasons?.arrayValue?.values?.[0]) ?? null;
  const timeToFirstChunkSeconds = numberOf(get("gen_ai.response.time_to_first_chunk"));
  const timeToFirstTokenMs =
    timeToFirstChunkSeconds !== undefined
      ? timeToFirstChunkSeconds * 1000
      : langfuseTimeToFirstTokenMs(get("langfuse.observation.completion_start_time"), start);

  return {
    type: "generation",
    id: traceId !== undefined && spanId !== undefined ? generationIdOf(traceId, spanId) : undefined,
    timestamp: start !== undefined ? new Date(Number(start / 1_000_000n)).toISOString() : undefined,
    model:
      stringOf(get("gen_ai.request.model")) ??
      stringOf(get("gen_ai.response.model")) ??
      stringOf(get("langfuse.observation.model.name")),
    responseModel: stringOf(get("gen_ai.response.model")) ?? null,
    provider: stringOf(get("gen_ai.provider.name")) ?? stringOf(get("gen_ai.system")) ?? null,
    operation: stringOf(get("gen_ai.operation.name")) ?? null,
    stream: boolOf(get("gen_ai.request.stream")),
    latencyMs: start !== undefined && end !== undefined ? Number(end - start) / 1e6 : undefined,
    timeToFirstTokenMs: timeToFirstTokenMs ?? null,
    inputTokens: numberOf(get("gen_ai.usage.input_tokens")) ?? usage.input ?? null,
    outputTokens: numberOf(get("gen_ai.usage.output_tokens")) ?? usage.output ?? null,
    // Left out, the cost is priced from the model price table (ingest.ts).
    ...(cost !== undefined ? { costUsd: cost } : {}),
    finishReason,
    error,
    prompt,
    experiment,
    unit: stringOf(get("feature_flag.context.id")) ?? null,
    traceId: traceId ?? null,
    spanId: spanId ?? null,
  };
}

/** The generation spans of an export request, as raw generations; other spans are skipped. */
export function generationsOfTraces(body: unknown): Record<string, unknown>[] {
  if (!isObject(body) || (body.resourceSpans !== undefined && !Array.isArray(body.resourceSpans))) {
    throw new ProblemError(
      "bad_request",
      "The body is not an OTLP ExportTraceServiceRequest: expected {resourceSpans: [{scopeSpans: [{spans: […]}]}]}.",
    );
  }
  const generations: Record<string, unknown>[] = [];
  for (const resourceSpans of (body.resourceSpans as unknown[] | undefined) ?? []) {
    if (!isObject(resourceSpans) || !Array.isArray(resourceSpans.scopeSpans)) continue;
    for (const scopeSpans of resourceSpans.scopeSpans) {
      if (!isObject(scopeSpans) || !Array.isArray(scopeSpans.spans)) continue;
      for (const span of scopeSpans.spans) {
        if (!isObject(span)) continue;
        const attributes = attributesOf(span.attributes);
        if (isGenerationSpan(attributes)) generations.push(spanToGeneration(span, attributes));
      }
    }
  }
  return generations;
}
