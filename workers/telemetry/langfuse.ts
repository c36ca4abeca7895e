import { langfuseProblemResponse } from "@cuecard/core/langfuse";
import type { GenerationEvent, ScoreEvent } from "@cuecard/core/telemetry";
import type { Context } from "hono";
import { type Checked, checkEvent, type FieldIssue } from "./event-rules";
import { requestIdOf } from "./http";
import { generationIdOf, langfuseCostUsd, langfuseTokens } from "./otlp";

/**
 * The Langfuse ingestion bodies (scores and generations) read into Cuecard's events. A Langfuse
 * body is first turned into the Cuecard event it means, then judged by the same rules as
 * `POST /v1/events` (event-rules.ts); the problems found are reported under the Langfuse field
 * names the sender used.
 */

type Fields = Record<string, unknown>;

function isFields(value: unknown): value is Fields {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Cuecard event paths → the Langfuse field they came from. */
type PathNames = Record<string, string>;

function renamed(issues: FieldIssue[], names: PathNames): FieldIssue[] {
  return issues.map((issue) => ({ ...issue, path: names[issue.path] ?? issue.path }));
}

/**
 * The event judged by Cuecard's rules, after the Langfuse-specific `issues`; a field those already
 * explain is not reported twice.
 */
function judged<T>(event: Fields, issues: FieldIssue[], names: PathNames, now: number): Checked<T> {
  const checked = checkEvent(event, now);
  const explained = new Set(issues.map((issue) => issue.path));
  const rest = checked.ok
    ? []
    : renamed(checked.errors, names).filter((issue) => !explained.has(issue.path));
  const all = [...issues, ...rest];
  return all.length === 0 ? (checked as Checked<T>) : { ok: false, errors: all };
}

const NOT_AN_OBJECT: Checked<never> = {
  ok: false,
  errors: [{ path: "", message: "must be a JSON object" }],
};

export const SCORE_NEEDS_OBSERVATION =
  "is required: Cuecard attaches a score to one generation, so give the generation's observation id (with OpenTelemetry, its span id, and the traceId)";

const SCORE_PATHS: PathNames = { generationId: "observationId" };

/** Langfuse's score data types; a BOOLEAN score's value is 1 or 0 (or true/false). */
function scoreValue(fields: Fields, issues: FieldIssue[]): unknown {
  const { value, dataType } = fields;
  switch (dataType) {
    case undefined:
    case null:
      return value;
    case "NUMERIC":
      if (typeof value !== "number") issues.push({ path: "value", message: "must be a number" });
      return value;
    case "CATEGORICAL":
      if (typeof value !== "string") {
        issues.push({ path: "value", message: "must be a category name (a string)" });
      }
      return value;
    case "BOOLEAN":
      if (value === 1 || value === true) return true;
      if (value === 0 || value === false) return false;
      issues.push({ path: "value", message: "must be 1 or 0 for a BOOLEAN score" });
      return value;
    default:
      issues.push({ path: "dataType", message: "must be NUMERIC, CATEGORICAL or BOOLEAN" });
      return value;
  }
}

/**
 * A Langfuse score (the body of `POST /api/public/scores` or of a `score-create` envelope) as a
 * Cuecard score. Its generation is the observation it names; a score naming only a trace is
 * refused, since a trace may hold many generations (of different prompts) and Cuecard counts a
 * score under its generation's prompt version. `fallback` gives the id (when the body has none)
 * and the time.
 */
export function checkLangfuseScore(
  raw: unknown,
  fallback: { id: string; timestamp: unknown },
  now: number,
): Checked<ScoreEvent> {
  if (!isFields(raw)) return NOT_AN_OBJECT;
  const issues: FieldIssue[] = [];
  const { traceId, observationId } = raw;
  if (traceId != null && typeof traceId !== "string") {
    issues.push({ path: "traceId", message: "must be a string" });
  }
  if (observationId == null) {
    issues.push({ path: "observationId", message: SCORE_NEEDS_OBSERVATION });
  } else if (typeof observationId !== "string") {
    issues.push({ path: "observationId", message: "must be a string" });
  }
  const value = scoreValue(raw, issues);
  const event = {
    type: "score",
    id: raw.id ?? fallback.id,
    timestamp: fallback.timestamp,
    name: raw.name,
    value,
    generationId:
      typeof observationId === "string" ? generationIdOf(traceId, observationId) : undefined,
    comment: raw.comment,
  };
  return judged<ScoreEvent>(event, issues, SCORE_PATHS, now);
}

const GENERATION_PATHS: PathNames = {
  timestamp: "startTime",
  latencyMs: "endTime",
  timeToFirstTokenMs: "completionStartTime",
  inputTokens: "usageDetails.input",
  outputTokens: "usageDetails.output",
  costUsd: "costDetails.total",
  "prompt.name": "promptName",
  "prompt.version": "promptVersion",
  "error.message": "statusMessage",
};

export const GENERATION_NEEDS_END =
  "is required: Cuecard records a generation once it has ended, so send startTime, endTime and model in one event (or trace with @langfuse/otel)";

function millisBetween(from: unknown, to: unknown): number | undefined {
  if (typeof from !== "string" || typeof to !== "string") return undefined;
  return Date.parse(to) - Date.parse(from);
}

/**
 * A Langfuse generation (`generation-create`, `generation-update`, or `observation-create` of
 * type GENERATION) as a Cuecard generation. Cuecard keeps one complete record per call, so the
 * body must hold the whole call; its id is the observation id (with the trace id when both are
 * OpenTelemetry ids, as for spans), so a second event for the same generation adds nothing.
 */
export function checkLangfuseGeneration(raw: unknown, now: number): Checked<GenerationEvent> {
  if (!isFields(raw)) return NOT_AN_OBJECT;
  const issues: FieldIssue[] = [];
  if (raw.endTime == null) issues.push({ path: "endTime", message: GENERATION_NEEDS_END });
  const tokens = langfuseTokens(raw.usageDetails ?? raw.usage);
  const cost = langfuseCostUsd(raw.costDetails);
  const traceId = typeof raw.traceId === "string" ? raw.traceId.toLowerCase() : undefined;
  const id = typeof raw.id === "string" ? generationIdOf(raw.traceId, raw.id) : raw.id;
  const isSpan = typeof id === "string" && id.includes(":");
  const promptVersion = raw.promptVersion;
  const event = {
    type: "generation",
    id,
    timestamp: raw.startTime,
    model: raw.model,
    latencyMs: millisBetween(raw.startTime, raw.endTime),
    timeToFirstTokenMs:
      raw.completionStartTime == null
        ? null
        : millisBetween(raw.startTime, raw.completionStartTime),
    inputTokens: tokens.input ?? null,
    outputTokens: tokens.output ?? null,
    ...(cost !== undefined ? { costUsd: cost } : {}),
    // A prompt without a version cannot be counted under one: the call goes under "no prompt".
    prompt:
      raw.promptName != null && promptVersion != null
        ? { name: raw.promptName, version: promptVersion, label: null }
        : null,
    error:
      raw.level === "ERROR"
        ? {
            type: "error",
            message: typeof raw.statusMessage === "string" ? raw.statusMessage : null,
          }
        : null,
    traceId: isSpan ? traceId : null,
    spanId: isSpan ? (id as string).split(":")[1] : null,
  };
  return judged<GenerationEvent>(event, issues, GENERATION_PATHS, now);
}

/** The /api/public error handler: `{message, error}` JSON, never problem+json. */
export function langfuseErrorHandler(error: unknown, c: Context): Response {
  return langfuseProblemResponse(error, { "x-request-id": requestIdOf(c) });
}
