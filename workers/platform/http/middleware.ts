import { newId } from "@cuecard/core/ids";
import { jsonInputProblems } from "@cuecard/core/input";
import { REQUEST_BODY_MAX_BYTES } from "@cuecard/core/limits";
import { type ProblemCode, ProblemError, problemResponse, toProblem } from "@cuecard/core/problem";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { openDatabase } from "../db/client";
import { auditDenial } from "../denials";
import type { AdminContext, AdminHonoEnv } from "./app";

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * Every JSON body, whatever route it is for, before any schema sees it: its strings and keys
 * must be well-formed Unicode and it must nest within JSON_BODY_MAX_DEPTH. One rule for every
 * field, including fields a schema accepts as any JSON. A body that does not parse is left to
 * the route's validator, which answers 400.
 */
export function wellFormedJsonBody() {
  return createMiddleware<AdminHonoEnv>(async function wellFormedJsonBody(c, next) {
    const mediaType = (c.req.header("content-type") ?? "").split(";")[0]?.trim() ?? "";
    if (JSON_MEDIA_TYPE.test(mediaType)) {
      let body: unknown;
      let parsed = false;
      try {
        body = await c.req.json();
        parsed = true;
      } catch {}
      const errors = parsed ? jsonInputProblems(body, "body") : [];
      if (errors.length > 0) {
        throw new ProblemError("validation_failed", "Some fields are not valid; see errors.", {
          errors,
        });
      }
    }
    await next();
  });
}

export function requestId() {
  return createMiddleware<AdminHonoEnv>(async function requestId(c, next) {
    const id = newId("request");
    c.set("requestId", id);
    await next();
    c.res.headers.set("x-request-id", id);
  });
}

/**
 * Security headers on every admin response, errors included. The UI loads nothing from other
 * origins, so the policy allows only this origin. The API docs page and its assets set their own,
 * stricter policy (a sandbox, see shared/api-docs.ts), which this keeps.
 */
export function securityHeaders() {
  const options: Parameters<typeof secureHeaders>[0] = {
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", "data:"],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      objectSrc: ["'none'"],
    },
    referrerPolicy: "same-origin",
    xFrameOptions: "DENY",
  };
  const strict = secureHeaders(options);
  const docs = secureHeaders({ ...options, overwrite: false });
  return createMiddleware<AdminHonoEnv>(async function securityHeaders(c, next) {
    const path = new URL(c.req.url).pathname;
    return (path === "/api/docs" || path.startsWith("/api/docs/") ? docs : strict)(c, next);
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
  payload_too_large: `The body is larger than ${REQUEST_BODY_MAX_BYTES} bytes.`,
  unsupported_media_type: "Send the body as JSON with content-type application/json.",
};

/** The single error handler: every failure leaves as problem+json with the request id. */
export async function handleError(error: unknown, c: AdminContext): Promise<Response> {
  let problem: ProblemError;
  if (error instanceof HTTPException) {
    const code =
      HTTP_CODES[error.status] ?? (error.status >= 500 ? "internal_error" : "bad_request");
    problem = new ProblemError(code, HTTP_DETAILS[code] ?? error.message);
  } else {
    problem = toProblem(error);
  }
  if (problem.status >= 500) console.error("request failed", c.get("requestId"), error);
  const actor = c.get("actor");
  if (actor && (problem.status === 403 || c.get("deniedHidden"))) {
    // Denials are recorded in the actor's own project, so a probe never learns of another's.
    const projectId = actor.projectId ?? new URL(c.req.url).pathname.split("/")[4] ?? "-";
    await auditDenial(openDatabase(c.env.DB), actor, {
      projectId,
      requestId: c.get("requestId"),
      action: `${c.req.method} ${new URL(c.req.url).pathname}`,
      detail: problem.message,
    }).catch((auditError) => console.error("denial audit failed", String(auditError)));
  }
  return problemResponse(problem, c.get("requestId"));
}
