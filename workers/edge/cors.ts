import {
  CORS_ALLOWED_HEADERS,
  CORS_EXPOSED_HEADERS,
  CORS_MAX_AGE_SECONDS,
  isOrigin,
  originAllowed,
} from "@cuecard/core/origins";
import { ProblemError } from "@cuecard/core/problem";
import type { EdgeApp } from "./http";
import type { ReadKey } from "./prompt-store";

/**
 * CORS for browser apps. Which origins may call is the project's list (narrowed by the key's
 * own), carried on the key record the edge reads anyway: no extra KV read per request.
 *
 * A preflight carries no key, so it cannot know the project: the edge answers every well-formed
 * preflight for its routes (the route's method and the headers the SDK sends, nothing more) and
 * decides on the actual request, once the key is known. There, an allowed origin gets
 * `Access-Control-Allow-Origin`; any other gets none, so the browser keeps the response from the
 * page, and a browser key is refused outright (403 `origin_not_allowed`). Every response of a
 * keyed route carries `Vary: Origin`, since its CORS headers depend on it.
 */

export const ORIGIN_VARY = "Origin";
export const ORIGIN_AND_UNIT_VARY = "Origin, Cuecard-Unit";

/** Whether `origin` may use `key`: the project allows it and, if the key narrows, so does the key. */
export function keyAllowsOrigin(key: ReadKey, origin: string): boolean {
  return (
    originAllowed(origin, key.origins) &&
    (key.keyOrigins === null || originAllowed(origin, key.keyOrigins))
  );
}

/**
 * The origin to name in `Access-Control-Allow-Origin` for this request and key, or undefined.
 * Throws for a browser key outside its origins (a request without `Origin` included).
 */
export function corsOriginFor(origin: string | undefined, key: ReadKey): string | undefined {
  if (origin !== undefined && keyAllowsOrigin(key, origin)) return origin;
  if (key.browser) {
    throw new ProblemError(
      "origin_not_allowed",
      `A browser key is served only to pages on its project's allowed origins, not ${origin ?? "a request without Origin"}.`,
    );
  }
  return undefined;
}

/** CORS response headers for a keyed response. */
export function setCorsHeaders(headers: Headers, allowOrigin: string | undefined): void {
  if (allowOrigin === undefined) return;
  headers.set("access-control-allow-origin", allowOrigin);
  headers.set("access-control-expose-headers", CORS_EXPOSED_HEADERS);
}

/**
 * OPTIONS for a route whose actual method is `method`: 204 with the CORS grant for any http(s)
 * origin (the key, and so the project, is only known on the actual request), or a problem
 * without CORS headers, which the browser reports as a failed preflight.
 */
export function registerPreflight(app: EdgeApp, path: string, method: "GET" | "POST") {
  app.options(path, (c) => {
    const origin = c.req.header("origin");
    if (origin === undefined || !isOrigin(origin)) {
      throw new ProblemError("origin_not_allowed", "Send Origin: http(s)://host[:port].");
    }
    return new Response(null, {
      status: 204,
      headers: {
        "access-control-allow-origin": origin,
        "access-control-allow-methods": method,
        "access-control-allow-headers": CORS_ALLOWED_HEADERS,
        "access-control-max-age": String(CORS_MAX_AGE_SECONDS),
        // The answer depends on the origin alone (not on the method or headers asked for).
        vary: ORIGIN_VARY,
      },
    });
  });
}
