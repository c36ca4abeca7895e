import { ProblemError } from "@cuecard/core/problem";
import { registerPreflight } from "../cors";
import { parseUnit, UNIT_HEADER, withDefinition } from "../experiments";
import {
  type EdgeApp,
  type EdgeBindings,
  type EdgeContext,
  promptNameOf,
  queryParams,
  servedVersionResponse,
  slowerLayer,
} from "../http";
import {
  cachedLabel,
  cachedVersion,
  type Resolved,
  resolveLabel,
  resolveVersion,
  type ServedPrompt,
} from "../prompt-store";
import {
  type Admission,
  admissionOf,
  admit,
  authorizeReadKey,
  cachedReadKeyOf,
  storeOf,
} from "../read-key-auth";
import {
  checkPromptName,
  DEFAULT_SELECTOR,
  parseSelector,
  promptNameProblem,
  type Selector,
  validationFailed,
} from "../selectors";

type Resolution = Resolved<ServedPrompt | null>;

/** What a `GET /v1/prompts/{name}` asks for, from its query and `Cuecard-Unit`. */
interface PromptQuery {
  selector: Selector;
  unit: string | null;
  definition: "1" | "0" | undefined;
}

/** No query string and no unit (most reads): the default label, nothing else. */
const PLAIN_READ: PromptQuery = { selector: DEFAULT_SELECTOR, unit: null, definition: undefined };

/** The query (http.ts `queryParams`) and the unit header, checked. */
function parsePromptQuery(url: string, unitHeader: string | undefined): PromptQuery {
  // Most reads carry no query string: skip parsing it at all.
  if (!url.includes("?")) {
    const unit = unitHeader === undefined ? null : parseUnit([["header.cuecard-unit", unitHeader]]);
    return unit === null ? PLAIN_READ : { ...PLAIN_READ, unit };
  }
  const query = queryParams(url);
  const selector = parseSelector(query.label, query.version, "query");
  const unit = parseUnit([
    ["query.unit", query.unit],
    ["header.cuecard-unit", unitHeader],
  ]);
  const definition = query.definition;
  if (definition !== undefined && definition !== "1" && definition !== "0") {
    throw validationFailed([{ field: "query.definition", message: "must be 1 or 0" }]);
  }
  return { selector, unit, definition };
}

function lookUp(
  admission: Admission,
  name: string,
  selector: Selector,
): Resolution | Promise<Resolution> {
  const { store, readKey } = admission;
  return selector.version === undefined
    ? resolveLabel(store, readKey.projectId, name, selector.label)
    : resolveVersion(store, readKey.projectId, name, selector.version);
}

function servedOrNotFound(
  admission: Admission,
  name: string,
  selector: Selector,
  resolved: Resolution,
  unit: string | null,
) {
  if (resolved.value?.archivedAt) {
    throw new ProblemError(
      "not_found",
      `Prompt '${name}' is archived, so none of its labels or versions are served. Restore it in the admin to serve it again.`,
    );
  }
  const audience = { projectId: admission.readKey.projectId, name, unit };
  const delivery = admission.delivery;
  const served = resolved.value && delivery.assign(resolved.value, audience);
  if (!served) {
    const what =
      selector.version === undefined ? `label '${selector.label}'` : `version ${selector.version}`;
    throw new ProblemError(
      "not_found",
      `Prompt '${name}' has no published ${what}. Check the name, or publish it in the admin.`,
    );
  }
  delivery.served(served, audience, admission.store.waitUntil);
  return { served, layer: slowerLayer(admission.keyLayer, resolved.layer) };
}

/** Resolves a name + selector to the version to serve, or a 404 naming what is missing. */
export async function resolvePrompt(
  admission: Admission,
  name: string,
  selector: Selector,
  unit: string | null,
) {
  return servedOrNotFound(admission, name, selector, await lookUp(admission, name, selector), unit);
}

/** The response to a resolved read: the served version, its definition if asked for. */
function promptResponse(
  admission: Admission,
  name: string,
  query: PromptQuery,
  resolved: Resolution,
  ifNoneMatch: string | undefined,
): Response {
  const { selector, unit } = query;
  const found = servedOrNotFound(admission, name, selector, resolved, unit);
  const experiment = resolved.value?.experiment;
  // The definition is the same for every unit: only for a request without one.
  const served =
    query.definition === "1" && experiment && unit === null
      ? withDefinition(found.served, experiment)
      : found.served;
  return servedVersionResponse(
    served,
    found.layer,
    admission.startedAt,
    admission.allowOrigin,
    ifNoneMatch,
  );
}

const ROUTE_PREFIX = "/v1/prompts/";

/**
 * `GET /v1/prompts/{name}` answered before Hono is entered, when the key and the prompt are both
 * in the isolate cache; undefined for anything else (another route, a miss, any error), which
 * Hono then serves as ever: it runs the same functions again and answers the miss or the problem.
 * Hono's router, context and middleware cost about a third of a hit's time; this path costs the
 * rules alone. The path is decoded with Hono's own functions, so both see the same name. Only
 * for GET requests (index.ts checks the method), `url` being the request's, read once there.
 */
export function fastGetPrompt(
  request: Request,
  url: string,
  env: EdgeBindings,
  ctx: ExecutionContext,
): Response | undefined {
  const name = promptNameOf(url, ROUTE_PREFIX);
  if (name === undefined) return undefined;
  try {
    const startedAt = performance.now();
    if (promptNameProblem(name) !== undefined) return undefined;
    const headers = request.headers;
    const store = storeOf(env, ctx);
    const readKey = cachedReadKeyOf(store, headers.get("authorization"));
    // Unknown (cached as null) and cold keys alike: Hono answers the 401 or reads KV.
    if (!readKey) return undefined;
    const query = parsePromptQuery(url, headers.get(UNIT_HEADER) ?? undefined);
    const { selector } = query;
    const prompt =
      selector.version === undefined
        ? cachedLabel(store, readKey.projectId, name, selector.label)
        : cachedVersion(store, readKey.projectId, name, selector.version);
    if (prompt === undefined) return undefined;
    const admission = admit(
      env,
      store,
      { value: readKey, layer: "isolate" },
      headers.get("origin") ?? undefined,
      startedAt,
    );
    return promptResponse(
      admission,
      name,
      query,
      { value: prompt, layer: "isolate" },
      headers.get("if-none-match") ?? undefined,
    );
  } catch {
    // Every problem is Hono's to answer (with the request id, CORS and the rest).
    return undefined;
  }
}

/**
 * GET /v1/prompts/{name}?label=|?version= — the hot path, served by `fastGetPrompt` on isolate
 * hits. Here (a miss, or a problem) it runs without an await when it can.
 */
export function registerGetPrompt(app: EdgeApp) {
  app.get("/v1/prompts/:name", (c): Response | Promise<Response> => {
    const authorizing = authorizeReadKey(c);
    return authorizing ? authorizing.then(() => getPrompt(c)) : getPrompt(c);
  });
  registerPreflight(app, "/v1/prompts/:name", "GET");
}

function getPrompt(c: EdgeContext): Response | Promise<Response> {
  const name = checkPromptName(c.req.param("name") ?? "");
  const query = parsePromptQuery(c.req.url, c.req.header(UNIT_HEADER));
  const admission = admissionOf(c);
  const ifNoneMatch = c.req.header("if-none-match");
  const respond = (resolved: Resolution) =>
    promptResponse(admission, name, query, resolved, ifNoneMatch);
  const resolved = lookUp(admission, name, query.selector);
  return resolved instanceof Promise ? resolved.then(respond) : respond(resolved);
}
