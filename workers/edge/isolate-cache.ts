/**
 * A module-scope cache in front of Workers KV. One isolate serves many requests, so a hit here
 * costs a Map lookup instead of a KV read (which is a subrequest, ~ms even when KV itself hits).
 *
 * - bounded by entries and by (approximate) bytes; evicts the least recently used entry (a read
 *   moves an entry up only from the older half, so a hot entry costs no reordering per hit);
 * - fresh for `ttlMs` (0 disables the cache: every read goes to the source);
 * - stale-while-revalidate: for `staleWhileRevalidateMs` after expiry the old value is served
 *   and one refresh runs in the background (`waitUntil`);
 * - in-flight de-duplication: concurrent misses of one key share one source read;
 * - stale-if-error: when the source throws, the last known good value (up to `staleIfErrorMs`
 *   past expiry) is served and reported as `stale`.
 */

/** Which layer answered a read; reported to clients in `Cuecard-Cache` and `Server-Timing`. */
export type CacheLayer = "isolate" | "revalidating" | "kv" | "stale";

export interface CacheRead<V> {
  value: V;
  layer: CacheLayer;
}

export interface IsolateCacheOptions<V> {
  maxEntries: number;
  maxBytes: number;
  staleWhileRevalidateMs: number;
  staleIfErrorMs: number;
  /** Approximate memory held by a value, counted against `maxBytes`. */
  sizeOf: (value: V) => number;
  now?: () => number;
}

interface Entry<V> {
  value: V;
  bytes: number;
  storedAt: number;
  /** The cache's insertion count when this entry last moved to the newest end. */
  recency: number;
}

export type WaitUntil = (promise: Promise<unknown>) => void;

export class IsolateCache<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #inFlight = new Map<string, Promise<V>>();
  readonly #options: IsolateCacheOptions<V>;
  readonly #now: () => number;
  #bytes = 0;
  /** Entries (re)inserted so far: how far an entry is from the newest end, at most. */
  #insertions = 0;

  constructor(options: IsolateCacheOptions<V>) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The fresh value of `key`, or undefined. Synchronous and allocation-free: the hot path. */
  fresh(key: string, ttlMs: number): Entry<V> | undefined {
    if (ttlMs <= 0) return undefined;
    const entry = this.#entries.get(key);
    if (entry === undefined || this.#now() - entry.storedAt >= ttlMs) return undefined;
    // Re-inserting keeps Map order = recency, so eviction drops the least recently used. Fewer
    // insertions since this entry's last than half the entries: it is in the newer half already,
    // so half the cache goes before it does (and a hit costs no Map delete and set).
    if (this.#insertions - entry.recency >= this.#entries.size / 2) {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      entry.recency = ++this.#insertions;
    }
    return entry;
  }

  /** A value past its TTL but still inside the stale-while-revalidate window, or undefined. */
  revalidatable(key: string, ttlMs: number): Entry<V> | undefined {
    if (ttlMs <= 0) return undefined;
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    const age = this.#now() - entry.storedAt;
    return age >= ttlMs && age < ttlMs + this.#options.staleWhileRevalidateMs ? entry : undefined;
  }

  /** The last known good value, if still inside the stale-if-error window. */
  lastKnownGood(key: string, ttlMs: number): Entry<V> | undefined {
    if (ttlMs <= 0) return undefined;
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    return this.#now() - entry.storedAt < ttlMs + this.#options.staleIfErrorMs ? entry : undefined;
  }

  /**
   * Reads `key` through the cache: fresh hit, else stale-while-revalidate, else one (shared)
   * load from the source; if that load throws, the last known good value or the error.
   */
  async read(
    key: string,
    ttlMs: number,
    load: (key: string) => Promise<V>,
    waitUntil: WaitUntil,
  ): Promise<CacheRead<V>> {
    if (ttlMs <= 0) return { value: await load(key), layer: "kv" };
    const hit = this.fresh(key, ttlMs);
    if (hit) return { value: hit.value, layer: "isolate" };
    const stale = this.revalidatable(key, ttlMs);
    if (stale) {
      if (!this.#inFlight.has(key)) {
        // A failed refresh keeps the stale entry; the next read past the window retries.
        waitUntil(this.#load(key, load).catch(() => undefined));
      }
      return { value: stale.value, layer: "revalidating" };
    }
    try {
      return { value: await this.#load(key, load), layer: "kv" };
    } catch (error) {
      const good = this.lastKnownGood(key, ttlMs);
      if (good) return { value: good.value, layer: "stale" };
      throw error;
    }
  }

  /** Stores a value read elsewhere (e.g. by a bulk read). */
  set(key: string, value: V): void {
    const bytes = this.#options.sizeOf(value) + key.length * 2;
    const previous = this.#entries.get(key);
    if (previous) {
      this.#entries.delete(key);
      this.#bytes -= previous.bytes;
    }
    // A value larger than the whole budget would evict everything and then itself.
    if (bytes > this.#options.maxBytes) return;
    this.#entries.set(key, { value, bytes, storedAt: this.#now(), recency: ++this.#insertions });
    this.#bytes += bytes;
    while (this.#entries.size > this.#options.maxEntries || this.#bytes > this.#options.maxBytes) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
  }

  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
  }

  clear(): void {
    this.#entries.clear();
    this.#inFlight.clear();
    this.#bytes = 0;
  }

  #load(key: string, load: (key: string) => Promise<V>): Promise<V> {
    const pending = this.#inFlight.get(key);
    if (pending) return pending;
    const loading = load(key)
      .then((value) => {
        this.set(key, value);
        return value;
      })
      .finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, loading);
    return loading;
  }
}
