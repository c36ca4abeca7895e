import { LABEL_MAX, PROJECT_MAX, PROMPT_NAME_MAX, VERSION_MAX } from "@cuecard/core/limits";
import {
  LABEL_PATTERN,
  LABEL_RULE,
  PROJECT_PATTERN,
  PROMPT_NAME_PATTERN,
  PROMPT_NAME_RULE,
} from "@cuecard/core/names";
import {
  COST_USD_MAX,
  ERROR_MESSAGE_MAX,
  EVENT_AGE_MAX_MS,
  EVENT_ID_MAX,
  LATENCY_MS_MAX,
  MODEL_NAME_MAX,
  SCORE_CATEGORY_MAX,
  SCORE_COMMENT_MAX,
  SCORE_NAME_MAX,
  TELEMETRY_EVENT_TYPES,
  TELEMETRY_NAME_MAX,
  TOKENS_MAX,
  UNIT_ID_MAX,
} from "@cuecard/core/telemetry";
import { z } from "zod";

/**
 * The zod side of @cuecard/core/telemetry: every field of every event, with the limits from core.
 * Unknown fields are dropped (a newer SDK may send more than this worker knows).
 */

// Lone surrogates are refused before these schemas run, for every string of an event
// (jsonInputProblems in ingest.ts), so the schemas only bound lengths.
function text(max: number) {
  return z.string().max(max, `must be at most ${max} characters`);
}

function name(max: number) {
  return text(max).min(1, "must not be empty");
}

/** Event ids: what the sender chose, visible ASCII (UUIDs, ULIDs, `traceId:spanId`). */
export const eventId = z
  .string()
  .min(1, "must not be empty")
  .max(EVENT_ID_MAX, `must be at most ${EVENT_ID_MAX} characters`)
  .regex(/^[\x21-\x7e]+$/, "use only visible ASCII characters (no spaces)");

function count(max: number) {
  return z.number().int("must be a whole number").min(0, "must not be negative").max(max);
}

function amount(max: number) {
  return z.number().min(0, "must not be negative").max(max);
}

/** An ISO 8601 time with a zone, within EVENT_AGE_MAX_MS of now (either way). */
function eventTime(now: () => number) {
  return z.iso
    .datetime({
      offset: true,
      message: "must be an ISO 8601 time with a zone, e.g. 2026-07-01T12:00:00Z",
    })
    .superRefine((value, ctx) => {
      const age = now() - Date.parse(value);
      if (Math.abs(age) > EVENT_AGE_MAX_MS) {
        ctx.addIssue({
          code: "custom",
          message: `must be within ${EVENT_AGE_MAX_MS / 86_400_000} days of now (${age > 0 ? "too old" : "in the future"}); rollups of older hours are closed`,
        });
      }
    })
    .transform((value) => new Date(value).toISOString());
}

const promptRef = z.object({
  name: name(PROMPT_NAME_MAX).regex(PROMPT_NAME_PATTERN, PROMPT_NAME_RULE),
  version: z.number().int().min(1).max(VERSION_MAX),
  label: name(LABEL_MAX).regex(LABEL_PATTERN, LABEL_RULE).nullish(),
});

const experimentRef = z.object({
  id: name(TELEMETRY_NAME_MAX),
  key: name(TELEMETRY_NAME_MAX),
  variant: name(TELEMETRY_NAME_MAX),
});

const unit = name(UNIT_ID_MAX);

/** The schemas of one event, reading "now" from the given clock (tests pin it). */
export function eventSchemas(now: () => number = Date.now) {
  const base = { id: eventId, timestamp: eventTime(now) };

  const generation = z.object({
    ...base,
    type: z.literal("generation"),
    prompt: promptRef.nullish(),
    experiment: experimentRef.nullish(),
    unit: unit.nullish(),
    provider: name(TELEMETRY_NAME_MAX).nullish(),
    operation: name(TELEMETRY_NAME_MAX).nullish(),
    model: name(MODEL_NAME_MAX),
    responseModel: name(MODEL_NAME_MAX).nullish(),
    stream: z.boolean().optional(),
    latencyMs: amount(LATENCY_MS_MAX),
    timeToFirstTokenMs: amount(LATENCY_MS_MAX).nullish(),
    inputTokens: count(TOKENS_MAX).nullish(),
    outputTokens: count(TOKENS_MAX).nullish(),
    costUsd: amount(COST_USD_MAX).nullish(),
    finishReason: name(TELEMETRY_NAME_MAX).nullish(),
    error: z
      .object({
        type: name(TELEMETRY_NAME_MAX),
        status: z.number().int().min(100).max(599).nullish(),
        message: text(ERROR_MESSAGE_MAX).nullish(),
      })
      .nullish(),
    traceId: z
      .string()
      .regex(/^[0-9a-f]{32}$/, "must be 32 lowercase hex digits")
      .nullish(),
    spanId: z
      .string()
      .regex(/^[0-9a-f]{16}$/, "must be 16 lowercase hex digits")
      .nullish(),
  });

  const exposure = z.object({
    ...base,
    type: z.literal("exposure"),
    experiment: experimentRef,
    unit,
    prompt: promptRef,
  });

  const scoreFields = {
    ...base,
    name: name(SCORE_NAME_MAX),
    value: z.union([z.number(), z.boolean(), name(SCORE_CATEGORY_MAX)]),
    generationId: eventId,
    comment: text(SCORE_COMMENT_MAX).nullish(),
  };
  const score = z.object({ ...scoreFields, type: z.literal("score") });

  const conversion = z.object({
    ...base,
    type: z.literal("conversion"),
    name: name(SCORE_NAME_MAX),
    unit,
    value: z.number().min(-COST_USD_MAX).max(COST_USD_MAX).nullish(),
  });

  const event = z.discriminatedUnion("type", [generation, exposure, score, conversion], {
    error: `must be one of ${TELEMETRY_EVENT_TYPES.join(", ")}`,
  });

  /** `POST /v1/scores`: a score whose `type` may be left out. */
  const scoreBody = z
    .object({ ...scoreFields, type: z.literal("score").optional() })
    .transform((score) => ({ ...score, type: "score" as const }));

  return { event, scoreBody };
}

export type EventSchemas = ReturnType<typeof eventSchemas>;

let realClockSchemas: EventSchemas | undefined;

/**
 * The schemas on the real clock, built once per isolate: building them costs more than checking
 * a whole batch with them (they read the clock when they parse, so one build serves every request).
 */
export function currentEventSchemas(): EventSchemas {
  realClockSchemas ??= eventSchemas();
  return realClockSchemas;
}

export const projectId = z
  .string()
  .min(1)
  .max(PROJECT_MAX)
  .regex(PROJECT_PATTERN, "use only a-z, 0-9 and '-'");
export const experimentId = name(TELEMETRY_NAME_MAX);
