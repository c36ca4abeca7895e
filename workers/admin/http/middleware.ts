import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { bearerToken } from "../../shared/keys";
import { type ProblemCode, ProblemError, problemResponse, toProblem } from "../../shared/problem";
import type { AdminContext, AdminHonoEnv } from "./app";

/** Request bodies larger than this are refused with 413 before they are parsed. */
export const MAX_BODY_BYTES = 256 * 1024;

export function requestId() {
  return createMiddleware<AdminHonoEnv>(async function requestId(c, next) {
    const id = `req_${crypto.randomUUID().replaceAll("-", "")}`;
    c.set("requestId", id);
    await next();
    c.res.headers.set("x-request-id", id);
  });
}

const encoder = new TextEncoder();
function sameSecret(given: string, expected: string): boolean {
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  // Compare equal-length buffers in constant time; the length itself is not secret.
  return a.byteLength === b.byteLength && crypto.subtle.timingSafeEqual(a, b);
}

/**
 * Admin authentication. For now the deployment's bootstrap token is the only admin credential;
 * it acts as `bootstrap` with the admin role.
 */
export function requireAdmin() {
  return createMiddleware<AdminHonoEnv>(async function requireAdmin(c, next) {
    const token = bearerToken(c.req.header("authorization"));
    const expected = c.env.ADMIN_BOOTSTRAP_TOKEN;
    if (!token) {
      throw new ProblemError(
        "unauthorized",
        "Send an admin token as `Authorization: Bearer <token>`.",
      );
    }
    if (!expected || !sameSecret(token, expected)) {
      throw new ProblemError("unauthorized", "The token is not valid for this deployment.");
    }
    c.set("actor", { id: "bootstrap", role: "admin" });
    await next();
  });
}

const HTTP_CODES: Record<number, ProblemCode> = {
  400: "invalid_json",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
};

const HTTP_DETAILS: Partial<Record<ProblemCode, string>> = {
  invalid_json:
    "The body is not valid JSON. Send a JSON object with content-type application/json.",
  payload_too_large: `The body is larger than ${MAX_BODY_BYTES} bytes.`,
  unsupported_media_type: "Send the body as JSON with content-type application/json.",
};

/** The single error handler: every failure leaves as problem+json with the request id. */
export function handleError(error: unknown, c: AdminContext): Response {
  let problem: ProblemError;
  if (error instanceof HTTPException) {
    const code =
      HTTP_CODES[error.status] ?? (error.status >= 500 ? "internal_error" : "bad_request");
    problem = new ProblemError(code, HTTP_DETAILS[code] ?? error.message);
  } else {
    problem = toProblem(error);
  }
  if (problem.status >= 500) console.error("request failed", c.get("requestId"), error);
  return problemResponse(problem, c.get("requestId"));
}
