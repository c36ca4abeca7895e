import { bearerToken, isWellFormedKey } from "@cuecard/core/keys";
import { ProblemError } from "@cuecard/core/problem";
import { corsOriginFor } from "./cors";
import type { EdgeContext } from "./http";
import { deliveryModulesOf } from "./modules";
import { findReadKey, type ReadKey, type Resolved, type StoreContext } from "./prompt-store";

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

/**
 * Checks the bearer read key and puts it, the store and the layer that answered in the context.
 * Malformed keys are refused before any lookup; unknown and expired keys get the same 401 so a
 * caller learns nothing about which keys exist. A revoked key stops working once its KV record is
 * gone everywhere and cached copies expire (README: revocation).
 *
 * Returns nothing when the key was in the isolate cache: the hot path then stays synchronous
 * (no middleware chain, no await), which is measurably cheaper per request.
 */
export function authorizeReadKey(c: EdgeContext): undefined | Promise<void> {
  c.set("startedAt", performance.now());
  const token = bearerToken(c.req.header("authorization"));
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
  const store: StoreContext = {
    kv: c.env.PROMPTS_KV,
    ttlMs: isolateCacheTtl(c.env.ISOLATE_CACHE_TTL_MS),
    waitUntil: (promise) => c.executionCtx.waitUntil(promise),
  };
  const found = findReadKey(store, token);
  if (found instanceof Promise) return found.then((resolved) => admit(c, store, resolved));
  admit(c, store, found);
  return undefined;
}

function admit(c: EdgeContext, store: StoreContext, found: Resolved<ReadKey | null>): void {
  const readKey = found.value;
  if (readKey === null || readKey.expiresAtMs <= Date.now()) {
    throw new ProblemError("unauthorized", "The read key is unknown, revoked or expired.");
  }
  // Before the key is set: a refused browser key's problem then carries no CORS headers.
  c.set("allowOrigin", corsOriginFor(c, readKey));
  c.set("store", store);
  c.set("delivery", deliveryModulesOf(c.env));
  c.set("readKey", readKey);
  c.set("keyLayer", found.layer);
}
