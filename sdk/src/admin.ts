import type { components, paths } from "./admin-api";
import { errorFor, readProblem } from "./errors";
import {
  defaultTransport,
  type FetchFunction,
  type RetryPolicy,
  requestWithRetry,
} from "./transport";

/**
 * A client for the admin API (control plane), typed from its OpenAPI document: `admin-api.d.ts`
 * is generated from the admin worker's /api/openapi.json (`npm run generate:sdk` at the repository
 * root), so a changed route fails the type check here instead of at run time.
 */

export type AdminPrompt = components["schemas"]["Prompt"];
export type AdminVersion = components["schemas"]["Version"];
export type VersionInput = components["schemas"]["VersionInput"];
export type AdminLabel = components["schemas"]["Label"];
export type LabelMove = components["schemas"]["LabelMove"];
export type LabelChange = components["schemas"]["LabelChange"];
export type ExperimentResults = components["schemas"]["ExperimentResults"];

type Method = "get" | "post" | "put" | "patch" | "delete";
type Path = keyof paths;
type Operation<P extends Path, M extends Method> = NonNullable<paths[P][M]>;
type PathParams<O> = O extends { parameters: { path: infer X } } ? X : never;
type QueryParams<O> = O extends { parameters: { query?: infer X } } ? X : never;
type JsonBody<O> = O extends { requestBody?: { content: { "application/json": infer B } } }
  ? B
  : never;
type JsonOk<O> = O extends { responses: infer R }
  ? R extends { 200: { content: { "application/json": infer J } } }
    ? J
    : R extends { 201: { content: { "application/json": infer J } } }
      ? J
      : undefined
  : never;

interface CallOptions<O> {
  path: PathParams<O>;
  query?: QueryParams<O>;
  body?: JsonBody<O>;
}

export interface AdminClientOptions {
  /** The admin worker, e.g. https://cuecard.example.com (the API is under /api). */
  adminUrl: string;
  /** An API key: cc_editor_… (push), cc_publisher_… (promote, rollback) or cc_admin_…. */
  apiKey: string;
  timeoutMs?: number;
  fetch?: FetchFunction;
}

export class AdminClient {
  readonly #baseUrl: string;
  readonly #apiKey: string;
  readonly #transport;
  readonly #reads: RetryPolicy;
  readonly #writes: RetryPolicy;

  constructor(options: AdminClientOptions) {
    this.#baseUrl = `${options.adminUrl.replace(/\/+$/, "")}/api`;
    this.#apiKey = options.apiKey;
    this.#transport = { ...defaultTransport(), ...(options.fetch ? { fetch: options.fetch } : {}) };
    const timeoutMs = options.timeoutMs ?? 15_000;
    this.#reads = { retries: 2, baseDelayMs: 200, maxDelayMs: 2_000, timeoutMs };
    // A write that timed out may have been committed; retrying could make a second version.
    this.#writes = { ...this.#reads, retries: 0 };
  }

  /** Calls any admin route; the response type is the route's 2xx JSON. Throws on any error. */
  async call<P extends Path, M extends Method & keyof paths[P]>(
    method: M,
    path: P,
    options: CallOptions<Operation<P, M>>,
  ): Promise<JsonOk<Operation<P, M>>> {
    const params = (options.path ?? {}) as Record<string, string | number>;
    const filled = String(path).replace(/\{(\w+)\}/g, (_, name: string) =>
      encodeURIComponent(String(params[name])),
    );
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries((options.query ?? {}) as Record<string, unknown>)) {
      if (value !== undefined && value !== null) query.set(name, String(value));
    }
    const url = `${this.#baseUrl}${filled}${query.size > 0 ? `?${query}` : ""}`;
    const headers: Record<string, string> = { authorization: `Bearer ${this.#apiKey}` };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    const response = await requestWithRetry(
      this.#transport,
      method === "get" ? this.#reads : this.#writes,
      url,
      {
        method: method.toUpperCase(),
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      },
    );
    if (!response.ok) throw errorFor(response.status, await readProblem(response));
    if (response.status === 204) return undefined as JsonOk<Operation<P, M>>;
    return (await response.json()) as JsonOk<Operation<P, M>>;
  }

  /** Every active prompt of a project, all pages. */
  async listPrompts(project: string): Promise<AdminPrompt[]> {
    const prompts: AdminPrompt[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.call("get", "/v1/projects/{project}/prompts", {
        path: { project },
        query: { limit: 200, cursor },
      });
      prompts.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return prompts;
  }

  getPrompt(project: string, name: string): Promise<AdminPrompt> {
    return this.call("get", "/v1/projects/{project}/prompts/{name}", { path: { project, name } });
  }

  /** null when the prompt does not exist (the one 404 that is an answer, not an error). */
  async findPrompt(project: string, name: string): Promise<AdminPrompt | null> {
    try {
      return await this.getPrompt(project, name);
    } catch (error) {
      if (error instanceof Error && error.name === "PromptNotFoundError") return null;
      throw error;
    }
  }

  createPrompt(
    project: string,
    input: {
      name: string;
      type?: "text" | "chat";
      description?: string;
      tags?: string[];
      version?: VersionInput;
    },
  ) {
    return this.call("post", "/v1/projects/{project}/prompts", { path: { project }, body: input });
  }

  updatePrompt(project: string, name: string, patch: { description?: string; tags?: string[] }) {
    return this.call("patch", "/v1/projects/{project}/prompts/{name}", {
      path: { project, name },
      body: patch,
    });
  }

  async createVersion(project: string, name: string, input: VersionInput): Promise<AdminVersion> {
    return this.call("post", "/v1/projects/{project}/prompts/{name}/versions", {
      path: { project, name },
      body: input,
    });
  }

  async getVersion(project: string, name: string, version: number): Promise<AdminVersion> {
    return this.call("get", "/v1/projects/{project}/prompts/{name}/versions/{version}", {
      path: { project, name, version },
    });
  }

  /** Newest first, up to `limit`. */
  async listVersions(project: string, name: string, limit = 20): Promise<AdminVersion[]> {
    const page = await this.call("get", "/v1/projects/{project}/prompts/{name}/versions", {
      path: { project, name },
      query: { limit: Math.min(limit, 200) },
    });
    return page.items;
  }

  /** Every version of a prompt, oldest first, all pages. */
  async allVersions(project: string, name: string): Promise<AdminVersion[]> {
    const newestFirst: AdminVersion[] = [];
    let cursor: number | undefined;
    do {
      const page = await this.call("get", "/v1/projects/{project}/prompts/{name}/versions", {
        path: { project, name },
        query: { limit: 200, cursor },
      });
      newestFirst.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return newestFirst.reverse();
  }

  moveLabel(
    project: string,
    name: string,
    label: string,
    move: { version: number; expectedRev?: number | null },
  ): Promise<LabelChange> {
    return this.call("put", "/v1/projects/{project}/prompts/{name}/labels/{label}", {
      path: { project, name, label },
      body: move,
    });
  }

  rollbackLabel(
    project: string,
    name: string,
    label: string,
    options: { toVersion?: number; expectedRev?: number } = {},
  ): Promise<LabelChange> {
    return this.call("post", "/v1/projects/{project}/prompts/{name}/labels/{label}/rollback", {
      path: { project, name, label },
      body: options,
    });
  }

  async labelHistory(project: string, name: string, label: string, limit = 20) {
    const page = await this.call(
      "get",
      "/v1/projects/{project}/prompts/{name}/labels/{label}/history",
      { path: { project, name, label }, query: { limit: Math.min(limit, 200) } },
    );
    return page.items;
  }

  /** An experiment's per-variant statistics and decision, computed from telemetry now. */
  async experimentResults(
    project: string,
    id: string,
    options: { engine?: "frequentist" | "bayesian"; sequential?: boolean } = {},
  ): Promise<ExperimentResults> {
    return this.call("get", "/v1/projects/{project}/experiments/{id}/results", {
      path: { project, id },
      query: {
        ...(options.engine === undefined ? {} : { engine: options.engine }),
        ...(options.sequential === undefined
          ? {}
          : { sequential: options.sequential ? "true" : "false" }),
      },
    });
  }
}
