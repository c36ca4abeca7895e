import { ProblemError } from "@cuecard/core/problem";
import { EVENT_BATCH_MAX_BYTES, EVENTS_PER_BATCH_MAX } from "@cuecard/core/telemetry";
import { Hono } from "hono";
import type { FieldIssue } from "../event-rules";
import {
  ingestRateLimit,
  readJsonBody,
  type TelemetryApp,
  type TelemetryContext,
  trustedCaller,
} from "../http";
import {
  ingestEvents,
  reject,
  type TelemetryMessage,
  type Validated,
  validateEvent,
} from "../ingest";
import { checkLangfuseGeneration, checkLangfuseScore, langfuseErrorHandler } from "../langfuse";
import { ingestTraces, OTLP_PROTOBUF_REFUSED } from "./otlp";

/**
 * The Langfuse ingest API (scores, batch ingestion, OTLP traces), so the official Langfuse SDKs
 * send to Cuecard unchanged. The edge checks the Langfuse key pair and forwards these paths as
 * they are; errors are Langfuse's `{message, error}` JSON, which its SDKs read.
 */

/**
 * `@langfuse/tracing` puts each observation's input and output text on its span (Cuecard keeps
 * neither), so a full export of its default 512 spans is far larger than a Cuecard event batch.
 */
export const LANGFUSE_OTLP_MAX_BYTES = 4 * 1024 * 1024;

/** Langfuse answers every accepted ingestion event with 201, every refused one with 400. */
const ACCEPTED_STATUS = 201;
const REFUSED_STATUS = 400;

const RECORDED_TYPES =
  "score-create, generation-create, generation-update and observation-create (of type GENERATION)";

function describe(issues: FieldIssue[]): string {
  return issues
    .map((issue) => (issue.path ? `${issue.path} ${issue.message}` : issue.message))
    .join("; ");
}

async function enqueue(c: TelemetryContext, validated: Validated[]) {
  return ingestEvents(
    c.env.TELEMETRY_EVENTS as Queue<TelemetryMessage>,
    c.get("caller").projectId,
    validated,
  );
}

function isFields(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** One ingestion envelope `{id, timestamp, type, body}` read into the event it records. */
function envelopeEvent(raw: unknown, index: number, now: number): Validated {
  if (!isFields(raw)) return reject(null, index, [{ path: "", message: "must be a JSON object" }]);
  const id = typeof raw.id === "string" && raw.id.length > 0 ? raw.id : null;
  if (id === null)
    return reject(null, index, [{ path: "id", message: "must be a non-empty string" }]);
  const { type, body } = raw;
  if (!isFields(body)) return reject(id, index, [{ path: "body", message: "must be an object" }]);
  switch (type) {
    case "score-create":
      return validateEvent(body, index, (score) =>
        checkLangfuseScore(score, { id, timestamp: raw.timestamp }, now),
      );
    case "generation-create":
    case "generation-update":
      return validateEvent(body, index, (generation) => checkLangfuseGeneration(generation, now));
    case "observation-create":
      if (body.type === "GENERATION") {
        return validateEvent(body, index, (generation) => checkLangfuseGeneration(generation, now));
      }
      return reject(id, index, [
        {
          path: "body.type",
          message: `is ${JSON.stringify(body.type)}: Cuecard records only observations of type GENERATION`,
        },
      ]);
    default:
      return reject(id, index, [
        {
          path: "type",
          message: `${JSON.stringify(type)} is not recorded by Cuecard; it records ${RECORDED_TYPES}`,
        },
      ]);
  }
}

export function registerLangfuseIngest(app: TelemetryApp) {
  const langfuse: TelemetryApp = new Hono();
  langfuse.onError(langfuseErrorHandler);
  langfuse.use("*", trustedCaller(), ingestRateLimit());

  /** POST /api/public/scores — one score → 200 `{id}`; a refused score is a 400 naming its fields. */
  langfuse.post("/scores", async (c) => {
    const body = await readJsonBody(c.req.raw, EVENT_BATCH_MAX_BYTES, {
      tooLarge: `A score is at most ${EVENT_BATCH_MAX_BYTES} bytes.`,
    });
    const now = Date.now();
    const fallback = { id: crypto.randomUUID(), timestamp: new Date(now).toISOString() };
    const validated = validateEvent(body, 0, (score) => checkLangfuseScore(score, fallback, now));
    if (!validated.ok) {
      throw new ProblemError(
        "validation_failed",
        `The score was not accepted: ${describe(validated.result.errors)}.`,
      );
    }
    await enqueue(c, [validated]);
    return c.json({ id: validated.event.id });
  });

  /**
   * POST /api/public/ingestion — a batch of envelopes → 207 with each envelope's outcome. An
   * event's id is its body's id (the score or observation id; the envelope id for a score
   * without one), so a batch sent again, or one observation sent twice, is counted once.
   */
  langfuse.post("/ingestion", async (c) => {
    const body = await readJsonBody(c.req.raw, EVENT_BATCH_MAX_BYTES, {
      tooLarge: `The batch is larger than ${EVENT_BATCH_MAX_BYTES} bytes; send fewer events per request.`,
    });
    const batch = isFields(body) ? body.batch : undefined;
    if (!Array.isArray(batch)) {
      throw new ProblemError(
        "bad_request",
        'The body must be {"batch": [{"id", "timestamp", "type", "body"}, …]}.',
      );
    }
    if (batch.length > EVENTS_PER_BATCH_MAX) {
      throw new ProblemError(
        "payload_too_large",
        `The batch has ${batch.length} events; send at most ${EVENTS_PER_BATCH_MAX} per request.`,
      );
    }
    const now = Date.now();
    const validated = batch.map((raw, index) => envelopeEvent(raw, index, now));
    await enqueue(c, validated);
    const envelopeId = (index: number) => {
      const id = (batch[index] as { id?: unknown } | null)?.id;
      return typeof id === "string" ? id : "";
    };
    const successes: { id: string; status: number }[] = [];
    const errors: { id: string; status: number; message: string; error: string }[] = [];
    validated.forEach((item, index) => {
      if (item.ok) successes.push({ id: envelopeId(index), status: ACCEPTED_STATUS });
      else {
        errors.push({
          id: envelopeId(index),
          status: REFUSED_STATUS,
          message: `batch[${index}]: ${describe(item.result.errors)}`,
          error: "InvalidRequestError",
        });
      }
    });
    return c.json({ successes, errors }, 207);
  });

  /** POST /api/public/otel/v1/traces — what `@langfuse/otel` exports (OTLP/HTTP JSON). */
  langfuse.post("/otel/v1/traces", async (c) => {
    const body = await readJsonBody(c.req.raw, LANGFUSE_OTLP_MAX_BYTES, {
      tooLarge: `The export is larger than ${LANGFUSE_OTLP_MAX_BYTES} bytes; lower the span processor's flushAt.`,
      protobuf: OTLP_PROTOBUF_REFUSED,
    });
    return c.json(await ingestTraces(c, body));
  });

  langfuse.all("*", (c) => {
    throw new ProblemError(
      "not_found",
      `Cuecard's telemetry answers no ${c.req.method} ${new URL(c.req.url).pathname}.`,
    );
  });

  app.route("/api/public", langfuse);
}
