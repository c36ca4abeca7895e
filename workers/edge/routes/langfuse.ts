import { isWellFormedKey } from "@cuecard/core/keys";
import {
  basicCredentials,
  LANGFUSE_API_VERSION,
  langfuseErrorResponse,
  langfuseNotFoundMessage,
  langfuseProblemResponse,
  langfusePublicKey,
} from "@cuecard/core/langfuse";
import { ProblemError } from "@cuecard/core/problem";
import { getPath, tryDecodeURIComponent } from "hono/utils/url";
import { setCorsHeaders } from "../cors";
import {
  type EdgeApp,
  type EdgeBindings,
  type EdgeContext,
  ISOLATE_HIT_TIMING,
  JSON_CONTENT_TYPE,
  promptNameOf,
  queryParams,
  setCacheHeaders,
} from "../http";
import type { CacheLayer } from "../isolate-cache";
import { telemetryIngestOf } from "../modules";
import {
  cachedLabel,
  cachedReadKey,
  cachedVersion,
  findReadKey,
  type ReadKey,
  type Resolved,
  resolveLabel,
  resolveVersion,
  type ServedPrompt,
  type ServedVersion,
} from "../prompt-store";
import { type Admission, admit, storeOf } from "../read-key-auth";
import { DEFAULT_SELECTOR, labelProblem, promptNameProblem, type Selector } from "../selectors";

/**
 * The Langfuse-compatible API (LANGFUSE.md): the official Langfuse SDKs work against this base URL
 * with a Cuecard key pair (core/langfuse.ts). Prompt reads are served here from the same KV records
 * and isolate cache as `/v1/prompts`; every other prompt operation is the admin worker's (ADMIN
 * binding), telemetry the telemetry worker's. Every error is Langfuse's `{message, error}`.
 */

const PROMPT_PREFIX = "/api/public/v2/prompts/";

type Waiting = Pick<ExecutionContext, "waitUntil">;

const langfuseError = (error: unknown): Response => langfuseProblemResponse(error);

/** The Basic pair's secret key, which must be a Cuecard key; v3's `Bearer <publicKey>` is a 403. */
function credentialsOf(headers: Headers) {
  const authorization = headers.get("authorization");
  const pair = basicCredentials(authorization);
  if (!pair) {
    if (/^bearer /i.test(authorization ?? "")) {
      throw new ProblemError(
        "forbidden",
        "Access denied - need to use basic auth with secret key to GET prompts",
      );
    }
    throw new ProblemError(
      "unauthorized",
      "Send the key pair as HTTP Basic credentials: publicKey pk-lf-… and secretKey cc_…",
    );
  }
  if (!isWellFormedKey(pair.secretKey)) {
    throw new ProblemError("unauthorized", "The secret key is not a Cuecard key (cc_<role>_…).");
  }
  return pair;
}

/** The key only when the public key names it: a pair whose halves disagree is unknown (401). */
const pairKey = (key: ReadKey | null | undefined, publicKey: string) =>
  key && langfusePublicKey(key.keyId) === publicKey ? key : null;

function langfuseAdmission(
  env: EdgeBindings,
  ctx: Waiting,
  headers: Headers,
): Admission | Promise<Admission> {
  const startedAt = performance.now();
  const { publicKey, secretKey } = credentialsOf(headers);
  const store = storeOf(env, ctx);
  const enter = ({ value, layer }: Resolved<ReadKey | null>) =>
    admit(
      env,
      store,
      { value: pairKey(value, publicKey), layer },
      headers.get("origin") ?? undefined,
      startedAt,
    );
  const found = findReadKey(store, secretKey);
  return found instanceof Promise ? found.then(enter) : enter(found);
}

/** `?version=N` or `?label=L` (default production); version 0 or empty counts as absent. */
function selectorOf(url: string): Selector {
  if (!url.includes("?")) return DEFAULT_SELECTOR;
  const { label, version } = queryParams(url);
  if (version !== undefined && version !== "" && version !== "0") {
    if (label !== undefined) {
      throw new ProblemError("bad_request", "Cannot specify both version and label");
    }
    if (!/^[1-9][0-9]{0,9}$/.test(version)) {
      throw new ProblemError("bad_request", "version must be a positive integer");
    }
    return { version: Number(version) };
  }
  return label ? { label } : DEFAULT_SELECTOR;
}

/** `?resolve=false`: the prompt as written, its reference tags unresolved. */
const unresolvedAsked = (url: string) => queryParams(url).resolve === "false";

/** Langfuse's prompt JSON, built once per cached version (the version belongs to one project). */
const bodies = new WeakMap<ServedVersion, string>();

/**
 * `resolve=false` asks for the version as written, its prompt reference tags unresolved: rare,
 * so built per request.
 */
function langfuseBody(served: ServedVersion, projectId: string, unresolved: boolean): string {
  let body = unresolved ? undefined : bodies.get(served);
  if (body === undefined) {
    const p = served.published;
    const labels = p.labels ?? (served.label ? [served.label] : []);
    body = JSON.stringify({
      id: `${p.hash}.v${p.version}`,
      name: p.name,
      version: p.version,
      type: p.type,
      prompt: unresolved ? (p.resolution?.authored ?? p.prompt) : p.prompt,
      config: p.config,
      labels,
      tags: p.tags ?? [],
      commitMessage: p.commitMessage,
      resolutionGraph: unresolved ? null : (p.resolution?.graph ?? null),
      createdAt: p.createdAt,
      updatedAt: p.createdAt,
      projectId,
      createdBy: "API",
      isActive: labels.includes("production"),
    });
    if (!unresolved) bodies.set(served, body);
  }
  return body;
}

/** An isolate hit's headers, whole: a hit without CORS sets none (see http.ts `versionHeaders`). */
const PROMPT_HEADERS = new Headers({
  "content-type": JSON_CONTENT_TYPE,
  "cuecard-cache": "hit",
  "server-timing": ISOLATE_HIT_TIMING,
});

function promptResponse(
  admission: Admission,
  name: string,
  selector: Selector,
  resolved: Resolved<ServedPrompt | null>,
  unresolved: boolean,
): Response {
  const prompt = resolved.value;
  const audience = { projectId: admission.readKey.projectId, name, unit: null };
  const served = prompt && !prompt.archivedAt && admission.delivery.assign(prompt, audience);
  if (!served) {
    throw new ProblemError(
      "not_found",
      langfuseNotFoundMessage(name, selector.version ?? selector.label),
    );
  }
  admission.delivery.served(served, audience, admission.store.waitUntil);
  const response = new Response(langfuseBody(served, audience.projectId, unresolved), {
    headers: PROMPT_HEADERS,
  });
  const layer: CacheLayer = resolved.layer === "isolate" ? admission.keyLayer : "kv";
  if (layer !== "isolate") setCacheHeaders(response.headers, layer, admission.startedAt);
  if (admission.allowOrigin !== undefined) setCorsHeaders(response.headers, admission.allowOrigin);
  return response;
}

/** A name or label Cuecard cannot hold is simply not found (the SDK then uses its fallback). */
const unservable = (name: string, selector: Selector) =>
  promptNameProblem(name) !== undefined ||
  (selector.label !== undefined && labelProblem(selector.label) !== undefined);

/**
 * `GET /api/public/v2/prompts/{name}` answered before Hono when the key and the prompt are in the
 * isolate cache, like `fastGetPrompt`; undefined for anything else, which the Hono route answers.
 * Only for GET requests (index.ts checks the method), `url` being the request's.
 */
export function fastLangfusePrompt(
  request: Request,
  url: string,
  env: EdgeBindings,
  ctx: ExecutionContext,
): Response | undefined {
  const name = promptNameOf(url, PROMPT_PREFIX);
  if (name === undefined) return undefined;
  try {
    const startedAt = performance.now();
    const headers = request.headers;
    const { publicKey, secretKey } = credentialsOf(headers);
    const store = storeOf(env, ctx);
    const readKey = pairKey(cachedReadKey(store, secretKey), publicKey);
    if (!readKey) return undefined;
    const selector = selectorOf(url);
    if (unservable(name, selector)) return undefined;
    const { projectId } = readKey;
    const prompt =
      selector.version === undefined
        ? cachedLabel(store, projectId, name, selector.label)
        : cachedVersion(store, projectId, name, selector.version);
    if (prompt === undefined) return undefined;
    const found = { value: readKey, layer: "isolate" as const };
    const admission = admit(env, store, found, headers.get("origin") ?? undefined, startedAt);
    return promptResponse(
      admission,
      name,
      selector,
      { value: prompt, layer: "isolate" },
      unresolvedAsked(url),
    );
  } catch {
    return undefined;
  }
}

async function getLangfusePrompt(request: Request, env: EdgeBindings, ctx: Waiting) {
  const admission = await langfuseAdmission(env, ctx, request.headers);
  const name = tryDecodeURIComponent(getPath(request).slice(PROMPT_PREFIX.length));
  const selector = selectorOf(request.url);
  const { store, readKey } = admission;
  const resolved = unservable(name, selector)
    ? { value: null, layer: "kv" as const }
    : await (selector.version === undefined
        ? resolveLabel(store, readKey.projectId, name, selector.label)
        : resolveVersion(store, readKey.projectId, name, selector.version));
  return promptResponse(admission, name, selector, resolved, unresolvedAsked(request.url));
}

/** Langfuse's score, ingestion and OTLP routes: the same paths on the telemetry worker. */
export const LANGFUSE_TELEMETRY_PATHS = [
  "/api/public/ingestion",
  "/api/public/scores",
  "/api/public/otel/v1/traces",
] as const;

async function sendTelemetry(request: Request, env: EdgeBindings, ctx: Waiting) {
  const { readKey } = await langfuseAdmission(env, ctx, request.headers);
  // Langfuse SDKs run on servers: a browser key's pair (public by nature) sends nothing.
  if (readKey.browser || !readKey.sendTelemetry) {
    throw new ProblemError(
      "telemetry_not_allowed",
      "This key may not send telemetry: use a server key created with sendTelemetry: true.",
    );
  }
  return telemetryIngestOf(env).ingest(request, readKey);
}

/**
 * Every other prompt operation (list, create, label moves, delete) is a cold path: the request
 * goes unchanged to the admin worker, which checks the key pair and answers in Langfuse's shape.
 */
async function toAdmin(request: Request, env: EdgeBindings) {
  if (!env.ADMIN) {
    throw new ProblemError(
      "unavailable",
      "This deployment does not serve Langfuse prompt writes: bind the admin worker to the edge as ADMIN (workers/edge/wrangler.toml).",
    );
  }
  return env.ADMIN.fetch(request).catch(() => {
    throw new ProblemError("unavailable", "The control plane is unavailable; retry shortly.");
  });
}

type LangfuseHandler = (
  request: Request,
  env: EdgeBindings,
  ctx: Waiting,
) => Response | Promise<Response>;

export function registerLangfuse(app: EdgeApp) {
  const route = (handler: LangfuseHandler) => async (c: EdgeContext) => {
    try {
      return await handler(c.req.raw, c.env, c.executionCtx);
    } catch (error) {
      return langfuseError(error);
    }
  };
  app.get("/api/public/health", () =>
    Response.json({ status: "OK", version: LANGFUSE_API_VERSION }),
  );
  app.get("/api/public/v2/prompts/:name", route(getLangfusePrompt));
  app.get("/api/public/v2/prompts", route(toAdmin));
  app.post("/api/public/v2/prompts", route(toAdmin));
  app.patch("/api/public/v2/prompts/:name/versions/:version", route(toAdmin));
  app.delete("/api/public/v2/prompts/:name", route(toAdmin));
  for (const path of LANGFUSE_TELEMETRY_PATHS) app.post(path, route(sendTelemetry));
  app.all("/api/public/*", (c) =>
    langfuseErrorResponse(
      c.req.path === "/api/public/health" ? 405 : 404,
      `There is no ${c.req.method} ${c.req.path}.`,
    ),
  );
}
