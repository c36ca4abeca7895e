import {
  type ConversionEvent,
  costOf,
  DEFAULT_MODEL_PRICES,
  ERROR_MESSAGE_MAX,
  EVENTS_PER_BATCH_MAX,
  type GenerationEvent,
  type IngestResponse,
  type ModelPrice,
  priceOf,
  SCORE_COMMENT_MAX,
  type ScoreEvent,
  type TelemetryEvent,
  type TelemetryExperimentRef,
} from "@cuecard/core/telemetry";
import type { FetchFunction } from "../transport";

/**
 * The telemetry sink: events are kept in a bounded in-memory buffer and sent to
 * `POST {baseUrl}/v1/events` in the background, so recording never throws into the app and never
 * makes a call wait. When ingest is down the oldest events are dropped (and counted) rather than
 * memory growing; a failed batch stays buffered and is retried with backoff.
 */

export interface TelemetryOptions {
  /** Where `POST /v1/events` is served (the Cuecard edge), e.g. https://prompts.example.com. */
  baseUrl: string;
  /** A key allowed to send events (`cc_reader_…`), sent as `Authorization: Bearer …`. */
  apiKey: string;
  /** Events kept while waiting to be sent; past it the oldest are dropped. Default 1000. */
  maxBuffered?: number;
  /** Events per request, at most EVENTS_PER_BATCH_MAX (100). Default 100. */
  batchSize?: number;
  /** How long an event may wait before a background flush. 0 turns the timer off (call
   * `flush()` yourself, e.g. in `ctx.waitUntil`). Default 1000 ms. */
  flushIntervalMs?: number;
  /** Longest wait between retries while ingest fails (backoff doubles up to it). Default 30 s. */
  maxRetryDelayMs?: number;
  /** One request's budget. Default 10 s. */
  timeoutMs?: number;
  /** Prices (USD per million tokens) merged over DEFAULT_MODEL_PRICES to compute `costUsd`. */
  prices?: Record<string, ModelPrice>;
  /** Told about failed flushes (the app is never thrown at). */
  onError?: (error: unknown) => void;
  fetch?: FetchFunction;
}

export interface TelemetryStats {
  /** Waiting to be sent (including a batch in flight). */
  buffered: number;
  /** Accepted by ingest. */
  sent: number;
  /** Refused by ingest one by one (a 207's rejected events); not retried. */
  rejected: number;
  /** Lost: pushed out of a full buffer, recorded after shutdown, or in a batch ingest refused. */
  dropped: number;
  /** Flush requests that failed (network error, timeout, non-2xx). */
  failedFlushes: number;
}

/** What `recordGeneration` needs: the event minus what the sink fills in. */
export type GenerationInput = Omit<
  GenerationEvent,
  "type" | "id" | "timestamp" | "prompt" | "experiment"
> & {
  /** Default: a fresh UUID. */
  id?: string;
  /** When the call started. Default: now. */
  timestamp?: string | Date;
  /** The Prompt `CuecardClient.getPrompt` returned (or just its name, version and label). */
  prompt?: PromptLike | null;
  /** Default: the prompt's experiment, when it has one. */
  experiment?: TelemetryExperimentRef | null;
};

/**
 * The generation a score is for: its event id, the options `linkPrompt` returned for the
 * observed call, or the event `recordGeneration` returned.
 */
export type GenerationRef =
  | string
  | { readonly generationId: string | undefined }
  | Pick<GenerationEvent, "id">;

export interface ScoreOptions {
  /** Free text kept with the score (cut to SCORE_COMMENT_MAX characters). */
  comment?: string | null;
  /** Default: a fresh UUID. Resending a score with the same id counts it once. */
  id?: string;
}

/**
 * An event built when it is sent rather than when it is recorded: what an observed call buffers,
 * so formatting its timestamp, pricing it and building the event's object happen at flush, not
 * between the provider's answer and the caller getting it. `event()` must return the same event
 * every time (a failed batch is sent again) and should not throw; one that throws is dropped.
 */
export interface PendingEvent {
  event(): TelemetryEvent;
}

/** Anything with a prompt's identity: a `Prompt` from `getPrompt`, or a plain reference. */
export interface PromptLike {
  readonly name: string;
  readonly version: number;
  readonly label?: string | null;
  /** A `Prompt`'s experiment; `reason` and `bucket` (when present) are not sent. */
  readonly experiment?: (TelemetryExperimentRef & { readonly reason?: string }) | null;
}

/**
 * The variant a call is linked to: only a prompt the unit was assigned (a control served for
 * `no_unit` or `not_in_coverage` is not an observation of the experiment's control arm), and only
 * the reference telemetry takes, `{id, key, variant}`.
 */
export function experimentRefOf(
  experiment: PromptLike["experiment"] | undefined,
): TelemetryExperimentRef | null {
  if (!experiment) return null;
  if (experiment.reason !== undefined && experiment.reason !== "assigned") return null;
  return { id: experiment.id, key: experiment.key, variant: experiment.variant };
}

const DEFAULTS = {
  maxBuffered: 1000,
  flushIntervalMs: 1000,
  maxRetryDelayMs: 30_000,
  timeoutMs: 10_000,
};

export class Telemetry {
  readonly #url: string;
  readonly #authorization: string;
  readonly #maxBuffered: number;
  readonly #batchSize: number;
  readonly #flushIntervalMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #timeoutMs: number;
  readonly #fetch: FetchFunction;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly prices: Readonly<Record<string, ModelPrice>>;

  #buffer: (TelemetryEvent | PendingEvent)[] = [];
  #inFlight = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #consecutiveFailures = 0;
  #draining: Promise<boolean> | undefined;
  #closed = false;
  readonly #stats = { sent: 0, rejected: 0, dropped: 0, failedFlushes: 0 };

  constructor(options: TelemetryOptions) {
    this.#url = `${options.baseUrl.replace(/\/+$/, "")}/v1/events`;
    this.#authorization = `Bearer ${options.apiKey}`;
    this.#maxBuffered = Math.max(1, options.maxBuffered ?? DEFAULTS.maxBuffered);
    this.#batchSize = Math.min(
      EVENTS_PER_BATCH_MAX,
      Math.max(1, options.batchSize ?? EVENTS_PER_BATCH_MAX),
    );
    this.#flushIntervalMs = options.flushIntervalMs ?? DEFAULTS.flushIntervalMs;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? DEFAULTS.maxRetryDelayMs;
    this.#timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#onError = options.onError;
    this.prices = options.prices
      ? { ...DEFAULT_MODEL_PRICES, ...options.prices }
      : DEFAULT_MODEL_PRICES;
  }

  /**
   * Buffers any telemetry event (exposures, scores, conversions), or a PendingEvent built when
   * sent; sent in the background.
   */
  record(event: TelemetryEvent | PendingEvent): void {
    if (this.#closed) {
      this.#stats.dropped++;
      return;
    }
    if (this.#buffer.length + this.#inFlight >= this.#maxBuffered) {
      // Drop-oldest: recent calls say more about the app now than old ones.
      if (this.#buffer.length === 0) {
        this.#stats.dropped++;
        return;
      }
      this.#buffer.shift();
      this.#stats.dropped++;
    }
    this.#buffer.push(event);
    if (this.#draining !== undefined || this.#flushIntervalMs <= 0) return;
    // A full batch goes now (unless ingest is failing: then the backoff timer decides); fewer
    // wait for the interval, so a busy app sends few, full requests.
    if (this.#buffer.length === this.#batchSize && this.#consecutiveFailures === 0)
      this.#schedule(0);
    else if (this.#timer === undefined) this.#schedule(this.#flushIntervalMs);
  }

  /**
   * Records one LLM call of any provider and returns the event as buffered (its `id` is what a
   * score attaches to). Cost comes from the price table when left out. Never throws.
   */
  recordGeneration(input: GenerationInput): GenerationEvent | undefined {
    try {
      const event = this.#generation(input);
      this.record(event);
      return event;
    } catch (error) {
      this.#report(error);
      return undefined;
    }
  }

  #generation(input: GenerationInput): GenerationEvent {
    const prompt = input.prompt;
    // Every field named once, in one literal: the buffer holds up to `maxBuffered` of these,
    // and objects built this way stay compact (spreads and late additions are several times
    // larger in V8).
    const event: GenerationEvent = {
      type: "generation",
      id: input.id ?? eventId(),
      timestamp:
        input.timestamp === undefined
          ? isoTime(Date.now())
          : typeof input.timestamp === "string"
            ? input.timestamp
            : input.timestamp.toISOString(),
      prompt: prompt
        ? { name: prompt.name, version: prompt.version, label: prompt.label ?? null }
        : null,
      experiment: input.experiment ?? experimentRefOf(prompt?.experiment),
      unit: input.unit ?? null,
      provider: input.provider ?? null,
      operation: input.operation ?? null,
      model: input.model,
      responseModel: input.responseModel ?? null,
      stream: input.stream ?? false,
      latencyMs: input.latencyMs,
      timeToFirstTokenMs: input.timeToFirstTokenMs ?? null,
      inputTokens: input.inputTokens ?? null,
      outputTokens: input.outputTokens ?? null,
      costUsd: input.costUsd !== undefined ? input.costUsd : generationCost(input, this.prices),
      finishReason: input.finishReason ?? null,
      error: boundedError(input.error),
      traceId: input.traceId ?? null,
      spanId: input.spanId ?? null,
    };
    return event;
  }

  /**
   * Attaches a score to a generation: a thumbs-up (`true`), a rating or a grader's 0–1, or a
   * category (a string). `generation` is the `linkPrompt(…)` options the call was made with (it
   * knows the call's id once `create()` was called), the id itself, or the event
   * `recordGeneration` returned. Returns the event as buffered; undefined, with `onError` told,
   * when there is no generation id yet or the value is not a finite number, boolean or string.
   * Never throws.
   */
  score(
    generation: GenerationRef,
    name: string,
    value: number | boolean | string,
    options: ScoreOptions = {},
  ): ScoreEvent | undefined {
    try {
      const generationId =
        typeof generation === "string"
          ? generation
          : "generationId" in generation
            ? generation.generationId
            : generation.id;
      if (!generationId) {
        throw new Error(`score "${name}": no generation id (was the call made with this link?)`);
      }
      checkValue(`score "${name}"`, value);
      const comment = options.comment ?? null;
      const event: ScoreEvent = {
        type: "score",
        id: options.id ?? eventId(),
        timestamp: isoTime(Date.now()),
        name,
        value,
        generationId,
        comment:
          comment !== null && comment.length > SCORE_COMMENT_MAX
            ? comment.slice(0, SCORE_COMMENT_MAX)
            : comment,
      };
      this.record(event);
      return event;
    } catch (error) {
      this.#report(error);
      return undefined;
    }
  }

  /**
   * Counts something the app cares about for a unit (a purchase, a resolved ticket, revenue as
   * `value`), which experiments judge their variants by. `unit` is the id the app assigns
   * experiments by, as given to `linkPrompt(prompt, { unit })`. Returns the event as buffered;
   * undefined, with `onError` told, when `value` is not a finite number. Never throws.
   */
  conversion(
    unit: string,
    name: string,
    value?: number | null,
    options: { id?: string } = {},
  ): ConversionEvent | undefined {
    try {
      if (value != null && !Number.isFinite(value)) {
        throw new TypeError(`conversion "${name}": ${String(value)} is not a finite number`);
      }
      const event: ConversionEvent = {
        type: "conversion",
        id: options.id ?? eventId(),
        timestamp: isoTime(Date.now()),
        name,
        unit,
        value: value ?? null,
      };
      this.record(event);
      return event;
    } catch (error) {
      this.#report(error);
      return undefined;
    }
  }

  /**
   * Sends everything buffered now, in batches; resolves (never rejects) when done or when ingest
   * failed (the rest stays buffered). For serverless and Workers: `ctx.waitUntil(t.flush())`.
   */
  async flush(): Promise<void> {
    this.#clearTimer();
    try {
      const ok = await this.#drain();
      if (!ok) this.#scheduleRetry();
      else if (this.#buffer.length >= this.#batchSize) this.#schedule(0);
      else if (this.#buffer.length > 0) this.#scheduleNext();
    } catch (error) {
      this.#report(error);
    }
  }

  /** Stops the timer and sends what is buffered; later events are dropped (and counted). */
  async shutdown(): Promise<void> {
    this.#closed = true;
    this.#clearTimer();
    try {
      await this.#drain();
    } catch (error) {
      this.#report(error);
    }
    this.#clearTimer();
  }

  stats(): TelemetryStats {
    return { buffered: this.#buffer.length + this.#inFlight, ...this.#stats };
  }

  /**
   * Sends what is buffered when the drain starts (events recorded meanwhile wait for the next
   * one, so a steady trickle does not turn into a stream of tiny requests). One drain at a time:
   * a second caller waits for the running one, then sends what is left.
   */
  #drain(): Promise<boolean> {
    const previous = this.#draining;
    const run = (async () => {
      if (previous) await previous;
      let remaining = this.#buffer.length;
      while (remaining > 0 && this.#buffer.length > 0) {
        const batch = this.#buffer.splice(0, Math.min(this.#batchSize, remaining));
        remaining -= batch.length;
        this.#inFlight = batch.length;
        let retry: boolean;
        try {
          retry = await this.#send(batch);
        } finally {
          this.#inFlight = 0;
        }
        if (retry) {
          this.#requeue(batch);
          return false;
        }
      }
      return true;
    })();
    this.#draining = run;
    return run.finally(() => {
      if (this.#draining === run) this.#draining = undefined;
    });
  }

  /** Sends one batch; true when it should stay buffered and be retried. */
  async #send(batch: (TelemetryEvent | PendingEvent)[]): Promise<boolean> {
    const events = built(batch);
    if (events.length < batch.length) this.#stats.dropped += batch.length - events.length;
    if (events.length === 0) return false;
    let response: Response;
    try {
      response = await this.#fetch(this.#url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: this.#authorization },
        body: JSON.stringify({ events }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      this.#failed(error);
      return true;
    }
    if (response.status === 200 || response.status === 207) {
      this.#consecutiveFailures = 0;
      const result = (await response.json().catch(() => null)) as IngestResponse | null;
      if (result && typeof result.accepted === "number") {
        this.#stats.sent += result.accepted;
        this.#stats.rejected += result.rejected;
      } else {
        this.#stats.sent += events.length;
      }
      return false;
    }
    await response.body?.cancel().catch(() => undefined);
    const failure = new Error(`${this.#url} answered ${response.status}`);
    if (response.status === 429 || response.status >= 500) {
      this.#failed(failure);
      return true;
    }
    // 400/401/403/413: sending the same batch again would be refused again.
    this.#stats.dropped += events.length;
    this.#failed(failure);
    this.#consecutiveFailures = 0;
    return false;
  }

  #failed(error: unknown) {
    this.#stats.failedFlushes++;
    this.#consecutiveFailures++;
    this.#report(error);
  }

  /** A failed batch goes back in front; whatever no longer fits is the oldest, and is dropped. */
  #requeue(batch: (TelemetryEvent | PendingEvent)[]) {
    this.#buffer = batch.concat(this.#buffer);
    const excess = this.#buffer.length - this.#maxBuffered;
    if (excess > 0) {
      this.#buffer.splice(0, excess);
      this.#stats.dropped += excess;
    }
  }

  #schedule(delayMs: number) {
    if (this.#closed) return;
    this.#clearTimer();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, delayMs);
    // A pending flush must not keep a Node process alive (Workers return a number: no unref).
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #scheduleNext() {
    if (this.#flushIntervalMs > 0) this.#schedule(this.#flushIntervalMs);
  }

  #scheduleRetry() {
    if (this.#flushIntervalMs <= 0) return;
    const ceiling = Math.min(
      this.#maxRetryDelayMs,
      this.#flushIntervalMs * 2 ** Math.min(this.#consecutiveFailures, 20),
    );
    // Jitter, so many instances do not hit a recovering ingest at once.
    this.#schedule(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  #clearTimer() {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #report(error: unknown) {
    try {
      this.#onError?.(error);
    } catch {
      // The app's own error handler failing must not reach the app's call either.
    }
  }
}

/** The batch as sent: pending events built (one that fails to build is left out). */
function built(batch: (TelemetryEvent | PendingEvent)[]): TelemetryEvent[] {
  const events: TelemetryEvent[] = [];
  for (const item of batch) {
    if (typeof (item as Partial<PendingEvent>).event !== "function") {
      events.push(item as TelemetryEvent);
      continue;
    }
    try {
      events.push((item as PendingEvent).event());
    } catch {
      // A broken event must not hold back the batch (it would be retried forever).
    }
  }
  return events;
}

// The random part of this process's event ids, and the count the last 12 hex digits carry on.
let idPrefix = "";
let idCount = 0;
const ID_COUNT_END = 2 ** 48;

/**
 * A fresh event id in UUID v4 form: a random UUID once per process, then the same with its last
 * 48 bits counted up from their random start. As unique as random UUIDs (74 random bits tell
 * processes apart), for a fraction of the cost of `crypto.randomUUID()` on every call.
 */
export function eventId(): string {
  if (idPrefix === "" || idCount >= ID_COUNT_END) {
    const uuid = crypto.randomUUID();
    idPrefix = uuid.slice(0, 24);
    // Room for 2^47 ids before a new random prefix is drawn.
    idCount = Number.parseInt(uuid.slice(24), 16) % 2 ** 47;
    return uuid;
  }
  const hex = (++idCount).toString(16);
  return idPrefix + (hex.length < 12 ? "0".repeat(12 - hex.length) + hex : hex);
}

let isoSecond = Number.NaN;
let isoSecondPrefix = "";

/**
 * `new Date(ms).toISOString()` for an integer epoch time, formatting the date and time of day
 * once per second: the full formatting costs microseconds, a noticeable share of an observed
 * call's overhead, while calls in the same second share all but the milliseconds.
 */
export function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond || !Number.isInteger(ms)) {
    const iso = new Date(ms).toISOString();
    if (!Number.isInteger(ms)) return iso;
    isoSecond = second;
    // Everything up to and including the "." before the milliseconds (years past 9999 too).
    isoSecondPrefix = iso.slice(0, -4);
    return iso;
  }
  const millis = ms - second * 1000;
  return `${isoSecondPrefix}${millis < 10 ? "00" : millis < 100 ? "0" : ""}${millis}Z`;
}

/** JSON has no NaN or Infinity (they would arrive as null and be rejected): refuse them here. */
function checkValue(what: string, value: unknown) {
  const type = typeof value;
  if (type === "number" ? !Number.isFinite(value) : type !== "boolean" && type !== "string") {
    throw new TypeError(`${what}: ${String(value)} is not a finite number, a boolean or a string`);
  }
}

/** A call's error with its message cut to ingest's field limit, rather than the event rejected. */
export function boundedError(
  error: GenerationEvent["error"] | undefined,
): NonNullable<GenerationEvent["error"]> | null {
  return error?.message && error.message.length > ERROR_MESSAGE_MAX
    ? { ...error, message: error.message.slice(0, ERROR_MESSAGE_MAX) }
    : (error ?? null);
}

/**
 * Per price table, each model's price as a one-entry table, so `costOf` prices it by an exact
 * match instead of scanning every listed prefix on every call. Bounded: an app calling many
 * distinct model names only rebuilds entries.
 */
const priceTables = new WeakMap<object, Map<string, Readonly<Record<string, ModelPrice>> | null>>();
const PRICED_MODELS_MAX = 256;

function priced(
  model: string,
  prices: Readonly<Record<string, ModelPrice>>,
): Readonly<Record<string, ModelPrice>> | null {
  let models = priceTables.get(prices);
  if (models === undefined) {
    models = new Map();
    priceTables.set(prices, models);
  }
  let table = models.get(model);
  if (table === undefined) {
    const price = priceOf(model, prices);
    table = price ? { [model]: price } : null;
    if (models.size >= PRICED_MODELS_MAX) models.clear();
    models.set(model, table);
  }
  return table;
}

/**
 * A call's cost from a price table: by the model that answered (a dated snapshot prices as its
 * family by prefix), else by the model asked for; null when neither is priced. A table's price
 * for a model is looked up once: treat a price table as frozen once it has priced a call.
 */
export function generationCost(
  call: Pick<GenerationEvent, "model" | "responseModel" | "inputTokens" | "outputTokens">,
  prices: Readonly<Record<string, ModelPrice>>,
): number | null {
  if (call.inputTokens == null && call.outputTokens == null) return null;
  const byResponse = call.responseModel ? cost(call.responseModel, call, prices) : null;
  return byResponse ?? cost(call.model, call, prices);
}

function cost(
  model: string,
  call: Pick<GenerationEvent, "inputTokens" | "outputTokens">,
  prices: Readonly<Record<string, ModelPrice>>,
): number | null {
  const table = priced(model, prices);
  return table && costOf(model, call.inputTokens, call.outputTokens, table);
}
