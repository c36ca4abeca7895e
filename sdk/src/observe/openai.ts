import {
  DEFAULT_MODEL_PRICES,
  type GenerationEvent,
  type ModelPrice,
  type TelemetryExperimentRef,
} from "@cuecard/core/telemetry";
import type { Attributes, Span } from "@opentelemetry/api";
import { ATTR, endGenerationSpan, spanIds, startGenerationSpan, tracingEnabled } from "./otel";
import {
  boundedError,
  eventId,
  experimentRefOf,
  generationCost,
  isoTime,
  type PendingEvent,
  type PromptLike,
  type Telemetry,
} from "./telemetry";

/**
 * `observeOpenAI(client, { telemetry })`: the official `openai` client (6.x or 7.x), observed in
 * place and returned as itself, so nothing about using it changes. `create()` still returns the
 * SDK's `APIPromise` (`withResponse()`, `asResponse()`), streams are still the SDK's `Stream`
 * (`tee()`, `controller`, `toReadableStream()`), and `withOptions()` clients are observed too.
 * Each `chat.completions.create` and `responses.create` becomes one GenerationEvent and one
 * OpenTelemetry span; the bookkeeping never throws into the call and adds no await to it.
 */

export interface ObserveOptions {
  /** Where events go. Without it only OpenTelemetry spans are made. */
  telemetry?: Telemetry;
  /** `gen_ai.provider.name`. Default `openai`; set it for OpenAI-compatible providers. */
  provider?: string;
  /** Prices (USD per million tokens) merged over the telemetry's (and DEFAULT_MODEL_PRICES). */
  prices?: Record<string, ModelPrice>;
}

/** What a call is linked to: the prompt it used, and who it was for. */
export interface CallLink {
  /** The Prompt `CuecardClient.getPrompt` returned (its experiment is read when present). */
  prompt?: PromptLike | null;
  /** The id the app assigns experiments by (a user, a session, an account). */
  unit?: string | null;
  /** Overrides the prompt's experiment. */
  experiment?: TelemetryExperimentRef | null;
}

/**
 * The request options `linkPrompt` returns. `cuecard` is taken off before the SDK sees the
 * options, so it never reaches the provider. (`headers?: undefined` makes this assignable to the
 * SDK's all-optional RequestOptions, which TypeScript otherwise refuses as having nothing in
 * common with it.)
 */
export interface LinkedRequestOptions {
  readonly cuecard: CallLink;
  readonly headers?: undefined;
  /**
   * The id of the GenerationEvent of the call made with these options: what
   * `telemetry.score(link, …)` attaches a score to. Set when `create()` is called (before the
   * answer comes), undefined until then; when the same options serve several calls, the last
   * one's. Merged options (`{ ...link, timeout }`) share it: read it from `link`.
   */
  readonly generationId: string | undefined;
}

/** What the caller linked, and the generation id the observed call writes back. */
class LinkState implements CallLink {
  readonly prompt: PromptLike | null | undefined;
  readonly unit: string | null | undefined;
  readonly experiment: TelemetryExperimentRef | null | undefined;
  generationId: string | undefined = undefined;
  constructor(prompt: PromptLike | null | undefined, link: Omit<CallLink, "prompt">) {
    this.prompt = prompt;
    this.unit = link.unit;
    this.experiment = link.experiment;
  }
}

/**
 * `cuecard` is its only own property, so a spread copies just that (the shared LinkState);
 * `generationId` is a getter on the prototype, so it never reaches the SDK's options.
 */
class PromptLink implements LinkedRequestOptions {
  readonly cuecard: LinkState;
  declare readonly headers?: undefined;
  constructor(cuecard: LinkState) {
    this.cuecard = cuecard;
  }
  get generationId(): string | undefined {
    return this.cuecard.generationId;
  }
}

/**
 * The one extra argument that links a call to its prompt:
 * `openai.chat.completions.create(body, linkPrompt(prompt))`, or with other request options
 * `{ ...linkPrompt(prompt, { unit: user.id }), timeout: 5_000 }`. Keep it to score the call:
 * `telemetry.score(link, "thumbs", true)`.
 */
export function linkPrompt(
  prompt: PromptLike | null | undefined,
  link: Omit<CallLink, "prompt"> = {},
): LinkedRequestOptions {
  return new PromptLink(new LinkState(prompt, link));
}

// Any function that is a create method, whatever the SDK version's overloads.
// biome-ignore lint/suspicious/noExplicitAny: the SDK's own parameter types differ per version.
type CreateMethod = (body: any, options?: any) => any;

/** The parts of an `openai` client this wraps (structural, so 6.x and 7.x clients both fit). */
export interface OpenAILike {
  chat: { completions: { create: CreateMethod } };
  responses: { create: CreateMethod };
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  withOptions(options: any): any;
}

const OBSERVED = Symbol.for("@cuecard/sdk/observed");

type Operation = "chat" | "responses";

interface ObserveContext {
  telemetry: Telemetry | undefined;
  provider: string;
  /** Only when the caller overrode prices; otherwise the telemetry prices the event. */
  prices: Readonly<Record<string, ModelPrice>> | undefined;
}

export function observeOpenAI<T extends OpenAILike>(client: T, options: ObserveOptions = {}): T {
  if ((client as unknown as Record<symbol, unknown>)[OBSERVED]) return client;
  const context: ObserveContext = {
    telemetry: options.telemetry,
    provider: options.provider ?? "openai",
    prices: options.prices
      ? { ...(options.telemetry?.prices ?? DEFAULT_MODEL_PRICES), ...options.prices }
      : undefined,
  };
  patchCreate(client.chat.completions, "chat", context, client);
  if (client.responses) patchCreate(client.responses, "responses", context, client);
  const withOptions = client.withOptions;
  // withOptions builds a fresh client of the same class: observe that one too.
  define(client, "withOptions", function observedWithOptions(this: T, ...args: unknown[]) {
    return observeOpenAI(withOptions.apply(this, args as [unknown]), options);
  });
  define(client, OBSERVED, true);
  return client;
}

function define(target: object, key: PropertyKey, value: unknown) {
  Object.defineProperty(target, key, {
    value,
    writable: true,
    configurable: true,
    enumerable: false,
  });
}

interface ApiPromiseLike {
  _thenUnwrap(transform: (data: unknown) => unknown): unknown;
  // A plain field in 6.x and 7.x (set by the constructor): turns the response into the result.
  parseResponse?: (...args: unknown[]) => PromiseLike<unknown>;
  // Private in the SDK's types but a plain field in 6.x and 7.x: the request before parsing.
  // Watching it sees failures without parsing the body (which would break `asResponse()`).
  responsePromise?: PromiseLike<unknown>;
}

function patchCreate(
  resource: { create: CreateMethod },
  operation: Operation,
  context: ObserveContext,
  client: object,
) {
  const original = resource.create;
  define(
    resource,
    "create",
    function observedCreate(this: unknown, body: unknown, requestOptions?: unknown) {
      let call: GenerationCall;
      let sentBody = body;
      let sentOptions = requestOptions;
      let stripUsage = false;
      try {
        let link: CallLink | undefined;
        if (requestOptions instanceof PromptLink) {
          // `linkPrompt(…)` as the options, alone: nothing else for the SDK.
          link = requestOptions.cuecard;
          sentOptions = undefined;
        } else if (isPlainOptions(requestOptions) && "cuecard" in requestOptions) {
          const { cuecard, ...rest } = requestOptions as { cuecard?: CallLink };
          link = cuecard ?? undefined;
          sentOptions = Object.keys(rest).length > 0 ? rest : undefined;
        }
        const request = (body ?? {}) as {
          model?: unknown;
          stream?: unknown;
          stream_options?: { include_usage?: boolean } | null;
        };
        const stream = request.stream === true;
        // Chat streams carry usage only when asked; ask, and hide the extra chunk from the caller.
        if (operation === "chat" && stream && request.stream_options?.include_usage !== true) {
          sentBody = {
            ...request,
            stream_options: { ...request.stream_options, include_usage: true },
          };
          stripUsage = true;
        }
        call = new GenerationCall(
          context,
          operation,
          String(request.model ?? ""),
          stream,
          stripUsage,
          link,
        );
        if (link instanceof LinkState) link.generationId = call.id;
      } catch {
        return original.call(this, body, requestOptions);
      }
      let promise: ApiPromiseLike;
      try {
        promise = original.call(this, sentBody, sentOptions);
      } catch (error) {
        call.end(error);
        throw error;
      }
      try {
        const observe = (result: unknown) => {
          try {
            if (call.stream) return observedStream(result, call, client);
            call.completed(operation, result);
          } catch {
            // Telemetry must never change what the caller gets.
          }
          return result;
        };
        promise.responsePromise?.then(undefined, (error: unknown) => call.end(error));
        const parse = promise.parseResponse;
        if (typeof parse !== "function") return promise._thenUnwrap(observe);
        // The caller's own APIPromise, its parse step observed: no second APIPromise and async
        // step per call, as `_thenUnwrap` would add. Parsing still starts only when the caller
        // awaits (or calls `withResponse()`), so `asResponse()` keeps the body unread.
        promise.parseResponse = function observedParse(this: unknown, ...args: unknown[]) {
          return parse.apply(this, args).then(observe, (error: unknown) => {
            call.end(error);
            throw error;
          });
        };
        return promise;
      } catch {
        return promise;
      }
    },
  );
}

function isPlainOptions(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { then?: unknown }).then !== "function"
  );
}

interface StreamLike {
  controller: AbortController;
  /** A plain field in 6.x and 7.x: makes the iterator `[Symbol.asyncIterator]()` returns. */
  iterator?: () => AsyncIterator<unknown>;
  [Symbol.asyncIterator](): AsyncIterator<unknown>;
}

/**
 * The caller's stream: the SDK's own Stream, its iterator observed. The Stream's `iterator`
 * field is what iterating, `tee()` and `toReadableStream()` all read (6.x and 7.x; 7.x's own
 * helpers decorate it the same way), so replacing it observes every way of reading without a
 * second Stream per call. Without that field, a new Stream of the same class wraps the source.
 */
function observedStream(result: unknown, call: GenerationCall, client: object): unknown {
  const source = result as StreamLike;
  const iterate = source.iterator;
  if (typeof iterate === "function") {
    source.iterator = function observedIterator(this: unknown) {
      return new ObservedIterator(iterate.call(this), call);
    };
    return source;
  }
  // The Stream class of the SDK copy that made this client (6.x and 7.x share its constructor).
  const StreamClass = source.constructor as new (
    iterator: () => AsyncIterator<unknown>,
    controller: AbortController,
    client?: unknown,
  ) => unknown;
  return new StreamClass(
    () => new ObservedIterator(source[Symbol.asyncIterator](), call),
    source.controller,
    client,
  );
}

/**
 * The source's iterator with each item shown to the call (which may hide it: the usage chunk
 * asked for on the caller's behalf). A plain iterator object rather than an async generator
 * layer, with its methods on the prototype: per chunk this costs one await of the SDK's own
 * promise and no closure, where a generator adds its own queue and promises. Hiding a chunk is
 * reading the next one in the same `next()`. `return()` (an early `break`, `tee()` or
 * `toReadableStream()` cancelling) ends the call as cancelled and passes on to the source,
 * which aborts the request.
 */
class ObservedIterator implements AsyncIterator<unknown> {
  readonly #inner: AsyncIterator<unknown>;
  readonly #call: GenerationCall;

  constructor(inner: AsyncIterator<unknown>, call: GenerationCall) {
    this.#inner = inner;
    this.#call = call;
  }

  async next(): Promise<IteratorResult<unknown>> {
    const call = this.#call;
    for (;;) {
      let result: IteratorResult<unknown>;
      try {
        result = await this.#inner.next();
      } catch (error) {
        call.end(error);
        throw error;
      }
      if (result.done) {
        call.end();
        return result;
      }
      if (call.shown(result.value)) return result;
    }
  }

  return(value?: unknown): Promise<IteratorResult<unknown>> {
    this.#call.end(undefined, true);
    const inner = this.#inner;
    return inner.return
      ? inner.return(value)
      : Promise.resolve({ done: true as const, value: undefined });
  }

  throw(error?: unknown): Promise<IteratorResult<unknown>> {
    this.#call.end(error);
    const inner = this.#inner;
    return inner.throw ? inner.throw(error) : Promise.reject(error);
  }
}

interface ChatChunk {
  id?: string;
  model?: string;
  choices?: { index?: number; finish_reason?: string | null }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
}

/** One chat chunk's part of the record; false for the usage chunk asked for on the caller's behalf. */
function observeChatChunk(chunk: ChatChunk, call: GenerationCall, stripUsage: boolean): boolean {
  call.chunk();
  if (!chunk) return true;
  if (chunk.id) call.responseId = chunk.id;
  if (chunk.model) call.responseModel = chunk.model;
  const choices = chunk.choices;
  if (choices) {
    for (const choice of choices) {
      if (choice.finish_reason) call.finishReasons[choice.index ?? 0] = choice.finish_reason;
    }
  }
  if (chunk.usage) {
    call.inputTokens = chunk.usage.prompt_tokens ?? null;
    call.outputTokens = chunk.usage.completion_tokens ?? null;
    if (stripUsage && choices?.length === 0) return false;
  }
  return true;
}

interface ResponseEvent {
  type?: string;
  response?: {
    id?: string;
    model?: string;
    status?: string;
    incomplete_details?: { reason?: string } | null;
    error?: { code?: string; message?: string } | null;
    usage?: { input_tokens?: number; output_tokens?: number } | null;
  };
}

function observeResponseEvent(event: ResponseEvent, call: GenerationCall): boolean {
  const type = event?.type;
  // `response.created` comes before the model produced anything: the first token is the
  // first delta.
  if (type?.endsWith(".delta")) call.chunk();
  const response = event?.response;
  if (response) {
    if (response.id) call.responseId = response.id;
    if (response.model) call.responseModel = response.model;
    if (
      type === "response.completed" ||
      type === "response.incomplete" ||
      type === "response.failed"
    ) {
      call.responseFinished(response);
    }
  }
  return true;
}

/**
 * One observed call: its timings and what the answer said, until it is recorded once. Ending it
 * only takes the time and buffers the call itself: its GenerationEvent (the ISO timestamp, the
 * cost, the object sent) is built when the telemetry sends it, off the caller's path.
 */
class GenerationCall implements PendingEvent {
  readonly stream: boolean;
  /** The usage chunk was asked for on the caller's behalf: hide it. */
  readonly #stripUsage: boolean;
  readonly #context: ObserveContext;
  readonly #operation: Operation;
  readonly #model: string;
  readonly #link: CallLink | undefined;
  readonly #startedAt = performance.now();
  readonly #startedAtEpoch = Date.now();
  /** Cleared once ended, so a buffered call does not hold its span. */
  #span: Span | undefined;
  readonly #traceId: string | null = null;
  readonly #spanId: string | null = null;
  /**
   * The event's id, known from the start so a score can name the call before it ends. A traced
   * call takes its span's id, the one OTLP ingest gives that span (`traceId:spanId`): an app
   * that also exports its spans to Cuecard has the call counted once, whichever arrives first.
   * Untraced calls get a fresh UUID (none without a sink: nothing could be scored).
   */
  readonly id: string | undefined;
  #firstChunkAt: number | undefined;
  #endedAt: number | undefined;
  #cancelled = false;
  #failure: GenerationEvent["error"] = null;
  responseId: string | null = null;
  responseModel: string | null = null;
  finishReasons: string[] = [];
  inputTokens: number | null = null;
  outputTokens: number | null = null;

  constructor(
    context: ObserveContext,
    operation: Operation,
    model: string,
    stream: boolean,
    stripUsage: boolean,
    link: CallLink | undefined,
  ) {
    this.#context = context;
    this.#operation = operation;
    this.#model = model;
    this.stream = stream;
    this.#stripUsage = stripUsage;
    this.#link = link;
    this.#span = tracingEnabled()
      ? startGenerationSpan(`${operation} ${model}`, this.#startAttributes(context.provider))
      : undefined;
    const ids = spanIds(this.#span);
    if (ids) {
      this.#traceId = ids.traceId;
      this.#spanId = ids.spanId;
      this.id = `${ids.traceId}:${ids.spanId}`;
    } else {
      this.id = context.telemetry ? eventId() : undefined;
    }
  }

  #startAttributes(provider: string): Attributes {
    const attributes: Attributes = {
      [ATTR.operationName]: this.#operation,
      [ATTR.providerName]: provider,
      [ATTR.requestModel]: this.#model,
      [ATTR.requestStream]: this.stream,
    };
    const prompt = this.#link?.prompt;
    if (prompt) {
      attributes[ATTR.promptName] = prompt.name;
      attributes[ATTR.langfusePromptName] = prompt.name;
      attributes[ATTR.langfusePromptVersion] = prompt.version;
      attributes[ATTR.cuecardPromptVersion] = prompt.version;
      if (prompt.label) attributes[ATTR.cuecardPromptLabel] = prompt.label;
    }
    const experiment = this.#experiment();
    if (experiment) {
      attributes[ATTR.featureFlagKey] = experiment.key;
      attributes[ATTR.featureFlagVariant] = experiment.variant;
      attributes[ATTR.featureFlagProvider] = "cuecard";
    }
    return attributes;
  }

  #experiment(): TelemetryExperimentRef | null {
    return this.#link?.experiment ?? experimentRefOf(this.#link?.prompt?.experiment);
  }

  chunk() {
    if (this.#firstChunkAt === undefined) this.#firstChunkAt = performance.now();
  }

  /** One streamed item's part of the record; false when the caller must not see it. */
  shown(item: unknown): boolean {
    try {
      return this.#operation === "chat"
        ? observeChatChunk(item as ChatChunk, this, this.#stripUsage)
        : observeResponseEvent(item as ResponseEvent, this);
    } catch {
      // Telemetry must never change what the caller gets.
      return true;
    }
  }

  /** A non-streamed answer. */
  completed(operation: Operation, result: unknown) {
    if (operation === "chat") {
      const completion = result as {
        id?: string;
        model?: string;
        choices?: { finish_reason?: string | null }[];
        usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
      };
      this.responseId = completion.id ?? null;
      this.responseModel = completion.model ?? null;
      for (const choice of completion.choices ?? []) {
        if (choice.finish_reason) this.finishReasons.push(choice.finish_reason);
      }
      this.inputTokens = completion.usage?.prompt_tokens ?? null;
      this.outputTokens = completion.usage?.completion_tokens ?? null;
    } else {
      this.responseFinished(result as NonNullable<ResponseEvent["response"]>);
    }
    this.end();
  }

  /** A Responses API `response`, complete or not. Its status is the finish reason. */
  responseFinished(response: NonNullable<ResponseEvent["response"]>) {
    this.responseId = response.id ?? this.responseId;
    this.responseModel = response.model ?? this.responseModel;
    const reason = response.incomplete_details?.reason ?? response.status;
    if (reason) this.finishReasons = [reason];
    this.inputTokens = response.usage?.input_tokens ?? null;
    this.outputTokens = response.usage?.output_tokens ?? null;
    if (response.status === "failed") {
      this.#failure = {
        type: response.error?.code ?? "response.failed",
        status: null,
        message: response.error?.message ?? null,
      };
    }
  }

  /** Records the call, once: on success, on `error`, or `cancelled` by the caller. */
  end(error?: unknown, cancelled = false) {
    if (this.#endedAt !== undefined) return;
    this.#endedAt = performance.now();
    try {
      if (error !== undefined) this.#failure = describeError(error);
      this.#cancelled = cancelled;
      if (this.#span) {
        endGenerationSpan(this.#span, {
          responseId: this.responseId,
          responseModel: this.responseModel,
          finishReasons: this.finishReasons.filter(Boolean),
          timeToFirstChunkMs: this.#timeToFirstChunkMs(),
          inputTokens: this.inputTokens,
          outputTokens: this.outputTokens,
          error: this.#failure,
        });
        this.#span = undefined;
      }
      if (this.id !== undefined) this.#context.telemetry?.record(this);
    } catch {
      // Never into the app.
    }
  }

  #timeToFirstChunkMs(): number | null {
    return this.#firstChunkAt === undefined ? null : round(this.#firstChunkAt - this.#startedAt);
  }

  /** The event as sent, built by the telemetry at flush (the same every time: nothing changes once ended). */
  event(): GenerationEvent {
    const link = this.#link;
    const prompt = link?.prompt;
    const responseModel = this.responseModel;
    const inputTokens = this.inputTokens;
    const outputTokens = this.outputTokens;
    const failure = this.#failure;
    // A caller that stops reading after the last choice still got a finished answer.
    const finishReason =
      this.finishReasons[0] ?? (this.#cancelled && !failure ? "cancelled" : null);
    // In one literal (what `recordGeneration` would build from the same fields, without its
    // second copy).
    return {
      type: "generation",
      id: this.id as string,
      timestamp: isoTime(this.#startedAtEpoch),
      prompt: prompt
        ? { name: prompt.name, version: prompt.version, label: prompt.label ?? null }
        : null,
      experiment: this.#experiment(),
      unit: link?.unit ?? null,
      provider: this.#context.provider,
      operation: this.#operation,
      model: this.#model,
      responseModel,
      stream: this.stream,
      latencyMs: round((this.#endedAt ?? this.#startedAt) - this.#startedAt),
      timeToFirstTokenMs: this.stream ? this.#timeToFirstChunkMs() : null,
      inputTokens,
      outputTokens,
      costUsd: generationCost(
        { model: this.#model, responseModel, inputTokens, outputTokens },
        this.#context.prices ?? (this.#context.telemetry as Telemetry).prices,
      ),
      finishReason,
      error: boundedError(failure),
      traceId: this.#traceId,
      spanId: this.#spanId,
    };
  }
}

/** `error.type` is the SDK's error class (RateLimitError, InternalServerError, …). */
function describeError(error: unknown): NonNullable<GenerationEvent["error"]> {
  const details = (error ?? {}) as { status?: unknown; message?: unknown; name?: unknown };
  const className = (error as { constructor?: { name?: string } } | null)?.constructor?.name;
  const type =
    className && className !== "Object"
      ? className
      : typeof details.name === "string"
        ? details.name
        : "Error";
  return {
    type,
    status: typeof details.status === "number" ? details.status : null,
    message: typeof details.message === "string" ? details.message : String(error),
  };
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
