import { ProblemError } from "@cuecard/core/problem";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { actorOfKey, findActiveSession } from "../workers/modules/access/access";
import { assertSameOrigin, SESSION_COOKIE, sameSecret } from "../workers/modules/access/middleware";
import { SESSION_TTL_MS } from "../workers/modules/access/sessions";
import { type AdminVariables, databaseOf } from "../workers/platform/http/app";

/** The UI's request context: the admin worker's, plus the signed-in session. */
export type UiEnv = {
  Bindings: AdminEnv;
  Variables: AdminVariables & { csrfToken: string; sessionToken: string };
};
export type UiContext = Context<UiEnv>;

/** The hidden form field every UI form carries; the API takes the same token as a header. */
export const CSRF_FIELD = "_csrf";

export function setSessionCookie(c: UiContext, token: string) {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    secure: true,
    sameSite: "Strict",
    path: "/",
    maxAge: SESSION_TTL_MS / 1000,
  });
}

export function clearSessionCookie(c: UiContext) {
  deleteCookie(c, SESSION_COOKIE, { path: "/", secure: true });
}

/**
 * Where to go after sign-in: a path of this site, or `/`. Browsers drop tabs and newlines from
 * URLs and read `\` as `/`, so `/\t/evil.example` means `//evil.example`: the path is resolved
 * as a browser would and kept only if it stays on `origin`; control characters are never followed.
 * The result is ASCII (percent-encoded), so it is always a valid Location header.
 */
export function safeNext(next: string | undefined, origin: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds.
  if (!next?.startsWith("/") || /[\u0000-\u001f\u007f]/.test(next)) return "/";
  let url: URL;
  try {
    url = new URL(next, origin);
  } catch {
    return "/";
  }
  if (url.origin !== origin) return "/";
  return `${url.pathname}${url.search}${url.hash}`;
}

/**
 * Pages need a signed-in session; a signed-out visitor is sent to sign in and brought back.
 * Every POST must come from this origin and echo the session's CSRF token in `_csrf`.
 */
export function signedIn() {
  return createMiddleware<UiEnv>(async function signedIn(c, next) {
    const token = getCookie(c, SESSION_COOKIE);
    const found = token ? await findActiveSession(databaseOf(c), token) : undefined;
    if (!token || !found) {
      if (token) clearSessionCookie(c);
      if (c.req.method !== "GET") {
        throw new ProblemError("unauthorized", "Your session has ended. Sign in again.");
      }
      const url = new URL(c.req.url);
      const next =
        url.pathname === "/" ? "" : `?next=${encodeURIComponent(url.pathname + url.search)}`;
      return c.redirect(`/sign-in${next}`, 303);
    }
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      assertSameOrigin(c as unknown as Parameters<typeof assertSameOrigin>[0]);
      const form = await c.req.parseBody();
      const sent = typeof form[CSRF_FIELD] === "string" ? form[CSRF_FIELD] : "";
      if (!sameSecret(sent, found.session.csrfToken)) {
        throw new ProblemError(
          "forbidden",
          "This form has expired or did not come from Cuecard. Reload the page and try again.",
        );
      }
    }
    c.set("actor", { ...actorOfKey(found.key, "session"), sessionId: found.session.id });
    c.set("csrfToken", found.session.csrfToken);
    c.set("sessionToken", token);
    await next();
  });
}

/** The signed-in user's project: a session belongs to exactly one. */
export function projectOf(c: UiContext): string {
  const projectId = c.get("actor").projectId;
  if (!projectId) throw new ProblemError("forbidden", "This session has no project.");
  return projectId;
}
