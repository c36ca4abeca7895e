import { ProblemError, problemResponse, toProblem } from "@cuecard/core/problem";
import type { Context, Hono, MiddlewareHandler } from "hono";

/** Who is sending, as the edge worker established it (it authenticated the read key). */
export interface Caller {
  projectId: string;
  keyId: string;
}

export interface TelemetryVariables {
  caller: Caller;
}

export type TelemetryApp = Hono<{ Bindings: TelemetryEnv; Variables: TelemetryVariables }>;
export type TelemetryContext = Context<{
  Bindings: TelemetryEnv;
  Variables: TelemetryVariables;
}>;

/** Set by the edge worker after it checked the read key; never accepted from anywhere else. */
export const PROJECT_ID_HEADER = "cuecard-project-id";
export const KEY_ID_HEADER = "cuecard-key-id";
/** The key id the edge sends its exposure reports with (workers/edge/exposures.ts); no key has it. */
export const EDGE_REPORTER_KEY_ID = "edge";

/** The INGEST_LIMITER period in workers/telemetry/wrangler.toml: the Retry-After of a 429. */
export const INGEST_WINDOW_SECONDS = 60;

export function requestIdOf(c: Context): string {
  return c.req.header("cf-ray") ?? crypto.randomUUID();
}

/** The one error handler: problem+json with a request id, never a stack trace. */
export function errorResponse(error: unknown, c: Context): Response {
  const problem = toProblem(error);
  const requestId = requestIdOf(c);
  if (problem.status === 500) console.error(`request ${requestId} failed`, error);
  return problemResponse(problem, requestId, { "cache-control": "no-store" });
}

export function notFoundResponse(c: Context): Response {
  return errorResponse(
    new ProblemError("not_found", `There is no ${c.req.method} ${new URL(c.req.url).pathname}.`),
    c,
  );
}

/**
 * The ingest routes trust the caller the edge names in its headers. The worker has no public
 * route, so a request without them did not come through the edge: refused (defence in depth).
 */
export function trustedCaller(): MiddlewareHandler<{
  Bindings: TelemetryEnv;
  Variables: TelemetryVariables;
}> {
  return async function trustedCaller(c, next) {
    const projectId = c.req.header(PROJECT_ID_HEADER);
    const keyId = c.req.header(KEY_ID_HEADER);
    if (!projectId || !keyId) {
      throw new ProblemError(
        "unauthorized",
        "Telemetry is sent through the edge worker with a read key that may send events.",
      );
    }
    c.set("caller", { projectId, keyId });
    await next();
  };
}

/** Ingest requests per read key; past the limit, 429 with Retry-After. A failing limiter lets requests through. */
export function ingestRateLimit(): MiddlewareHandler<{
  Bindings: TelemetryEnv;
  Variables: TelemetryVariables;
}> {
  return async function ingestRateLimit(c, next) {
    // The edge's own exposure reports are already batched across requests (one per isolate per
    // second at most): limiting them would lose exposures, not protect anything.
    if (c.get("caller").keyId === EDGE_REPORTER_KEY_ID) return next();
    let success = true;
    try {
      ({ success } = await c.env.INGEST_LIMITER.limit({ key: c.get("caller").keyId }));
    } catch (error) {
      // Losing telemetry because the limiter is down would be worse than a burst getting through.
      console.error("ingest limiter unavailable", String(error));
    }
    if (!success) {
      throw new ProblemError(
        "rate_limited",
        `This key sends too many telemetry requests. Wait ${INGEST_WINDOW_SECONDS} seconds, then send fewer, larger batches.`,
        { headers: { "retry-after": String(INGEST_WINDOW_SECONDS) } },
      );
    }
    await next();
  };
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const PROTOBUF_TYPE = /^application\/(?:x-)?protobuf\s*(?:;|$)/i;

/**
 * The body as parsed JSON, refused whole (413) past `maxBytes` — counted on the bytes received,
 * since Content-Length may be absent or wrong.
 */
export async function readJsonBody(
  request: Request,
  maxBytes: number,
  what: { tooLarge: string; protobuf?: string },
): Promise<unknown> {
  const contentType = request.headers.get("content-type") ?? "";
  if (what.protobuf && PROTOBUF_TYPE.test(contentType)) {
    throw new ProblemError("unsupported_media_type", what.protobuf);
  }
  if (!JSON_TYPE.test(contentType)) {
    throw new ProblemError(
      "unsupported_media_type",
      "Send the body as JSON with 'Content-Type: application/json'.",
    );
  }
  const tooLarge = new ProblemError("payload_too_large", what.tooLarge, {
    extensions: { maxBytes },
  });
  if (Number(request.headers.get("content-length") ?? "0") > maxBytes) throw tooLarge;
  const bytes = await request.arrayBuffer();
  if (bytes.byteLength > maxBytes) throw tooLarge;
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    throw new ProblemError("invalid_json", "The body is not valid UTF-8 JSON.");
  }
}
