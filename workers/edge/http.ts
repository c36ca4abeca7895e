import { isOrigin } from "@cuecard/core/origins";
import { ProblemError, problemResponse, toProblem } from "@cuecard/core/problem";
import type { Context, Hono } from "hono";
import { getPath, getQueryParam, tryDecodeURIComponent } from "hono/utils/url";
import { ORIGIN_AND_UNIT_VARY, ORIGIN_VARY, setCorsHeaders } from "./cors";
import type { CacheLayer } from "./isolate-cache";
import type { DeliveryModules } from "./modules";
import type { ReadKey, ServedVersion, StoreContext } from "./prompt-store";

/** Context shared by the edge routes. */
export interface EdgeVariables {
  readKey: ReadKey;
  store: StoreContext;
  /** The optional modules of this deployment (experiments, telemetry), or their defaults. */
  delivery: DeliveryModules;
  /** Which layer answered the key check; a cold key makes the whole request a miss. */
  keyLayer: CacheLayer;
  /** `performance.now()` when the request reached the key check, for `Server-Timing`. */
  startedAt: number;
  /** The request's origin when the key allows it (cors.ts): what `Access-Control-Allow-Origin` names. */
  allowOrigin: string | undefined;
}

/**
 * What the worker reads of its environment: TELEMETRY (modules.ts) and ADMIN are optional;
 * ASSETS only serves /openapi.json where static assets did not answer first.
 */
export type EdgeBindings = Omit<EdgeEnv, "TELEMETRY" | "ADMIN" | "ASSETS"> & {
  TELEMETRY?: Fetcher;
  ADMIN?: Fetcher;
  ASSETS?: Fetcher;
};

export type EdgeApp = Hono<{ Bindings: EdgeEnv; Variables: EdgeVariables }>;
export type EdgeContext = Context<{ Bindings: EdgeEnv; Variables: EdgeVariables }>;

export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/**
 * Label reads: the label can move at any time (a rollback must take effect), and the edge already
 * has a bounded staleness; a client max-age would add to it. Clients revalidate with
 * `If-None-Match` and get a body-less 304 while the label has not moved.
 */
export const LABEL_CACHE_CONTROL = "private, max-age=0, must-revalidate";
/** A version never changes. `private`: the response depends on the caller's key. */
export const PINNED_CACHE_CONTROL = "private, max-age=31536000, immutable";

const CACHE_STATUS: Record<CacheLayer, string> = {
  isolate: "hit",
  revalidating: "hit",
  kv: "miss",
  stale: "stale",
};

/** Ranks layers so a response reports the slowest one that took part. */
const LAYER_RANK: Record<CacheLayer, number> = { isolate: 0, revalidating: 1, kv: 2, stale: 3 };

export function slowerLayer(a: CacheLayer, b: CacheLayer): CacheLayer {
  return LAYER_RANK[a] >= LAYER_RANK[b] ? a : b;
}

/** `Server-Timing` naming the layer that answered and how long the request took so far. */
export function serverTiming(layer: CacheLayer, startedAt: number): string {
  return `cache;desc="${layer}";dur=${(performance.now() - startedAt).toFixed(1)}`;
}

/**
 * An isolate hit's `Server-Timing`, the same for every hit: a hit does no I/O, and a Worker's
 * clock only advances across I/O (Cloudflare's timer mitigation, which workerd shares), so its
 * duration is always 0.0. Prebuilt, it lets a hit's response take its headers whole.
 */
export const ISOLATE_HIT_TIMING = 'cache;desc="isolate";dur=0.0';

/** `Cuecard-Cache` (hit | miss | stale) and `Server-Timing`. */
export function setCacheHeaders(headers: Headers, layer: CacheLayer, startedAt: number): void {
  headers.set("cuecard-cache", CACHE_STATUS[layer]);
  headers.set("server-timing", serverTiming(layer, startedAt));
}

/** True when `If-None-Match` names this ETag (a list, weak validators and `*` included). */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch === etag || ifNoneMatch === "*") return true;
  for (const candidate of ifNoneMatch.split(",")) {
    const tag = candidate.trim();
    if (tag === etag || (tag.startsWith("W/") && tag.slice(2) === etag)) return true;
  }
  return false;
}

/**
 * The headers of a version's answer on an isolate hit, for `ServedVersion.headers`: built once per
 * cache fill, so a hit without CORS copies them whole and sets none (each `set` crosses into
 * workerd and costs about as much as the rest of a hit: bench/hit-loop.ts). `etag` is left out
 * where it varies per request (an experiment's arms name the unit's bucket). `perUnit`: a label
 * running an experiment answers per unit (the query is in the URL, the header is not), and CORS
 * headers depend on the origin: a cache must not reuse one answer for another.
 */
export function versionHeaders(
  versionHeader: string,
  cacheControl: string,
  etag: string | undefined,
  perUnit: boolean,
): Headers {
  const headers = new Headers({
    "content-type": JSON_CONTENT_TYPE,
    "cuecard-version": versionHeader,
    "cuecard-cache": CACHE_STATUS.isolate,
    "cache-control": cacheControl,
    "server-timing": ISOLATE_HIT_TIMING,
    vary: perUnit ? ORIGIN_AND_UNIT_VARY : ORIGIN_VARY,
  });
  if (etag !== undefined) headers.set("etag", etag);
  return headers;
}

/**
 * The hot path's response: the prebuilt body and headers, and the few that differ for this
 * request (an ETag the headers lack, a slower layer, CORS, a 304). Plain inputs: the fast path
 * and the Hono route share it.
 */
export function servedVersionResponse(
  served: ServedVersion,
  layer: CacheLayer,
  startedAt: number,
  allowOrigin: string | undefined,
  ifNoneMatch: string | undefined,
): Response {
  const notModified = matchesEtag(ifNoneMatch, served.etag);
  const response = notModified
    ? new Response(null, { status: 304, headers: served.headers })
    : new Response(served.body, { headers: served.headers });
  // `response.headers` itself crosses into workerd: only touched when something differs.
  if (served.headersEtag !== served.etag) response.headers.set("etag", served.etag);
  if (layer !== "isolate") setCacheHeaders(response.headers, layer, startedAt);
  if (allowOrigin !== undefined) setCorsHeaders(response.headers, allowOrigin);
  if (notModified) response.headers.delete("content-type");
  return response;
}

export function requestIdOf(c: Context): string {
  return c.req.header("cf-ray") ?? crypto.randomUUID();
}

/** The one error handler: problem+json with a request id, never a stack trace. */
export function errorResponse(error: unknown, c: Context): Response {
  const problem = toProblem(error);
  const requestId = requestIdOf(c);
  if (problem.status === 500) {
    // Logged with the request id so a report can be matched; the body stays generic.
    console.error(`request ${requestId} failed`, error);
  }
  const headers: Record<string, string> = {
    "cache-control": "no-store",
    vary: ORIGIN_VARY,
  };
  if (problem.status === 401) headers["www-authenticate"] = 'Bearer realm="cuecard"';
  const response = problemResponse(problem, requestId, headers);
  setCorsHeaders(response.headers, errorCorsOrigin(c, problem.status));
  return response;
}

/**
 * Whom a problem may be shown to in a browser. Once the key is known: its allowed origins, as
 * for a success. Before (a missing or unknown key): any page, since a 401 says nothing about a
 * project, and the SDK can then report "unauthorized" instead of an opaque network error.
 * Refused origins and refused preflights (403s before a key) get no CORS headers at all.
 */
function errorCorsOrigin(c: Context, status: number): string | undefined {
  if (c.get("readKey") !== undefined) return c.get("allowOrigin");
  if (status !== 401) return undefined;
  const origin = c.req.header("origin");
  return origin !== undefined && isOrigin(origin) ? origin : undefined;
}

export function notFoundResponse(c: Context): Response {
  return errorResponse(
    new ProblemError("not_found", `There is no ${c.req.method} ${new URL(c.req.url).pathname}.`),
    c,
  );
}

/**
 * The prompt name of a GET request to `<prefix>{name}` (`url` is the request's), the name one
 * URL-encoded path segment, decoded with Hono's own functions so a fast path and its Hono route
 * see the same name; undefined for any other path, which the fast path leaves to Hono. It takes
 * the URL, not the request: each read of `request.url` crosses into workerd and copies the URL,
 * so the fast paths read it once.
 */
export function promptNameOf(url: string, prefix: string): string | undefined {
  // `getPath` reads the request's `url` and nothing else.
  const path = getPath({ url } as Request);
  if (!path.startsWith(prefix) || path.indexOf("/", prefix.length) !== -1) return undefined;
  return tryDecodeURIComponent(path.slice(prefix.length));
}

/**
 * A URL's query parameters (the first value of each), parsed once with Hono's own parser, so a
 * fast path and its Hono route read them alike. Once, not per name: asked for one name that is
 * absent, Hono's parser parses the whole query whenever the URL holds a `%` (as a prompt name's
 * `%2F` does), so three names would cost three parses.
 */
export function queryParams(url: string): Readonly<Record<string, string | undefined>> {
  return url.includes("?") ? (getQueryParam(url) as Record<string, string>) : NO_PARAMS;
}

const NO_PARAMS: Readonly<Record<string, string | undefined>> = Object.freeze(Object.create(null));
