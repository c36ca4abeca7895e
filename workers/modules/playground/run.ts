import {
  MODEL_NAME_MAX,
  PLAYGROUND_TIMEOUT_MS,
  PLAYGROUND_VALUES_MAX_BYTES,
} from "@cuecard/core/limits";
import { ProblemError } from "@cuecard/core/problem";
import {
  type ChatMessage,
  isPlaceholder,
  type PromptContent,
  utf8Bytes,
  type VariableSpec,
} from "@cuecard/core/prompt";
import { RenderError, renderPrompt } from "@cuecard/core/template";
import { z } from "@hono/zod-openapi";
import OpenAI from "openai";
// The SDK from its sources: inside this repository it is not built (its package exports dist/).
import { linkPrompt, observeOpenAI, Telemetry } from "../../../sdk/src/observe/index";
import type { ReadContext } from "../../platform/context";
import { validInput } from "../../platform/fields";
import { requireAccess } from "../access/access";
import type { PromptRow } from "../prompts/prompts";
import { getVersion, type VersionView } from "../prompts/versions";
import { type ProviderDeps, providerConnection } from "./provider";

/**
 * A playground run: one prompt version, rendered with the values someone typed, sent to the
 * project's model provider with the real `openai` client wrapped by the observed client, so the
 * run is recorded as a generation of that version (it shows in the prompt's metrics like any
 * production call). The answer is yielded as it streams in.
 */

/** What a run takes; `runVersion` checks it. */
export const RunInput = z.strictObject({
  values: z
    .record(z.string(), z.unknown())
    .refine((values) => utf8Bytes(JSON.stringify(values)) <= PLAYGROUND_VALUES_MAX_BYTES, {
      message: `are larger than ${PLAYGROUND_VALUES_MAX_BYTES} bytes as JSON`,
    }),
  model: z.string().trim().max(MODEL_NAME_MAX).optional(),
});

export type RunEvent =
  | { type: "start"; version: number; model: string }
  | { type: "delta"; text: string }
  | {
      type: "done";
      model: string;
      latencyMs: number;
      timeToFirstTokenMs: number | null;
      inputTokens: number | null;
      outputTokens: number | null;
      finishReason: string | null;
    }
  | { type: "error"; message: string; status: number | null };

export interface RunDeps extends ProviderDeps {
  /** The TELEMETRY service binding; absent, runs are not recorded. */
  telemetry: Fetcher | undefined;
  /** Keeps the telemetry flush alive after the response has ended (`ctx.waitUntil`). */
  waitUntil: (promise: Promise<unknown>) => void;
}

/**
 * The headers the telemetry worker trusts to say whose events these are (PROJECT_ID_HEADER and
 * KEY_ID_HEADER in workers/telemetry/http.ts). Only service bindings reach that worker, and
 * this worker sets them itself, as the edge does for read keys.
 */
const TRUSTED_PROJECT_HEADER = "cuecard-project-id";
const TRUSTED_KEY_HEADER = "cuecard-key-id";

const REDACTED = "[redacted]";

/** Every spelling of the key a message could carry (as is, and JSON-escaped) → [redacted]. */
export function redactKey(text: string, apiKey: string): string {
  if (apiKey === "") return text;
  const escaped = JSON.stringify(apiKey).slice(1, -1);
  return text.replaceAll(apiKey, REDACTED).replaceAll(escaped, REDACTED);
}

/**
 * The observed client's sink, sending to the telemetry worker over its binding with this
 * project's identity. The body is scrubbed of the key on its way out: a provider that echoes
 * the key in an error message must not get it into telemetry.
 */
function telemetrySink(service: Fetcher, projectId: string, sender: string, apiKey: string) {
  return new Telemetry({
    baseUrl: "https://telemetry.internal",
    // The sink wants a key; the binding's trusted headers replace it below.
    apiKey: "service-binding",
    flushIntervalMs: 0,
    fetch: (input, init) => {
      const headers = new Headers(init?.headers);
      headers.delete("authorization");
      headers.set(TRUSTED_PROJECT_HEADER, projectId);
      headers.set(TRUSTED_KEY_HEADER, sender);
      const body = typeof init?.body === "string" ? redactKey(init.body, apiKey) : init?.body;
      return service.fetch(input, { ...init, headers, body });
    },
    onError: (error) => console.error("playground telemetry not sent", String(error)),
  });
}

/**
 * What the model is sent. A role is any string the author chose: the provider, not Cuecard,
 * decides which it takes, so the messages go as written.
 */
function messagesOf(content: PromptContent): OpenAI.Chat.ChatCompletionMessageParam[] {
  const messages: ChatMessage[] =
    typeof content === "string"
      ? [{ role: "user", content }]
      : content.filter((item): item is ChatMessage => !isPlaceholder(item));
  return messages as OpenAI.Chat.ChatCompletionMessageParam[];
}

/** The model parameters of a version's config a chat completion takes as they are. */
const PASSED_PARAMETERS = [
  "temperature",
  "top_p",
  "max_tokens",
  "max_completion_tokens",
  "presence_penalty",
  "frequency_penalty",
  "stop",
  "seed",
] as const;

function parametersOf(config: Record<string, unknown>): Record<string, unknown> {
  const chosen: Record<string, unknown> = {};
  for (const name of PASSED_PARAMETERS) if (config[name] !== undefined) chosen[name] = config[name];
  return chosen;
}

/** What the person sees when the provider fails: what happened and what to do, never the key. */
export function describeProviderError(
  error: unknown,
  origin: string,
  apiKey: string,
): { message: string; status: number | null } {
  const said = (e: { message?: unknown }) =>
    typeof e.message === "string" && e.message !== ""
      ? ` It said: ${redactKey(e.message, apiKey)}`
      : "";
  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return { message: `The model provider at ${origin} did not answer in time.`, status: null };
  }
  if (error instanceof OpenAI.APIConnectionError) {
    return {
      message: `The model provider at ${origin} could not be reached (network error). Check its base URL in Settings → Model provider.`,
      status: null,
    };
  }
  if (error instanceof OpenAI.APIError && typeof error.status === "number") {
    const status = error.status;
    const body = (error.error ?? {}) as { message?: unknown };
    const hint =
      status === 401 || status === 403
        ? "The provider refused the API key. An admin can enter a valid key in Settings → Model provider."
        : status === 404
          ? "The provider does not know this model or path: check the model name and the base URL."
          : status === 429
            ? "The provider is rate limiting this key. Wait a moment and run again."
            : status >= 500
              ? "The provider failed on its side. Try again in a moment."
              : "The provider refused the request.";
    return { message: `HTTP ${status} from the model provider. ${hint}${said(body)}`, status };
  }
  console.error("playground run failed", redactKey(String(error), apiKey));
  return { message: "The run failed unexpectedly. Try again in a moment.", status: null };
}

export interface PreparedRun {
  version: VersionView;
  model: string;
  events: AsyncGenerator<RunEvent>;
}

/**
 * Checks everything that can be checked before calling the provider (access, the version, the
 * render, the provider's settings) and throws a ProblemError for it; then the events of the call.
 */
export async function runVersion(
  ctx: ReadContext,
  prompt: PromptRow,
  versionNumber: number,
  fields: unknown,
  deps: RunDeps,
): Promise<PreparedRun> {
  // Runs cost the project money: the people who write prompts may make them.
  requireAccess(ctx.actor, prompt.projectId, "prompts:write");
  const input = validInput(RunInput, fields);
  const version = await getVersion(ctx, prompt, versionNumber);
  let rendered: PromptContent;
  try {
    // The playground has no conversation to fill placeholders with: they stay, then drop out
    // of what the model is sent (an empty history).
    rendered = renderPrompt(
      version.prompt,
      version.variables as VariableSpec[],
      input.values,
      {},
      "keep",
    );
  } catch (error) {
    if (!(error instanceof RenderError)) throw error;
    throw new ProblemError(
      "validation_failed",
      `This version cannot be rendered: ${error.message}.`,
      {
        errors: error.problems.missing.map((name) => ({
          field: `body.values.${name}`,
          message: "is required",
        })),
      },
    );
  }
  const connection = await providerConnection(ctx.db, prompt.projectId, deps);
  const configModel = typeof version.config.model === "string" ? version.config.model : undefined;
  const model = input.model || configModel || connection.defaultModel;
  const sender = `playground:${ctx.actor.id}`;
  const telemetry = deps.telemetry
    ? telemetrySink(deps.telemetry, prompt.projectId, sender, connection.apiKey)
    : undefined;
  const client = observeOpenAI(
    new OpenAI({
      apiKey: connection.apiKey,
      baseURL: connection.baseUrl,
      // The person is waiting and watching: one attempt, and its error shown at once.
      maxRetries: 0,
      timeout: PLAYGROUND_TIMEOUT_MS,
    }),
    { telemetry, provider: new URL(connection.baseUrl).hostname },
  );
  const origin = new URL(connection.baseUrl).origin;

  async function* events(): AsyncGenerator<RunEvent> {
    const started = Date.now();
    let firstToken: number | null = null;
    let usage: { prompt_tokens?: number; completion_tokens?: number } | undefined;
    let finishReason: string | null = null;
    let answeredModel = model;
    yield { type: "start", version: version.version, model };
    try {
      const stream = await client.chat.completions.create(
        {
          ...parametersOf(version.config),
          model,
          messages: messagesOf(rendered),
          stream: true,
          stream_options: { include_usage: true },
        },
        linkPrompt({ name: prompt.name, version: version.version, label: null }),
      );
      for await (const chunk of stream) {
        if (chunk.model) answeredModel = chunk.model;
        if (chunk.usage) usage = chunk.usage;
        const choice = chunk.choices[0];
        if (choice?.finish_reason) finishReason = choice.finish_reason;
        const text = choice?.delta?.content;
        if (text) {
          firstToken ??= Date.now() - started;
          yield { type: "delta", text };
        }
      }
      yield {
        type: "done",
        model: answeredModel,
        latencyMs: Date.now() - started,
        timeToFirstTokenMs: firstToken,
        inputTokens: usage?.prompt_tokens ?? null,
        outputTokens: usage?.completion_tokens ?? null,
        finishReason,
      };
    } catch (error) {
      yield { type: "error", ...describeProviderError(error, origin, connection.apiKey) };
    } finally {
      if (telemetry) deps.waitUntil(telemetry.flush());
    }
  }

  return { version, model, events: events() };
}
