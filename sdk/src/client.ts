import { assign } from "@cuecard/core/assignment";
import { BATCH_NAMES_MAX } from "@cuecard/core/limits";
import { DEFAULT_LABEL } from "@cuecard/core/names";
import type { ExposureEvent, TelemetryEvent } from "@cuecard/core/telemetry";
import { UNIT_ID_MAX } from "@cuecard/core/telemetry";
import { type CacheEntry, type CacheSelector, PromptCache } from "./cache";
import {
  type CompileOptions,
  type FallbackPrompt,
  fallbackPrompt,
  type Prompt,
  type PromptExperiment,
  type PromptOfType,
  type PromptSource,
  type ResolvedPrompt,
  toPrompt,
} from "./compile";
import {
  CuecardRequestError,
  CuecardUnavailableError,
  errorFor,
  PromptTypeError,
  readProblem,
} from "./errors";
import {
  defaultTransport,
  type FetchFunction,
  type RetryPolicy,
  requestWithRetry,
} from "./transport";

/**
 * Request errors a fallback may also stand in for, besides an unreachable edge (which it always
 * covers): `missing` — 404, the prompt, label or version does not exist (or the prompt is
 * archived); `refused` — 401 or 403, the key is unknown, revoked, expired or not allowed.
 */
export type FallbackReason = "missing" | "refused";

export interface CuecardClientOptions {
  /** The edge worker, e.g. https://prompts.example.com. */
  edgeUrl: string;
  /** A read key (`cc_reader_…`). In a browser it is visible to users: give it no other role. */
  apiKey: string;
  /** How long a fetched label is served without asking the edge again. Default 60 s. */
  ttlMs?: number;
  /** After the TTL, how long the cached copy is still served while it refreshes. Default 5 min. */
  staleWhileRevalidateMs?: number;
  /** Bound on cached prompts (least recently used go first). Default 1000. */
  maxEntries?: number;
  /** One attempt's budget. Default 2 s. */
  timeoutMs?: number;
  /** Retries on network errors, timeouts, 429 and 5xx. Default 2. */
  retries?: number;
  /** First backoff delay (doubles each retry, with full jitter). Default 100 ms. */
  baseDelayMs?: number;
  /** Longest wait before one retry; a longer `Retry-After` is not waited for. Default 2 s. */
  maxDelayMs?: number;
  /** Served when a prompt is neither cached nor reachable; `getPrompt`'s own fallback wins. */
  fallbacks?: Record<string, FallbackPrompt>;
  /**
   * Also serve the fallback on these request errors, not only when the edge is unreachable.
   * Default `[]`: a missing prompt or a refused key throws, because a fallback would hide a typo
   * or a revoked key for good. `["missing", "refused"]` is what Langfuse's SDKs do. A call's own
   * `fallbackOn` wins.
   */
  fallbackOn?: readonly FallbackReason[];
  /**
   * How every returned prompt's `compile()` treats missing and unknown variables unless the call
   * says otherwise. Default strict; `{ strict: false }` renders like Langfuse's SDKs.
   */
  compile?: CompileOptions;
  /** Told about failed background refreshes (the cached copy was served meanwhile). */
  onBackgroundError?: (error: unknown, name: string) => void;
  /**
   * Where exposures go (a unit was served an experiment's variant): a `Telemetry` from
   * `@cuecard/sdk/observe`, which batches them. Without it nothing is reported.
   */
  telemetry?: ExposureRecorder;
  /** Injectable for tests and for runtimes without a global fetch. */
  fetch?: FetchFunction;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface GetPromptOptions<T extends Prompt["type"] = Prompt["type"]> {
  /** The label to resolve (default `production`). Not together with `version`. */
  label?: string;
  /** A pinned version: immutable, so it is cached for good. */
  version?: number;
  /** Asserts the prompt's type, and narrows the result's type to it. */
  type?: T;
  /**
   * Served when nothing is cached and the edge cannot be reached (and on the request errors
   * `fallbackOn` names).
   */
  fallback?: FallbackPrompt;
  /** Overrides the client's `fallbackOn` for this call. */
  fallbackOn?: readonly FallbackReason[];
  /**
   * How old a cached copy this call accepts, in seconds, instead of the client's `ttlMs` (only
   * for this call: other calls keep theirs). Past it the copy is served stale while one request
   * refreshes it, as with the client's TTL. `0`: always ask the edge (the cached copy is then
   * only served when the edge cannot be reached). Pinned versions never expire.
   */
  cacheTtlSeconds?: number;
  /**
   * The id experiments are randomised by (a user id, a session id). While the label runs an
   * experiment, the variant is assigned here, from the cached definition: the same unit gets
   * the same variant as from the edge, in every process. Without it: the control.
   */
  unit?: string | null;
  signal?: AbortSignal;
}

/** What the client reports exposures to (`Telemetry` from `@cuecard/sdk/observe` is one). */
export interface ExposureRecorder {
  record(event: TelemetryEvent): void;
}

/** Units already reported per experiment arm, per client; cleared when full (a repeat only
 * re-sends what ingest counts once). */
const REPORTED_EXPOSURES_MAX = 10_000;

export interface PrefetchResult {
  prompts: Prompt[];
  /** Names that have no such label (or do not exist). */
  missing: string[];
}

/**
 * Fetches prompts from the Cuecard edge, built so that a prompt is never the reason a request is
 * slow or fails: answers come from memory while fresh, stale copies are served while one request
 * refreshes them, concurrent asks for one prompt share one request, failures are retried with
 * backoff, and when the edge stays unreachable the last copy (or the caller's fallback) is used.
 */
export class CuecardClient {
  readonly #options: CuecardClientOptions;
  readonly #cache: PromptCache;
  readonly #inFlight = new Map<string, Promise<CacheEntry>>();
  readonly #transport;
  readonly #retry: RetryPolicy;
  readonly #edgeUrl: string;
  readonly #reported = new Set<string>();
  readonly #ttlMs: number;

  constructor(options: CuecardClientOptions) {
    this.#options = options;
    const base = defaultTransport();
    this.#transport = {
      fetch: options.fetch ?? base.fetch,
      sleep: options.sleep ?? base.sleep,
      random: options.random ?? base.random,
      now: options.now ?? base.now,
    };
    this.#ttlMs = options.ttlMs ?? 60_000;
    this.#cache = new PromptCache(
      {
        ttlMs: this.#ttlMs,
        staleWhileRevalidateMs: options.staleWhileRevalidateMs ?? 300_000,
        maxEntries: options.maxEntries ?? 1000,
      },
      this.#transport.now,
    );
    this.#retry = {
      retries: options.retries ?? 2,
      baseDelayMs: options.baseDelayMs ?? 100,
      maxDelayMs: options.maxDelayMs ?? 2_000,
      timeoutMs: options.timeoutMs ?? 2_000,
    };
    this.#edgeUrl = options.edgeUrl.replace(/\/+$/, "");
  }

  getPrompt<T extends Prompt["type"]>(
    name: string,
    options: GetPromptOptions<T> & { type: T },
  ): Promise<PromptOfType<T>>;
  getPrompt(name: string, options?: GetPromptOptions): Promise<Prompt>;
  getPrompt(name: string, options?: GetPromptOptions): Promise<Prompt> {
    // Most calls are hits on a fresh copy: answered without an await, a key string or a new
    // prompt object. Anything else (and every error) takes the full path below.
    const hit = this.#freshHit(name, options);
    if (hit !== undefined) return Promise.resolve(hit);
    return this.#getPrompt(name, options ?? {});
  }

  /** The cached prompt if this call may be answered from memory as it is, else undefined. */
  #freshHit(name: string, options: GetPromptOptions | undefined): Prompt | undefined {
    let selector: CacheSelector = DEFAULT_LABEL;
    let ttlMs = this.#ttlMs;
    if (options !== undefined) {
      if (options.version !== undefined) selector = options.version;
      else if (options.label !== undefined) selector = options.label;
      const ttlSeconds = options.cacheTtlSeconds;
      if (ttlSeconds !== undefined) {
        // 0 always asks the edge; a bad value is refused by the full path.
        if (!(typeof ttlSeconds === "number" && ttlSeconds > 0 && ttlSeconds < Infinity)) {
          return undefined;
        }
        ttlMs = ttlSeconds * 1000;
      }
      const unit = options.unit;
      if (unit != null && !(typeof unit === "string" && unit.length <= UNIT_ID_MAX)) {
        return undefined;
      }
    }
    const entry = this.#cache.get(name, selector);
    if (entry === undefined) return undefined;
    // A running experiment assigns per unit: the full path.
    if (entry.resolved.definition !== undefined) return undefined;
    if (this.#cache.freshness(entry, ttlMs) !== "fresh") return undefined;
    const prompt = this.#cachedPrompt(entry);
    if (options?.type !== undefined && prompt.type !== options.type) return undefined;
    return prompt;
  }

  #cachedPrompt(entry: CacheEntry): Prompt {
    entry.hit ??= toPrompt(entry.resolved, "cache", undefined, this.#options.compile);
    return entry.hit;
  }

  async #getPrompt(name: string, options: GetPromptOptions): Promise<Prompt> {
    const prompt = await this.#resolve(name, options);
    if (options.type && prompt.type !== options.type) {
      throw new PromptTypeError(
        `Prompt '${name}' is a ${prompt.type} prompt, not ${options.type}; ask for type '${prompt.type}' or change the prompt.`,
      );
    }
    return prompt;
  }

  /**
   * Loads many prompts of one label at start-up, in one request per 100 names, so the first real
   * requests are served from memory.
   */
  async prefetch(
    names: readonly string[],
    options: { label?: string; signal?: AbortSignal } = {},
  ): Promise<PrefetchResult> {
    const label = options.label ?? DEFAULT_LABEL;
    const unique = [...new Set(names)];
    const result: PrefetchResult = { prompts: [], missing: [] };
    for (let start = 0; start < unique.length; start += BATCH_NAMES_MAX) {
      const chunk = unique.slice(start, start + BATCH_NAMES_MAX);
      const query = `names=${chunk.map(encodeURIComponent).join(",")}&label=${encodeURIComponent(label)}`;
      const response = await this.#request(`${this.#edgeUrl}/v1/prompts?${query}`, {
        signal: options.signal,
      });
      if (!response.ok) throw errorFor(response.status, await readProblem(response));
      const body = (await response.json()) as { prompts: ResolvedPrompt[]; missing: string[] };
      for (const resolved of body.prompts) {
        // A label running an experiment comes without its definition here: not cached, so the
        // first getPrompt fetches the definition and assigns its units.
        if (resolved.experiment) {
          result.prompts.push(toPrompt(resolved, "edge", undefined, this.#options.compile));
          continue;
        }
        const entry = this.#cache.set(resolved.name, label, {
          resolved,
          // The edge's ETag names the version too (same content can be two versions).
          etag: `"${resolved.hash}.v${resolved.version}"`,
          immutable: false,
        });
        result.prompts.push(toPrompt(entry.resolved, "edge", undefined, this.#options.compile));
      }
      result.missing.push(...body.missing);
    }
    return result;
  }

  /** Forgets every cached prompt (e.g. after rotating the key). */
  clearCache(): void {
    this.#cache.clear();
  }

  async #resolve(name: string, options: GetPromptOptions): Promise<Prompt> {
    const unit = options.unit ?? null;
    if (unit !== null && (typeof unit !== "string" || unit.length > UNIT_ID_MAX)) {
      // The edge refuses such ids too: one rule wherever a unit is assigned.
      throw new TypeError(`unit must be a string of at most ${UNIT_ID_MAX} characters`);
    }
    const ttlSeconds = options.cacheTtlSeconds;
    if (
      ttlSeconds !== undefined &&
      !(typeof ttlSeconds === "number" && ttlSeconds >= 0 && ttlSeconds < Infinity)
    ) {
      throw new TypeError("cacheTtlSeconds must be a finite number of seconds, 0 or more");
    }
    const selector: Selector =
      options.version !== undefined
        ? { version: options.version }
        : { label: options.label ?? DEFAULT_LABEL };
    const key = cacheKey(name, selector);
    const cached = this.#cache.get(name, selectorKey(selector));
    // 0: the caller wants the edge's answer, whatever the cache holds.
    if (cached && ttlSeconds !== 0) {
      const freshness = this.#cache.freshness(
        cached,
        ttlSeconds === undefined ? undefined : ttlSeconds * 1000,
      );
      if (freshness === "fresh") {
        return cached.resolved.definition
          ? this.#served(cached.resolved, "cache", unit)
          : this.#cachedPrompt(cached);
      }
      if (freshness === "stale") {
        this.#load(key, name, selector, cached).catch((error: unknown) => {
          this.#options.onBackgroundError?.(error, name);
        });
        return this.#served(cached.resolved, "stale", unit);
      }
    }
    try {
      const loaded = await abortable(this.#load(key, name, selector, cached), options.signal);
      return this.#served(loaded.resolved, "edge", unit);
    } catch (error) {
      const outage = error instanceof CuecardUnavailableError;
      // Stale-if-error: an old copy beats failing the caller's request.
      if (outage && cached) return this.#served(cached.resolved, "stale", unit);
      const fallback = options.fallback ?? this.#options.fallbacks?.[name];
      if (fallback === undefined || !(outage || this.#fallsBackOn(error, options))) throw error;
      return fallbackPrompt(name, selector.label ?? null, fallback, this.#options.compile);
    }
  }

  /** Whether the caller opted in to a fallback for this request error (404, 401, 403). */
  #fallsBackOn(error: unknown, options: GetPromptOptions): boolean {
    if (!(error instanceof CuecardRequestError)) return false;
    const reason = reasonOf(error.status);
    const reasons = options.fallbackOn ?? this.#options.fallbackOn ?? [];
    return reason !== undefined && reasons.includes(reason);
  }

  /**
   * The prompt for one unit: with an experiment definition, the arm core's `assign` picks (the
   * edge's own function, so both agree); an assigned unit is reported once as an exposure.
   */
  #served(resolved: ResolvedPrompt, source: PromptSource, unit: string | null): Prompt {
    const definition = resolved.definition;
    const compile = this.#options.compile;
    if (!definition) return toPrompt(resolved, source, undefined, compile);
    const assignment = assign(
      {
        seed: definition.seed,
        hashVersion: definition.hashVersion,
        coverage: definition.coverage,
        weights: definition.variants.map((variant) => variant.weight),
      },
      unit,
    );
    const arm = definition.variants[assignment.variant] ?? definition.variants[0];
    if (!arm) return toPrompt(resolved, source, undefined, compile);
    const experiment: PromptExperiment = {
      id: definition.id,
      key: definition.key,
      variant: arm.key,
      bucket: assignment.bucket,
      reason: assignment.reason,
    };
    if (assignment.reason === "assigned" && unit) this.#expose(experiment, unit, arm.prompt);
    return toPrompt(arm.prompt, source, experiment, compile);
  }

  #expose(experiment: PromptExperiment, unit: string, prompt: ResolvedPrompt): void {
    const telemetry = this.#options.telemetry;
    if (!telemetry) return;
    const seen = `${experiment.id}\u0000${experiment.variant}\u0000${unit}`;
    if (this.#reported.has(seen)) return;
    if (this.#reported.size >= REPORTED_EXPOSURES_MAX) this.#reported.clear();
    this.#reported.add(seen);
    const event: ExposureEvent = {
      type: "exposure",
      id: crypto.randomUUID(),
      timestamp: new Date(this.#transport.now()).toISOString(),
      experiment: { id: experiment.id, key: experiment.key, variant: experiment.variant },
      unit,
      prompt: { name: prompt.name, version: prompt.version, label: prompt.label },
    };
    try {
      telemetry.record(event);
    } catch (error) {
      // Reporting must never fail the app's read of a prompt.
      this.#options.onBackgroundError?.(error, prompt.name);
    }
  }

  /** One request per key at a time: concurrent callers share it. */
  #load(
    key: string,
    name: string,
    selector: Selector,
    cached: CacheEntry | undefined,
  ): Promise<CacheEntry> {
    const running = this.#inFlight.get(key);
    if (running) return running;
    const loading = this.#fetchPrompt(name, selector, cached).finally(() => {
      this.#inFlight.delete(key);
    });
    this.#inFlight.set(key, loading);
    return loading;
  }

  async #fetchPrompt(
    name: string,
    selector: Selector,
    cached: CacheEntry | undefined,
  ): Promise<CacheEntry> {
    const query =
      selector.version !== undefined
        ? `version=${selector.version}`
        : // The definition: a label running an experiment answers once for all units.
          `label=${encodeURIComponent(selector.label)}&definition=1`;
    const headers: Record<string, string> = {};
    if (cached?.etag) headers["if-none-match"] = cached.etag;
    const response = await this.#request(
      `${this.#edgeUrl}/v1/prompts/${encodeURIComponent(name)}?${query}`,
      { headers },
    );
    const cacheSelector = selectorKey(selector);
    if (response.status === 304 && cached) {
      return this.#cache.revalidated(name, cacheSelector) ?? cached;
    }
    if (!response.ok) {
      // The label was deleted or the prompt archived: stop serving the old copy.
      if (response.status === 404) this.#cache.delete(name, cacheSelector);
      throw errorFor(response.status, await readProblem(response));
    }
    const resolved = (await response.json()) as ResolvedPrompt;
    return this.#cache.set(name, cacheSelector, {
      resolved,
      etag: response.headers.get("etag"),
      immutable: selector.version !== undefined,
    });
  }

  #request(url: string, init: { headers?: Record<string, string>; signal?: AbortSignal }) {
    return requestWithRetry(this.#transport, this.#retry, url, {
      headers: { ...init.headers, authorization: `Bearer ${this.#options.apiKey}` },
      signal: init.signal,
    });
  }
}

/**
 * A shared request is not cancelled when one of its callers gives up (the others still want it);
 * that caller just stops waiting.
 */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

type Selector = { label: string; version?: undefined } | { version: number; label?: undefined };

/** What the cache files a prompt under, beside its name. */
function selectorKey(selector: Selector): CacheSelector {
  return selector.version !== undefined ? selector.version : selector.label;
}

/** Which opt-in fallback reason a request error is, if any. */
function reasonOf(status: number): FallbackReason | undefined {
  if (status === 404) return "missing";
  if (status === 401 || status === 403) return "refused";
  return undefined;
}

/** Names one in-flight request: concurrent callers of a label or version share it. */
function cacheKey(name: string, selector: Selector): string {
  return selector.version !== undefined
    ? `${name}#${selector.version}`
    : `${name}@${selector.label}`;
}

export type { PromptSource };
