import { wellFormedProblem } from "@cuecard/core/input";
import { LABEL_MAX, PROMPT_NAME_MAX, VERSION_MAX } from "@cuecard/core/limits";
import { labelProblem, promptNameProblem } from "@cuecard/core/names";
import {
  COST_USD_MAX,
  ERROR_MESSAGE_MAX,
  EVENT_AGE_MAX_MS,
  EVENT_ID_MAX,
  type ExposureEvent,
  type GenerationEvent,
  LATENCY_MS_MAX,
  MODEL_NAME_MAX,
  SCORE_CATEGORY_MAX,
  SCORE_COMMENT_MAX,
  SCORE_NAME_MAX,
  type ScoreEvent,
  TELEMETRY_EVENT_TYPES,
  TELEMETRY_NAME_MAX,
  type TelemetryEvent,
  type TelemetryExperimentRef,
  type TelemetryPromptRef,
  TOKENS_MAX,
  UNIT_ID_MAX,
} from "@cuecard/core/telemetry";

/**
 * The rules of every event field, with the limits from @cuecard/core/telemetry: the one place
 * they live (POST /v1/events, POST /v1/scores and OTLP spans are all judged here).
 *
 * Hand-written rather than zod: ingest checks up to 100 events per request, and Workers forbid
 * `new Function`, so zod runs its interpreted path there — a batch cost about 0.9 ms of CPU
 * (schema and Unicode walk) against about 0.1 ms for this (bench/ingest-profile.ts). The
 * telemetry worker shares a thread with other requests, so that CPU is latency for them.
 *
 * Unknown fields are dropped (a newer SDK may send more than this worker knows); a field left out
 * is undefined in the event, so it is absent from the queued JSON. Every string
 * kept must be well-formed Unicode: a lone surrogate cannot be stored as UTF-8, so what was
 * accepted would not be what is kept. Every problem of an event is reported, with its path.
 */

export interface FieldIssue {
  /** Dotted path inside the event, e.g. `prompt.name`; "" for the event itself. */
  path: string;
  message: string;
}

export type Checked<T> = { ok: true; event: T } | { ok: false; errors: FieldIssue[] };

type Fields = Record<string, unknown>;

/** One event being checked: reads its fields, collecting every problem under its path. */
class Reader {
  constructor(
    readonly fields: Fields,
    readonly prefix: string,
    readonly issues: FieldIssue[],
  ) {}

  fail(key: string, message: string): undefined {
    this.issues.push({ path: this.prefix + key, message });
    return undefined;
  }

  /** An object field, read by `read` under its own path; undefined when absent or refused. */
  object<T>(key: string, read: (reader: Reader) => T): T | undefined {
    const value = this.fields[key];
    if (!isFields(value)) return this.fail(key, "must be an object");
    return read(new Reader(value, `${this.prefix}${key}.`, this.issues));
  }

  text(key: string, max: number, min = 0): string | undefined {
    const value = this.fields[key];
    if (typeof value !== "string") return this.fail(key, "must be a string");
    const unicode = wellFormedProblem(value);
    if (unicode) return this.fail(key, unicode);
    const before = this.issues.length;
    if (value.length < min) this.fail(key, "must not be empty");
    if (value.length > max) this.fail(key, `must be at most ${max} characters`);
    return this.issues.length === before ? value : undefined;
  }

  name(key: string, max: number): string | undefined {
    return this.text(key, max, 1);
  }

  matching(key: string, max: number, pattern: RegExp, rule: string): string | undefined {
    return this.ruled(key, max, (value) => (pattern.test(value) ? undefined : rule));
  }

  /** A name checked by one of the shared rules (core/names.ts), with the rule's message. */
  ruled(key: string, max: number, problemOf: (value: string) => string | undefined) {
    const value = this.name(key, max);
    const problem = value === undefined ? undefined : problemOf(value);
    return problem ? this.fail(key, problem) : value;
  }

  number(
    key: string,
    min: number,
    max: number,
    options: { whole?: boolean } = {},
  ): number | undefined {
    const value = this.fields[key];
    if (typeof value !== "number" || !Number.isFinite(value)) {
      return this.fail(key, "must be a number");
    }
    const before = this.issues.length;
    if (options.whole && !Number.isInteger(value)) this.fail(key, "must be a whole number");
    if (value < min) this.fail(key, min === 0 ? "must not be negative" : `must be at least ${min}`);
    if (value > max) this.fail(key, `must be at most ${max}`);
    return this.issues.length === before ? value : undefined;
  }

  boolean(key: string): boolean | undefined {
    const value = this.fields[key];
    if (typeof value !== "boolean") return this.fail(key, "must be true or false");
    return value;
  }

  /** A field that may be absent or null: `read` runs only when it holds something else. */
  nullish<T>(key: string, read: (key: string) => T | undefined): T | null | undefined {
    const value = this.fields[key];
    if (value === undefined) return undefined;
    if (value === null) return null;
    return read(key);
  }

  optional<T>(key: string, read: (key: string) => T | undefined): T | undefined {
    return this.fields[key] === undefined ? undefined : read(key);
  }
}

function isFields(value: unknown): value is Fields {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Sender-chosen ids: visible ASCII (UUIDs, ULIDs, `traceId:spanId`). */
const EVENT_ID_PATTERN = /^[\x21-\x7e]+$/;
const EVENT_ID_RULE = "use only visible ASCII characters (no spaces)";

// RFC 3339 with seconds and a zone (Z or ±hh:mm), real calendar dates only (leap years included).
export const ISO_TIME_WITH_ZONE =
  /^(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|02-(?:0[1-9]|1\d|2[0-8])))T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

const TRACE_ID_PATTERN = /^[0-9a-f]{32}$/;
const SPAN_ID_PATTERN = /^[0-9a-f]{16}$/;

function eventId(reader: Reader, key: string): string | undefined {
  return reader.matching(key, EVENT_ID_MAX, EVENT_ID_PATTERN, EVENT_ID_RULE);
}

/** An ISO 8601 time with a zone, within EVENT_AGE_MAX_MS of now (either way), kept in UTC. */
function eventTime(reader: Reader, key: string, now: number): string | undefined {
  const value = reader.fields[key];
  if (typeof value !== "string" || !ISO_TIME_WITH_ZONE.test(value)) {
    return reader.fail(key, "must be an ISO 8601 time with a zone, e.g. 2026-07-01T12:00:00Z");
  }
  const at = Date.parse(value);
  const age = now - at;
  if (Math.abs(age) > EVENT_AGE_MAX_MS) {
    return reader.fail(
      key,
      `must be within ${EVENT_AGE_MAX_MS / 86_400_000} days of now (${age > 0 ? "too old" : "in the future"}); rollups of older hours are closed`,
    );
  }
  return new Date(at).toISOString();
}

function promptRef(reader: Reader): TelemetryPromptRef {
  const name = reader.ruled("name", PROMPT_NAME_MAX, promptNameProblem);
  const version = reader.number("version", 1, VERSION_MAX, { whole: true });
  const label = reader.nullish("label", (key) => reader.ruled(key, LABEL_MAX, labelProblem));
  return { name, version, label } as TelemetryPromptRef;
}

function experimentRef(reader: Reader): TelemetryExperimentRef {
  return {
    id: reader.name("id", TELEMETRY_NAME_MAX),
    key: reader.name("key", TELEMETRY_NAME_MAX),
    variant: reader.name("variant", TELEMETRY_NAME_MAX),
  } as TelemetryExperimentRef;
}

function generation(r: Reader, base: Fields): GenerationEvent {
  const name = (key: string) => r.name(key, TELEMETRY_NAME_MAX);
  const latency = (key: string) => r.number(key, 0, LATENCY_MS_MAX);
  const tokens = (key: string) => r.number(key, 0, TOKENS_MAX, { whole: true });
  return {
    ...base,
    type: "generation",
    prompt: r.nullish("prompt", (key) => r.object(key, promptRef)),
    experiment: r.nullish("experiment", (key) => r.object(key, experimentRef)),
    unit: r.nullish("unit", (key) => r.name(key, UNIT_ID_MAX)),
    provider: r.nullish("provider", name),
    operation: r.nullish("operation", name),
    model: r.name("model", MODEL_NAME_MAX),
    responseModel: r.nullish("responseModel", (key) => r.name(key, MODEL_NAME_MAX)),
    stream: r.optional("stream", (key) => r.boolean(key)),
    latencyMs: latency("latencyMs"),
    timeToFirstTokenMs: r.nullish("timeToFirstTokenMs", latency),
    inputTokens: r.nullish("inputTokens", tokens),
    outputTokens: r.nullish("outputTokens", tokens),
    costUsd: r.nullish("costUsd", (key) => r.number(key, 0, COST_USD_MAX)),
    finishReason: r.nullish("finishReason", name),
    error: r.nullish("error", (key) =>
      r.object(key, (e) => ({
        type: e.name("type", TELEMETRY_NAME_MAX),
        status: e.nullish("status", (k) => e.number(k, 100, 599, { whole: true })),
        message: e.nullish("message", (k) => e.text(k, ERROR_MESSAGE_MAX)),
      })),
    ),
    traceId: r.nullish("traceId", (key) =>
      r.matching(key, 32, TRACE_ID_PATTERN, "must be 32 lowercase hex digits"),
    ),
    spanId: r.nullish("spanId", (key) =>
      r.matching(key, 16, SPAN_ID_PATTERN, "must be 16 lowercase hex digits"),
    ),
  } as GenerationEvent;
}

function exposure(r: Reader, base: Fields): ExposureEvent {
  return {
    ...base,
    type: "exposure",
    experiment: r.object("experiment", experimentRef),
    unit: r.name("unit", UNIT_ID_MAX),
    prompt: r.object("prompt", promptRef),
  } as ExposureEvent;
}

function score(r: Reader, base: Fields): ScoreEvent {
  const value = r.fields.value;
  return {
    ...base,
    type: "score",
    name: r.name("name", SCORE_NAME_MAX),
    value:
      typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value))
        ? value
        : typeof value === "string"
          ? r.name("value", SCORE_CATEGORY_MAX)
          : r.fail("value", "must be a number, true or false, or a category name"),
    generationId: eventId(r, "generationId"),
    comment: r.nullish("comment", (key) => r.text(key, SCORE_COMMENT_MAX)),
  } as ScoreEvent;
}

function conversion(r: Reader, base: Fields): TelemetryEvent {
  return {
    ...base,
    type: "conversion",
    name: r.name("name", SCORE_NAME_MAX),
    unit: r.name("unit", UNIT_ID_MAX),
    value: r.nullish("value", (key) => r.number(key, -COST_USD_MAX, COST_USD_MAX)),
  } as TelemetryEvent;
}

const BY_TYPE: Record<TelemetryEvent["type"], (r: Reader, base: Fields) => TelemetryEvent> = {
  generation,
  exposure,
  score,
  conversion,
};

function checked<T>(issues: FieldIssue[], event: T): Checked<T> {
  return issues.length === 0 ? { ok: true, event } : { ok: false, errors: issues };
}

function baseOf(r: Reader, now: number): Fields {
  return { id: eventId(r, "id"), timestamp: eventTime(r, "timestamp", now) };
}

/** One event of a batch (any type), checked against the clock `now` (ms). */
export function checkEvent(raw: unknown, now: number): Checked<TelemetryEvent> {
  if (!isFields(raw))
    return { ok: false, errors: [{ path: "", message: "must be a JSON object" }] };
  const issues: FieldIssue[] = [];
  const r = new Reader(raw, "", issues);
  const type = raw.type;
  const read =
    typeof type === "string" && Object.hasOwn(BY_TYPE, type)
      ? BY_TYPE[type as TelemetryEvent["type"]]
      : undefined;
  if (!read) {
    return {
      ok: false,
      errors: [{ path: "type", message: `must be one of ${TELEMETRY_EVENT_TYPES.join(", ")}` }],
    };
  }
  const base = baseOf(r, now);
  return checked(issues, read(r, base));
}

/** `POST /v1/scores`: one score, whose `type` may be left out. */
export function checkScoreBody(raw: unknown, now: number): Checked<ScoreEvent> {
  if (!isFields(raw))
    return { ok: false, errors: [{ path: "", message: "must be a JSON object" }] };
  const issues: FieldIssue[] = [];
  const r = new Reader(raw, "", issues);
  if (raw.type !== undefined && raw.type !== "score") r.fail("type", 'must be "score" or left out');
  const base = baseOf(r, now);
  return checked(issues, score(r, base));
}
