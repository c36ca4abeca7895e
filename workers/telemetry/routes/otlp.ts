import { EVENT_BATCH_MAX_BYTES } from "@cuecard/core/telemetry";
import { checkEvent } from "../event-rules";
import { readJsonBody, type TelemetryApp } from "../http";
import { ingestEvents, type TelemetryMessage, validateEvent } from "../ingest";
import { generationsOfTraces } from "../otlp";

/** Rejection reasons listed in partialSuccess.errorMessage (the first ones say what to fix). */
const REASONS_REPORTED = 5;

/**
 * POST /v1/otel/v1/traces — OTLP/HTTP JSON. gen_ai spans become generations; the answer is an
 * ExportTraceServiceResponse: `{}`, or `partialSuccess` counting the gen_ai spans refused.
 */
export function registerOtlpTraces(app: TelemetryApp) {
  app.post("/v1/otel/v1/traces", async (c) => {
    const body = await readJsonBody(c.req.raw, EVENT_BATCH_MAX_BYTES, {
      tooLarge: `The export is larger than ${EVENT_BATCH_MAX_BYTES} bytes; lower the exporter's batch size.`,
      protobuf:
        "Cuecard reads OTLP/HTTP as JSON only: configure the exporter with protocol http/json (OTEL_EXPORTER_OTLP_PROTOCOL=http/json).",
    });
    const now = Date.now();
    const validated = generationsOfTraces(body).map((raw, index) =>
      validateEvent(raw, index, (event) => checkEvent(event, now)),
    );
    const response = await ingestEvents(
      c.env.TELEMETRY_EVENTS as Queue<TelemetryMessage>,
      c.get("caller").projectId,
      validated,
    );
    if (response.rejected === 0) return c.json({});
    const reasons = response.results.flatMap((result) =>
      result.status === "rejected"
        ? [
            `span ${result.id ?? `#${result.index}`}: ${result.errors.map((e) => `${e.path || "span"} ${e.message}`).join("; ")}`,
          ]
        : [],
    );
    return c.json({
      partialSuccess: {
        rejectedSpans: response.rejected,
        errorMessage: reasons.slice(0, REASONS_REPORTED).join("\n"),
      },
    });
  });
}
