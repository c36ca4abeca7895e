import type { Attributes, Span } from "@opentelemetry/api";

/**
 * Spans through the app's own OpenTelemetry setup. `@opentelemetry/api` is an optional peer
 * dependency: when the app has it, spans go to whatever tracer provider the app registered (a
 * no-op until one is); when it does not, nothing is traced and nothing fails.
 *
 * Attribute names follow the OpenTelemetry GenAI semantic conventions as published in
 * `@opentelemetry/semantic-conventions` 1.45.0 (incubating, "development" stability; since then
 * the GenAI conventions live in open-telemetry/semantic-conventions-genai). Names are copied here
 * rather than imported, as that package advises for incubating attributes.
 */
const api = await import("@opentelemetry/api").catch(() => undefined);

// A proxy tracer: it follows whichever provider the app registers, even after this import.
const tracer = api?.trace.getTracer("@cuecard/sdk");

// What the global provider delegates to while the app has registered none: the API's no-op
// provider (a fresh proxy answers with that same singleton).
const noopProvider = api ? new api.ProxyTracerProvider().getDelegate() : undefined;

/**
 * Whether the app has registered a tracer provider, asked per call (an app may register one
 * after this import). Without one a span would be a no-op: not building it, nor its
 * attributes, saves that work on every call.
 */
export function tracingEnabled(): boolean {
  if (!api) return false;
  const provider = api.trace.getTracerProvider() as { getDelegate?: () => unknown };
  return typeof provider.getDelegate !== "function" || provider.getDelegate() !== noopProvider;
}

export const ATTR = {
  operationName: "gen_ai.operation.name",
  providerName: "gen_ai.provider.name",
  requestModel: "gen_ai.request.model",
  requestStream: "gen_ai.request.stream",
  responseId: "gen_ai.response.id",
  responseModel: "gen_ai.response.model",
  responseFinishReasons: "gen_ai.response.finish_reasons",
  /** Seconds, per the convention (the Cuecard event keeps milliseconds). */
  responseTimeToFirstChunk: "gen_ai.response.time_to_first_chunk",
  usageInputTokens: "gen_ai.usage.input_tokens",
  usageOutputTokens: "gen_ai.usage.output_tokens",
  errorType: "error.type",
  promptName: "gen_ai.prompt.name",
  // Langfuse links a generation to a prompt version by these two.
  langfusePromptName: "langfuse.observation.prompt.name",
  langfusePromptVersion: "langfuse.observation.prompt.version",
  // OpenTelemetry feature-flag conventions: an experiment is a flag whose result is the variant.
  featureFlagKey: "feature_flag.key",
  featureFlagVariant: "feature_flag.result.variant",
  featureFlagProvider: "feature_flag.provider.name",
  cuecardPromptVersion: "cuecard.prompt.version",
  cuecardPromptLabel: "cuecard.prompt.label",
} as const;

export interface SpanEnd {
  responseId?: string | null;
  responseModel?: string | null;
  finishReasons?: string[] | null;
  timeToFirstChunkMs?: number | null;
  inputTokens?: number | null;
  outputTokens?: number | null;
  error?: { type: string; message?: string | null } | null;
}

/** A started generation span, or undefined when the app has no OpenTelemetry API. */
export function startGenerationSpan(name: string, attributes: Attributes): Span | undefined {
  if (!api || !tracer) return undefined;
  return tracer.startSpan(name, { kind: api.SpanKind.CLIENT, attributes }, api.context.active());
}

export function endGenerationSpan(span: Span, end: SpanEnd): void {
  if (span.isRecording()) {
    const attributes: Attributes = {};
    if (end.responseId) attributes[ATTR.responseId] = end.responseId;
    if (end.responseModel) attributes[ATTR.responseModel] = end.responseModel;
    if (end.finishReasons?.length) attributes[ATTR.responseFinishReasons] = end.finishReasons;
    if (end.timeToFirstChunkMs != null) {
      attributes[ATTR.responseTimeToFirstChunk] = end.timeToFirstChunkMs / 1000;
    }
    if (end.inputTokens != null) attributes[ATTR.usageInputTokens] = end.inputTokens;
    if (end.outputTokens != null) attributes[ATTR.usageOutputTokens] = end.outputTokens;
    if (end.error) {
      attributes[ATTR.errorType] = end.error.type;
      span.setStatus({
        code: api?.SpanStatusCode.ERROR ?? 2,
        message: end.error.message ?? undefined,
      });
    }
    span.setAttributes(attributes);
  }
  span.end();
}

/** The span's ids for the event, only when it is really recorded (not a no-op span). */
export function spanIds(span: Span | undefined): { traceId: string; spanId: string } | undefined {
  if (!span?.isRecording()) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId };
}
