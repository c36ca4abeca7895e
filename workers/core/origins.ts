import { ORIGIN_MAX } from "./limits";

/**
 * Browser origins a project (and, narrower, a key) allows at the edge: the one rule for what an
 * origin pattern is (the admin validates with it) and whether a request's `Origin` matches (the
 * edge checks with it, per request, on the key record it already read).
 *
 * A pattern is `scheme://host[:port]` or `scheme://host:*` (any port, or none): no path, query,
 * credentials or wildcard host. Browsers send `Origin` lowercase and without a default port, so
 * patterns are kept in that form and compared as text.
 */

/** `http(s)://` + a DNS name, IPv4 or bracketed IPv6 + an optional port or `*`. */
const ORIGIN_PATTERN =
  /^(https?):\/\/([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::(\*|[0-9]{1,5}))?$/;

const DEFAULT_PORT: Record<string, string> = { http: "80", https: "443" };

/**
 * The pattern in its stored form (lowercase, default port dropped), or a sentence saying what is
 * wrong with it, for a validation error.
 */
export function normalizeOriginPattern(text: string): { pattern: string } | { problem: string } {
  if (text.length > ORIGIN_MAX) return { problem: `must be at most ${ORIGIN_MAX} characters` };
  const lower = text.trim().toLowerCase();
  const match = ORIGIN_PATTERN.exec(lower);
  if (!match) {
    return {
      problem:
        "must be an origin: scheme://host with an optional :port or :* and nothing after it (no path, not even '/'), e.g. https://app.example.com or http://localhost:*",
    };
  }
  const [, scheme, host, port] = match as unknown as [string, string, string, string | undefined];
  if (port !== undefined && port !== "*") {
    const number = Number(port);
    if (number < 1 || number > 65535) return { problem: "has a port outside 1–65535" };
    if (port === DEFAULT_PORT[scheme]) return { pattern: `${scheme}://${host}` };
    return { pattern: `${scheme}://${host}:${number}` };
  }
  return { pattern: port === "*" ? `${scheme}://${host}:*` : `${scheme}://${host}` };
}

/** Whether a request's `Origin` header is one a pattern list allows. */
export function originAllowed(origin: string, patterns: readonly string[]): boolean {
  for (const pattern of patterns) {
    if (pattern === origin) return true;
    if (pattern.endsWith(":*")) {
      const base = pattern.slice(0, -2);
      if (origin === base) return true;
      if (origin.startsWith(base) && origin.charCodeAt(base.length) === 58 /* ':' */) {
        const port = origin.slice(base.length + 1);
        if (port.length > 0 && port.length <= 5 && /^[0-9]+$/.test(port)) return true;
      }
    }
  }
  return false;
}

/**
 * Whether a request's `Origin` can be one a project allows: an http(s) origin, not `null` (a
 * sandboxed or file page) nor another scheme. Browsers send it well-formed, so the shape is enough.
 */
export function isOrigin(value: string): boolean {
  return /^https?:\/\/[^/?#\s]+$/.test(value);
}

// The edge's CORS answer (workers/edge/cors.ts), also stated in its OpenAPI document.
/** What the SDK and the browser need to read: the ETag it revalidates with, Cuecard-*, timing. */
export const CORS_EXPOSED_HEADERS =
  "ETag, Cuecard-Version, Cuecard-Cache, Server-Timing, Retry-After";
/**
 * The request headers an app sends: its key, a JSON body, revalidation, the unit id. The browser
 * itself refuses a request needing a method or header the preflight answer does not list.
 */
export const CORS_ALLOWED_HEADERS = "Authorization, Content-Type, If-None-Match, Cuecard-Unit";
/** Browsers cap it (Chromium at 2 h): a preflight per route and origin every 2 h at most. */
export const CORS_MAX_AGE_SECONDS = 7200;
