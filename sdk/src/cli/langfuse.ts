import { CuecardUnavailableError } from "../errors";
import {
  defaultTransport,
  type FetchFunction,
  type RetryPolicy,
  requestWithRetry,
  type Transport,
} from "../transport";

/**
 * A reader of one Langfuse project's prompts through Langfuse's public API (the two prompt reads
 * the Langfuse SDKs make), for `cuecard import langfuse`. It takes any base URL, so it reads
 * Langfuse Cloud, a self-hosted Langfuse, or any server that speaks the same API.
 */

/** One entry of `GET /api/public/v2/prompts`: a prompt's name and the versions it has. */
export interface LangfusePromptSummary {
  name: string;
  type: "text" | "chat";
  /** Ascending is not promised; there can be gaps where versions were deleted. */
  versions: number[];
  labels: string[];
  tags: string[];
}

/** `GET /api/public/v2/prompts/{name}?version=N`: one version, as Langfuse stores it. */
export interface LangfusePromptVersion {
  name: string;
  version: number;
  type: "text" | "chat";
  /** A template string, or chat messages: `{role, content}` and `{type: "placeholder", name}`. */
  prompt: string | Record<string, unknown>[];
  config: unknown;
  labels: string[];
  tags: string[];
  commitMessage: string | null;
}

/** Langfuse answered with an error: its body is `{message, error}` (e.g. `UnauthorizedError`). */
export class LangfuseApiError extends Error {
  override name = "LangfuseApiError";
  constructor(
    readonly status: number,
    message: string,
    /** Langfuse's error name, e.g. `LangfuseNotFoundError`. */
    readonly error: string | undefined,
  ) {
    super(message);
  }
}

/** Langfuse could not be reached, or kept answering 429/5xx after the retries. */
export class LangfuseUnavailableError extends Error {
  override name = "LangfuseUnavailableError";
}

export interface LangfusePromptsOptions {
  /** Where Langfuse is, e.g. https://cloud.langfuse.com; `/api/public/…` is appended. */
  baseUrl: string;
  publicKey: string;
  secretKey: string;
  fetch?: FetchFunction;
  /** Injectable so tests can skip the waits. */
  transport?: Partial<Transport>;
}

/** Langfuse's page size limit. */
const PAGE_LIMIT = 100;

export class LangfusePrompts {
  readonly #baseUrl: string;
  readonly #authorization: string;
  readonly #transport: Transport;
  // Reads only, so retrying is always safe. Langfuse rate-limits its public API per project
  // and says when to come back in Retry-After; its own SDKs wait up to a minute for it.
  readonly #policy: RetryPolicy = {
    retries: 3,
    baseDelayMs: 1_000,
    maxDelayMs: 60_000,
    timeoutMs: 30_000,
  };

  constructor(options: LangfusePromptsOptions) {
    this.#baseUrl = `${options.baseUrl.replace(/\/+$/, "")}/api/public`;
    this.#authorization = `Basic ${Buffer.from(`${options.publicKey}:${options.secretKey}`).toString("base64")}`;
    this.#transport = {
      ...defaultTransport(),
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...options.transport,
    };
  }

  async #get<T>(path: string): Promise<T> {
    const url = `${this.#baseUrl}${path}`;
    let response: Response;
    try {
      response = await requestWithRetry(this.#transport, this.#policy, url, {
        headers: { authorization: this.#authorization, accept: "application/json" },
      });
    } catch (error) {
      if (error instanceof CuecardUnavailableError) {
        throw new LangfuseUnavailableError(error.message, { cause: error });
      }
      throw error;
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!response.ok) {
      const { message, error } = (body ?? {}) as { message?: unknown; error?: unknown };
      throw new LangfuseApiError(
        response.status,
        typeof message === "string" && message !== ""
          ? message
          : `HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ""}`,
        typeof error === "string" ? error : undefined,
      );
    }
    if (body === undefined) {
      throw new LangfuseApiError(
        response.status,
        `${url} did not answer with JSON; is this a Langfuse URL?`,
        undefined,
      );
    }
    return body as T;
  }

  /** Every prompt of the project the keys belong to, all pages. */
  async listPrompts(): Promise<LangfusePromptSummary[]> {
    const prompts: LangfusePromptSummary[] = [];
    let totalPages = 1;
    for (let page = 1; page <= totalPages; page++) {
      const answer = await this.#get<{
        data: LangfusePromptSummary[];
        meta: { totalPages: number };
      }>(`/v2/prompts?page=${page}&limit=${PAGE_LIMIT}`);
      prompts.push(...answer.data);
      totalPages = answer.meta.totalPages;
    }
    return prompts;
  }

  /**
   * One version as stored: `resolve=false` keeps prompt references (`@@@langfusePrompt:…@@@`)
   * as written instead of inlining the prompts they point to.
   */
  getVersion(name: string, version: number): Promise<LangfusePromptVersion> {
    return this.#get(`/v2/prompts/${encodeURIComponent(name)}?version=${version}&resolve=false`);
  }

  /** The version a label points at, as an app reads it. */
  getLabel(name: string, label: string): Promise<LangfusePromptVersion> {
    return this.#get(
      `/v2/prompts/${encodeURIComponent(name)}?label=${encodeURIComponent(label)}&resolve=false`,
    );
  }
}
