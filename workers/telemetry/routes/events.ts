import { ProblemError } from "@cuecard/core/problem";
import { EVENT_BATCH_MAX_BYTES, EVENTS_PER_BATCH_MAX } from "@cuecard/core/telemetry";
import { checkEvent } from "../event-rules";
import { readJsonBody, type TelemetryApp } from "../http";
import { ingestEvents, type TelemetryMessage, validateEvent } from "../ingest";

/** POST /v1/events — a TelemetryBatch; 200 when all were accepted, 207 when some were rejected. */
export function registerIngestEvents(app: TelemetryApp) {
  app.post("/v1/events", async (c) => {
    const body = await readJsonBody(c.req.raw, EVENT_BATCH_MAX_BYTES, {
      tooLarge: `The batch is larger than ${EVENT_BATCH_MAX_BYTES} bytes; send fewer events per request.`,
    });
    const events = (body as { events?: unknown } | null)?.events;
    if (body === null || typeof body !== "object" || !Array.isArray(events)) {
      throw new ProblemError("validation_failed", 'The body must be {"events": [ … ]}.', {
        errors: [{ field: "body.events", message: "must be an array of events" }],
      });
    }
    if (events.length > EVENTS_PER_BATCH_MAX) {
      throw new ProblemError(
        "payload_too_large",
        `The batch has ${events.length} events; send at most ${EVENTS_PER_BATCH_MAX} per request.`,
        { extensions: { maxEvents: EVENTS_PER_BATCH_MAX } },
      );
    }
    const now = Date.now();
    const validated = events.map((raw, index) =>
      validateEvent(raw, index, (event) => checkEvent(event, now)),
    );
    const response = await ingestEvents(
      c.env.TELEMETRY_EVENTS as Queue<TelemetryMessage>,
      c.get("caller").projectId,
      validated,
    );
    return c.json(response, response.rejected > 0 ? 207 : 200);
  });
}
