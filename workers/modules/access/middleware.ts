import { decodePathSegment, PATH_SEGMENT_RULE } from "@cuecard/core/input";
import { bearerToken, isWellFormedKey } from "@cuecard/core/keys";
import { ProblemError } from "@cuecard/core/problem";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { matchedRoutes } from "hono/route";
import type { Actor } from "../../platform/context";
import { openDatabase } from "../../platform/db/client";
import type { AdminContext, AdminHonoEnv } from "../../platform/http/app";
import { actorOfKey, findActiveKey, findActiveSession, forbidden, touchKey } from "./access";
import { clientAddress, countFailedAuth } from "./auth-failures";
import { accessConfigOf, verifyAccessUser } from "./cloudflare-access";
import { roleHas } from "./roles";
import { type RouteAccess, routePolicyOf } from "./route-policy";

export const SESSION_COOKIE = "cc_session";
export const CSRF_HEADER = "x-csrf-token";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

const encoder = new TextEncoder();
/** Compares secrets (tokens, CSRF values) in constant time. */
export function sameSecret(given: string, expected: string): boolean {
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  // Equal-length buffers compared in constant time; the length itself is not secret.
  return a.byteLength === b.byteLength && crypto.subtle.timingSafeEqual(a, b);
}

/** `METHOD /v1/…` of the route that will handle this request, as the route policy names it. */
export function routeKey(c: AdminContext): string | undefined {
  // Hono answers HEAD with the GET handler, so HEAD must be decided (and authenticated) as GET.
  const method = c.req.method.toUpperCase() === "HEAD" ? "GET" : c.req.method.toUpperCase();
  const route = matchedRoutes(c).find((r) => r.method === method);
  return route ? `${method} ${route.path.replace(/^\/api/, "")}` : undefined;
}

/** The project named in the URL, for scoping (`/api/v1/projects/{project}/…`). */
function projectInUrl(c: AdminContext): string | undefined {
  const match = /^\/api\/v1\/projects\/([^/]+)/.exec(new URL(c.req.url).pathname);
  if (!match?.[1]) return undefined;
  const project = decodePathSegment(match[1]);
  if (project === undefined) {
    throw new ProblemError("validation_failed", `The project in the URL ${PATH_SEGMENT_RULE}.`, {
      errors: [{ field: "path.project", message: PATH_SEGMENT_RULE }],
    });
  }
  return project;
}

/**
 * A cross-site browser request must never act with the user's session: the request must come
 * from this origin (Origin / Sec-Fetch-Site) and echo the session's CSRF token.
 */
export function assertSameOrigin(c: AdminContext) {
  const site = c.req.header("sec-fetch-site");
  const origin = c.req.header("origin");
  const own = new URL(c.req.url).origin;
  if ((site && site !== "same-origin" && site !== "none") || (origin && origin !== own)) {
    throw new ProblemError("forbidden", "Cross-origin requests cannot use a browser session.");
  }
}

/** A wrong key counts against the client's failed-credential limit (429 past it). */
async function failedKey(c: AdminContext, refusal: ProblemError): Promise<ProblemError> {
  const address = clientAddress((name) => c.req.header(name));
  return (await countFailedAuth(c.env.FAILED_AUTH_LIMITER, address, refusal)).error;
}

async function credentialsActor(c: AdminContext): Promise<Actor> {
  const db = openDatabase(c.env.DB);
  const header = c.req.header("authorization");
  const token = bearerToken(header);
  if (header !== undefined && header !== "" && !token) {
    throw new ProblemError("unauthorized", "Use `Authorization: Bearer <key>`.");
  }
  if (token) {
    const bootstrap = c.env.ADMIN_BOOTSTRAP_TOKEN;
    if (bootstrap && sameSecret(token, bootstrap)) {
      return {
        id: "bootstrap",
        name: "bootstrap",
        role: "bootstrap",
        projectId: null,
        via: "bootstrap",
      };
    }
    if (!isWellFormedKey(token)) {
      throw await failedKey(
        c,
        new ProblemError("unauthorized", "That is not a Cuecard key (they look like cc_<role>_…)."),
      );
    }
    const key = await findActiveKey(db, token);
    if (!key) {
      throw await failedKey(
        c,
        new ProblemError("unauthorized", "The key is unknown, revoked or expired."),
      );
    }
    if (key.browser) {
      // A browser key is public (it ships in a web page): it must never reach the control plane.
      throw forbidden(
        "This is a browser key: it only reads prompts at the edge, from the project's allowed origins. Use a server key for the admin API.",
      );
    }
    c.executionCtx.waitUntil(touchKey(db, key).catch(() => {}));
    return actorOfKey(key);
  }
  const cookie = getCookie(c, SESSION_COOKIE);
  if (cookie) {
    const found = await findActiveSession(db, cookie);
    if (!found) throw new ProblemError("unauthorized", "Your session has ended. Sign in again.");
    if (!SAFE_METHODS.has(c.req.method)) {
      assertSameOrigin(c);
      const sent = c.req.header(CSRF_HEADER) ?? "";
      if (!sameSecret(sent, found.session.csrfToken)) {
        throw new ProblemError(
          "forbidden",
          `Send the session's CSRF token in the ${CSRF_HEADER} header.`,
        );
      }
    }
    return { ...actorOfKey(found.key, "session"), sessionId: found.session.id };
  }
  const access = accessConfigOf(c.env);
  const assertion = c.req.header("cf-access-jwt-assertion");
  if (access && assertion) {
    const outcome = await verifyAccessUser(access, assertion);
    if (!outcome.ok) {
      throw new ProblemError(
        outcome.reason === "no_role" ? "forbidden" : "unauthorized",
        outcome.detail,
      );
    }
    // Access sends its token with cross-site requests too: changes must come from this origin.
    if (!SAFE_METHODS.has(c.req.method)) assertSameOrigin(c);
    return outcome.actor;
  }
  throw new ProblemError(
    "unauthorized",
    "Send a key as `Authorization: Bearer <key>`, or sign in.",
  );
}

/**
 * Authenticates every /api/v1 request and decides it with the access each route of `registry`
 * declares (a route that declares none is refused). A project other than the credential's
 * answers 404, as if it did not exist. The verbs check again, whoever calls them.
 */
export function authorize(registry: OpenAPIHono["openAPIRegistry"]) {
  // Read at the first request, when every route has been registered.
  let policy: ReadonlyMap<string, RouteAccess> | undefined;
  return createMiddleware<AdminHonoEnv>(async function authorize(c, next) {
    const route = routeKey(c);
    if (!route) return next(); // no such route: the 404 handler answers.
    policy ??= routePolicyOf(registry);
    const permission = policy.get(route);
    if (permission === "public") return next();

    const actor = await credentialsActor(c);
    c.set("actor", actor);
    if (actor.role === "bootstrap") {
      throw forbidden(
        "The bootstrap token only creates a project's first admin key (POST /api/v1/bootstrap); use that key.",
      );
    }
    if (!permission) throw forbidden("This route is not open to any role.");
    const project = projectInUrl(c);
    if (project !== undefined && project !== actor.projectId) {
      c.set("deniedHidden", true);
      throw new ProblemError("not_found", `Project '${project}' does not exist.`);
    }
    if (!roleHas(actor.role, permission)) {
      throw forbidden(
        `Your role (${actor.role}) does not allow this; it needs '${permission}'.`,
        permission,
      );
    }
    await next();
  });
}
