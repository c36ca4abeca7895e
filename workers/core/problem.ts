/**
 * One error envelope for both workers: RFC 9457 problem+json with a stable `code` and the
 * request id. Bodies never carry stack traces, SQL or secrets.
 */

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** The stable codes a client can branch on; `type` is derived from them. */
export const PROBLEM_CODES = [
  "bad_request",
  "invalid_json",
  "unsupported_media_type",
  "payload_too_large",
  "validation_failed",
  "unauthorized",
  "forbidden",
  "telemetry_not_allowed",
  "origin_not_allowed",
  "not_found",
  "method_not_allowed",
  "conflict",
  "stale_revision",
  "rate_limited",
  "internal_error",
  "unavailable",
  "telemetry_not_configured",
] as const;
export type ProblemCode = (typeof PROBLEM_CODES)[number];

export const PROBLEM_STATUS: Record<ProblemCode, number> = {
  bad_request: 400,
  invalid_json: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  validation_failed: 422,
  unauthorized: 401,
  forbidden: 403,
  telemetry_not_allowed: 403,
  origin_not_allowed: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  stale_revision: 409,
  rate_limited: 429,
  internal_error: 500,
  unavailable: 503,
  telemetry_not_configured: 503,
};

const TITLES: Record<ProblemCode, string> = {
  bad_request: "Bad request",
  invalid_json: "Malformed JSON body",
  unsupported_media_type: "Unsupported media type",
  payload_too_large: "Request body too large",
  validation_failed: "Validation failed",
  unauthorized: "Unauthorized",
  forbidden: "Forbidden",
  telemetry_not_allowed: "This key may not send telemetry",
  origin_not_allowed: "This origin may not use this key",
  not_found: "Not found",
  method_not_allowed: "Method not allowed",
  conflict: "Conflict",
  stale_revision: "Stale revision",
  rate_limited: "Too many requests",
  internal_error: "Internal error",
  unavailable: "Service unavailable",
  telemetry_not_configured: "Telemetry is not configured",
};

export interface FieldError {
  /** Dotted path of the offending field, e.g. `body.prompt[1].role`. */
  field: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
  requestId?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

/**
 * The envelope as JSON Schema, for the edge's hand-kept OpenAPI document (the admin worker's zod
 * `Problem` has the same fields). Extensions a worker adds, like `missing`, extend `properties`.
 */
export const PROBLEM_JSON_SCHEMA = {
  type: "object",
  required: ["type", "title", "status", "detail", "code"],
  properties: {
    type: { type: "string" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    code: { type: "string", enum: PROBLEM_CODES },
    requestId: { type: "string" },
    errors: {
      type: "array",
      items: {
        type: "object",
        required: ["field", "message"],
        properties: { field: { type: "string" }, message: { type: "string" } },
      },
    },
  },
} as const;

/** Thrown by domain code and handlers; turned into problem+json by each worker's error handler. */
export class ProblemError extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  readonly errors?: FieldError[];
  readonly extensions?: Record<string, unknown>;
  /** Response headers the problem needs, e.g. `retry-after` on a 429. */
  readonly headers?: Record<string, string>;

  constructor(
    code: ProblemCode,
    detail: string,
    options: {
      errors?: FieldError[];
      extensions?: Record<string, unknown>;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(detail);
    this.name = "ProblemError";
    this.code = code;
    this.status = PROBLEM_STATUS[code];
    this.errors = options.errors;
    this.extensions = options.extensions;
    this.headers = options.headers;
  }
}

export function problemBody(error: ProblemError, requestId?: string): Problem {
  return {
    ...error.extensions,
    type: `https://cuecard.dev/problems/${error.code.replaceAll("_", "-")}`,
    title: TITLES[error.code],
    status: error.status,
    detail: error.message,
    code: error.code,
    ...(requestId ? { requestId } : {}),
    ...(error.errors ? { errors: error.errors } : {}),
  };
}

export function problemResponse(
  error: ProblemError,
  requestId?: string,
  headers: HeadersInit = {},
): Response {
  const response = new Response(JSON.stringify(problemBody(error, requestId)), {
    status: error.status,
    headers,
  });
  for (const [name, value] of Object.entries(error.headers ?? {}))
    response.headers.set(name, value);
  response.headers.set("content-type", PROBLEM_CONTENT_TYPE);
  if (requestId) response.headers.set("x-request-id", requestId);
  return response;
}

/** Maps any thrown value to a ProblemError without leaking its message when it is unexpected. */
export function toProblem(error: unknown): ProblemError {
  if (error instanceof ProblemError) return error;
  return new ProblemError(
    "internal_error",
    "Something went wrong on our side. Retry later; if it persists, report the request id.",
  );
}

interface Issue {
  path: ReadonlyArray<PropertyKey>;
  message: string;
  /** A union's issues per alternative (zod's `invalid_union`). */
  errors?: ReadonlyArray<ReadonlyArray<Issue>>;
}

const depthOf = (issues: ReadonlyArray<Issue>) =>
  Math.max(0, ...issues.map((issue) => issue.path.length));

/**
 * A union that no alternative matched says only "Invalid input". The alternative that got
 * furthest into the value (a chat's messages rather than a template string) says what is wrong
 * with it, at the field that is wrong, so its issues are reported instead.
 */
function closestIssues(issue: Issue): Issue[] {
  const alternatives = issue.errors ?? [];
  const best = alternatives.reduce<ReadonlyArray<Issue>>(
    (found, candidate) => (depthOf(candidate) > depthOf(found) ? candidate : found),
    [],
  );
  if (depthOf(best) === 0) return [issue];
  return best.flatMap((inner) => closestIssues({ ...inner, path: [...issue.path, ...inner.path] }));
}

/** zod-style issues → field errors, prefixed by the request part they came from. */
export function fieldErrors(part: string, issues: ReadonlyArray<Issue>): FieldError[] {
  return issues.flatMap(closestIssues).map((issue) => ({
    field: [part, ...issue.path.map(String)].join("."),
    message: issue.message,
  }));
}
