import { EVENT_BATCH_MAX_BYTES } from "@cuecard/core/telemetry";
import { checkEvent } from "../event-rules";
import { readJsonBody, type TelemetryApp, type TelemetryContext } from "../http";
import { ingestEvents, type TelemetryMessage, validateEvent } from "../ingest";
import { generationsOfTraces } from "../otlp";

export const OTLP_TOO_LARGE = `The export is larger than ${EVENT_BATCH_MAX_BYTES} bytes; lower the exporter's batch size.`;
export const OTLP_PROTOBUF_REFUSED =
  "Cuecard reads OTLP/HTTP as JSON only: configure the exporter with protocol http/json (OTEL_EXPORTER_OTLP_PROTOCOL=http/json).";

/** Rejection reasons listed in partialSuccess.errorMessage (the first ones say what to fix). */
const REASONS_REPORTED = 5;

/**
 * An ExportTraceServiceRequest's generation spans, enqueued; the answer is an
 * ExportTraceServiceResponse: `{}`, or `partialSuccess` counting the generation spans refused.
 * A body that is not an export request is refused whole (400), before anything is enqueued.
 */
export async function ingestTraces(c: TelemetryContext, body: unknown) {
  const now = Date.now();
  const validated = generationsOfTraces(body).map((raw, index) =>
    validateEvent(raw, index, (event) => checkEvent(event, now)),
  );
  const response = await ingestEvents(
    c.env.TELEMETRY_EVENTS as Queue<TelemetryMessage>,
    c.get("caller").projectId,
    validated,
  );
  if (response.rejected === 0) return {};
  const reasons = response.results.flatMap((result) =>
    result.status === "rejected"
      ? [
          `span ${result.id ?? `#${result.index}`}: ${result.errors.map((e) => `${e.path || "span"} ${e.message}`).join("; ")}`,
        ]
      : [],
  );
  return {
    partialSuccess: {
      rejectedSpans: response.rejected,
      errorMessage: reasons.slice(0, REASONS_REPORTED).join("\n"),
    },
  };
}

/** POST /v1/otel/v1/traces — OTLP/HTTP JSON; generation spans become generations. */
export function registerOtlpTraces(app: TelemetryApp) {
  app.post("/v1/otel/v1/traces", async (c) => {
    const body = await readJsonBody(c.req.raw, EVENT_BATCH_MAX_BYTES, {
      tooLarge: OTLP_TOO_LARGE,
      protobuf: OTLP_PROTOBUF_REFUSED,
    });
    return c.json(await ingestTraces(c, body));
  });
}
