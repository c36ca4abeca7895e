import type { Prompt, ResolvedPrompt } from "./compile";

/**
 * The client's in-memory prompt cache: bounded (least recently used entries go first), with a
 * freshness window (TTL) and, after it, a stale-while-revalidate window in which the cached copy
 * is still served while one background request refreshes it. Pinned versions never change, so
 * they never expire. The clock is injected so tests can move time.
 *
 * Built for the hit path, which an app runs on every request: entries are found by name, then by
 * label (a string) or version (a number), so a hit builds no key string; recency is a counter
 * stamped on the entry rather than a Map re-insertion, and only an insert into a full cache pays
 * for finding the least recently used entry.
 */

export interface CacheEntry {
  resolved: ResolvedPrompt;
  /** The edge's ETag, sent back as `If-None-Match` so an unchanged label costs a 304. */
  etag: string | null;
  storedAt: number;
  immutable: boolean;
  /** Recency stamp for LRU eviction (higher = used more recently). */
  usedAt: number;
  /** The prompt every cache hit hands out, built once per stored copy (prompts are immutable). */
  hit?: Prompt;
}

/** A label (`production`) or a pinned version (`3`): never equal to each other as Map keys. */
export type CacheSelector = string | number;

export type Freshness = "fresh" | "stale" | "expired";

export interface CachePolicy {
  ttlMs: number;
  staleWhileRevalidateMs: number;
  maxEntries: number;
}

export class PromptCache {
  readonly #byName = new Map<string, Map<CacheSelector, CacheEntry>>();
  #size = 0;
  #clock = 0;

  constructor(
    readonly policy: CachePolicy,
    private readonly now: () => number,
  ) {}

  get(name: string, selector: CacheSelector): CacheEntry | undefined {
    const entry = this.#byName.get(name)?.get(selector);
    if (entry !== undefined) entry.usedAt = ++this.#clock;
    return entry;
  }

  set(
    name: string,
    selector: CacheSelector,
    entry: Pick<CacheEntry, "resolved" | "etag" | "immutable">,
  ): CacheEntry {
    const stored: CacheEntry = {
      resolved: entry.resolved,
      etag: entry.etag,
      immutable: entry.immutable,
      storedAt: this.now(),
      usedAt: ++this.#clock,
    };
    let selectors = this.#byName.get(name);
    if (selectors === undefined) {
      selectors = new Map();
      this.#byName.set(name, selectors);
    }
    if (!selectors.has(selector)) this.#size++;
    selectors.set(selector, stored);
    while (this.#size > this.policy.maxEntries) this.#evictLeastRecentlyUsed();
    return stored;
  }

  /** A 304 proved the copy is still current: it is fresh again from now. */
  revalidated(name: string, selector: CacheSelector): CacheEntry | undefined {
    const entry = this.#byName.get(name)?.get(selector);
    if (entry) entry.storedAt = this.now();
    return entry;
  }

  delete(name: string, selector: CacheSelector): void {
    const selectors = this.#byName.get(name);
    if (!selectors?.delete(selector)) return;
    this.#size--;
    if (selectors.size === 0) this.#byName.delete(name);
  }

  clear(): void {
    this.#byName.clear();
    this.#size = 0;
  }

  get size(): number {
    return this.#size;
  }

  /** `ttlMs` is the caller's own TTL when it gave one (`cacheTtlSeconds`). */
  freshness(entry: CacheEntry, ttlMs = this.policy.ttlMs): Freshness {
    if (entry.immutable) return "fresh";
    const age = this.now() - entry.storedAt;
    if (age < ttlMs) return "fresh";
    if (age < ttlMs + this.policy.staleWhileRevalidateMs) return "stale";
    return "expired";
  }

  #evictLeastRecentlyUsed(): void {
    let oldest: { name: string; selector: CacheSelector; usedAt: number } | undefined;
    for (const [name, selectors] of this.#byName) {
      for (const [selector, entry] of selectors) {
        if (oldest === undefined || entry.usedAt < oldest.usedAt) {
          oldest = { name, selector, usedAt: entry.usedAt };
        }
      }
    }
    if (oldest === undefined) {
      this.#size = 0;
      return;
    }
    this.delete(oldest.name, oldest.selector);
  }
}
