import { ProblemError } from "@cuecard/core/problem";
import { EVENT_BATCH_MAX_BYTES } from "@cuecard/core/telemetry";
import { checkScoreBody } from "../event-rules";
import { readJsonBody, type TelemetryApp } from "../http";
import { ingestEvents, type TelemetryMessage, validateEvent } from "../ingest";

/** POST /v1/scores — one score (`type` may be left out): 202 with its result, or 422. */
export function registerIngestScore(app: TelemetryApp) {
  app.post("/v1/scores", async (c) => {
    const body = await readJsonBody(c.req.raw, EVENT_BATCH_MAX_BYTES, {
      tooLarge: `A score is at most ${EVENT_BATCH_MAX_BYTES} bytes.`,
    });
    const validated = validateEvent(body, 0, (score) => checkScoreBody(score, Date.now()));
    if (!validated.ok) {
      throw new ProblemError("validation_failed", "The score was not accepted; see errors.", {
        errors: validated.result.errors.map((error) => ({
          field: error.path ? `body.${error.path}` : "body",
          message: error.message,
        })),
      });
    }
    const response = await ingestEvents(
      c.env.TELEMETRY_EVENTS as Queue<TelemetryMessage>,
      c.get("caller").projectId,
      [validated],
    );
    return c.json(response.results[0], 202);
  });
}
