import { bearerToken, isWellFormedKey } from "@cuecard/core/keys";
import { ProblemError } from "@cuecard/core/problem";
import { corsOriginFor } from "./cors";
import type { EdgeContext } from "./http";
import type { CacheLayer } from "./isolate-cache";
import { type DeliveryModules, deliveryModulesOf } from "./modules";
import {
  cachedReadKey,
  findReadKey,
  type ReadKey,
  type Resolved,
  type StoreContext,
} from "./prompt-store";

const ttlByConfig = new Map<string, number>();

/** `ISOLATE_CACHE_TTL_MS` as a number, parsed once per distinct value. */
export function isolateCacheTtl(config: string | undefined): number {
  const raw = config ?? "";
  let ttl = ttlByConfig.get(raw);
  if (ttl === undefined) {
    const parsed = Number(raw);
    ttl = raw !== "" && Number.isFinite(parsed) && parsed >= 0 ? parsed : 5000;
    ttlByConfig.set(raw, ttl);
  }
  return ttl;
}

/** What a request may do once its read key is checked: plain values, for every route's path. */
export interface Admission {
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

/** The read key of an `Authorization` header; malformed keys are refused before any lookup. */
export function readKeyToken(authorization: string | undefined): string {
  const token = bearerToken(authorization);
  if (token === undefined) {
    throw new ProblemError(
      "unauthorized",
      "Send a read key as 'Authorization: Bearer cc_reader_…'.",
    );
  }
  if (!isWellFormedKey(token)) {
    throw new ProblemError(
      "unauthorized",
      "The bearer token is not a Cuecard key; keys look like cc_reader_ followed by 32 letters and digits.",
    );
  }
  return token;
}

/**
 * The isolate-cached read key of an `Authorization` header, for the fast paths; undefined when
 * it is not cached or the header is not the canonical `Bearer <token>`, and then `readKeyToken`
 * decides. Only a well-formed token is ever cached (it is checked before it is looked up), so a
 * cached one needs neither pattern checked again.
 */
export function cachedReadKeyOf(
  store: StoreContext,
  authorization: string | null,
): ReadKey | null | undefined {
  if (authorization === null || !authorization.startsWith("Bearer ")) return undefined;
  return cachedReadKey(store, authorization.slice(7));
}

export function storeOf(
  env: Pick<EdgeEnv, "PROMPTS_KV" | "ISOLATE_CACHE_TTL_MS">,
  ctx: Pick<ExecutionContext, "waitUntil">,
): StoreContext {
  return {
    kv: env.PROMPTS_KV,
    ttlMs: isolateCacheTtl(env.ISOLATE_CACHE_TTL_MS),
    waitUntil: (promise) => ctx.waitUntil(promise),
  };
}

/**
 * Admits a request whose key record was found (or not): unknown and expired keys get the same
 * 401 so a caller learns nothing about which keys exist; a browser key outside its origins a 403.
 * A revoked key stops working once its KV record is gone everywhere and cached copies expire
 * (README: revocation).
 */
export function admit(
  env: { TELEMETRY?: Fetcher },
  store: StoreContext,
  found: Resolved<ReadKey | null>,
  origin: string | undefined,
  startedAt: number,
): Admission {
  const readKey = found.value;
  if (readKey === null || readKey.expiresAtMs <= Date.now()) {
    throw new ProblemError("unauthorized", "The read key is unknown, revoked or expired.");
  }
  return {
    readKey,
    store,
    delivery: deliveryModulesOf(env),
    keyLayer: found.layer,
    startedAt,
    allowOrigin: corsOriginFor(origin, readKey),
  };
}

/**
 * The Hono routes' key check: puts the admission's parts in the context (the context's
 * `readKey` only once admitted, so a refused key's problem carries no CORS headers).
 *
 * Returns nothing when the key was in the isolate cache: the hot path then stays synchronous
 * (no middleware chain, no await), which is measurably cheaper per request.
 */
export function authorizeReadKey(c: EdgeContext): undefined | Promise<void> {
  const startedAt = performance.now();
  c.set("startedAt", startedAt);
  const token = readKeyToken(c.req.header("authorization"));
  const store = storeOf(c.env, c.executionCtx);
  const found = findReadKey(store, token);
  const origin = c.req.header("origin");
  if (found instanceof Promise) {
    return found.then((resolved) => enter(c, admit(c.env, store, resolved, origin, startedAt)));
  }
  enter(c, admit(c.env, store, found, origin, startedAt));
  return undefined;
}

function enter(c: EdgeContext, admission: Admission): void {
  c.set("allowOrigin", admission.allowOrigin);
  c.set("store", admission.store);
  c.set("delivery", admission.delivery);
  c.set("readKey", admission.readKey);
  c.set("keyLayer", admission.keyLayer);
}

/** The admission a Hono route's key check put in its context. */
export function admissionOf(c: EdgeContext): Admission {
  return {
    readKey: c.get("readKey"),
    store: c.get("store"),
    delivery: c.get("delivery"),
    keyLayer: c.get("keyLayer"),
    startedAt: c.get("startedAt"),
    allowOrigin: c.get("allowOrigin"),
  };
}
