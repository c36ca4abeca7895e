import type { ResolvedPrompt } from "./compile";

/**
 * The client's in-memory prompt cache: bounded (least recently used entries go first), with a
 * freshness window (TTL) and, after it, a stale-while-revalidate window in which the cached copy
 * is still served while one background request refreshes it. Pinned versions never change, so
 * they never expire. The clock is injected so tests can move time.
 */

export interface CacheEntry {
  resolved: ResolvedPrompt;
  /** The edge's ETag, sent back as `If-None-Match` so an unchanged label costs a 304. */
  etag: string | null;
  storedAt: number;
  immutable: boolean;
}

export type Freshness = "fresh" | "stale" | "expired";

export interface CachePolicy {
  ttlMs: number;
  staleWhileRevalidateMs: number;
  maxEntries: number;
}

export class PromptCache {
  readonly #entries = new Map<string, CacheEntry>();

  constructor(
    readonly policy: CachePolicy,
    private readonly now: () => number,
  ) {}

  get(key: string): CacheEntry | undefined {
    const entry = this.#entries.get(key);
    if (entry) {
      // Re-inserting keeps Map order = recency order, which is all LRU eviction needs.
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    return entry;
  }

  set(key: string, entry: Omit<CacheEntry, "storedAt">): CacheEntry {
    const stored = { ...entry, storedAt: this.now() };
    this.#entries.delete(key);
    this.#entries.set(key, stored);
    while (this.#entries.size > this.policy.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    return stored;
  }

  /** A 304 proved the copy is still current: it is fresh again from now. */
  revalidated(key: string): CacheEntry | undefined {
    const entry = this.#entries.get(key);
    if (entry) entry.storedAt = this.now();
    return entry;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  get size(): number {
    return this.#entries.size;
  }

  freshness(entry: CacheEntry): Freshness {
    if (entry.immutable) return "fresh";
    const age = this.now() - entry.storedAt;
    if (age < this.policy.ttlMs) return "fresh";
    if (age < this.policy.ttlMs + this.policy.staleWhileRevalidateMs) return "stale";
    return "expired";
  }
}
