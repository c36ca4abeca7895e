import { ProblemError } from "@cuecard/core/problem";
import { registerPreflight } from "../cors";
import { parseUnit, UNIT_HEADER, withDefinition } from "../experiments";
import {
  type EdgeApp,
  type EdgeContext,
  LABEL_CACHE_CONTROL,
  PINNED_CACHE_CONTROL,
  servedVersionResponse,
  slowerLayer,
} from "../http";
import { type Resolved, resolveLabel, resolveVersion, type ServedPrompt } from "../prompt-store";
import { authorizeReadKey } from "../read-key-auth";
import {
  checkPromptName,
  DEFAULT_SELECTOR,
  parseSelector,
  type Selector,
  validationFailed,
} from "../selectors";

type Resolution = Resolved<ServedPrompt | null>;

function lookUp(
  c: EdgeContext,
  name: string,
  selector: Selector,
): Resolution | Promise<Resolution> {
  const store = c.get("store");
  const projectId = c.get("readKey").projectId;
  return selector.version === undefined
    ? resolveLabel(store, projectId, name, selector.label)
    : resolveVersion(store, projectId, name, selector.version);
}

function servedOrNotFound(
  c: EdgeContext,
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
  const audience = { projectId: c.get("readKey").projectId, name, unit };
  const delivery = c.get("delivery");
  const served = resolved.value && delivery.assign(resolved.value, audience);
  if (!served) {
    const what =
      selector.version === undefined ? `label '${selector.label}'` : `version ${selector.version}`;
    throw new ProblemError(
      "not_found",
      `Prompt '${name}' has no published ${what}. Check the name, or publish it in the admin.`,
    );
  }
  delivery.served(served, audience, c.get("store").waitUntil);
  return { served, layer: slowerLayer(c.get("keyLayer"), resolved.layer) };
}

/** Resolves a name + selector to the version to serve, or a 404 naming what is missing. */
export async function resolvePrompt(
  c: EdgeContext,
  name: string,
  selector: Selector,
  unit: string | null,
) {
  return servedOrNotFound(c, name, selector, await lookUp(c, name, selector), unit);
}

function getPrompt(c: EdgeContext): Response | Promise<Response> {
  const name = checkPromptName(c.req.param("name") ?? "");
  // Most reads carry no query string: skip parsing it at all.
  const hasQuery = c.req.url.includes("?");
  const selector = hasQuery
    ? parseSelector(c.req.query("label"), c.req.query("version"), "query")
    : DEFAULT_SELECTOR;
  const unit = parseUnit([
    ["query.unit", hasQuery ? c.req.query("unit") : undefined],
    ["header.cuecard-unit", c.req.header(UNIT_HEADER)],
  ]);
  const definition = hasQuery ? c.req.query("definition") : undefined;
  if (definition !== undefined && definition !== "1" && definition !== "0") {
    throw validationFailed([{ field: "query.definition", message: "must be 1 or 0" }]);
  }
  const respond = (resolved: Resolution) => {
    const found = servedOrNotFound(c, name, selector, resolved, unit);
    const { layer } = found;
    const experiment = resolved.value?.experiment;
    // The definition is the same for every unit: only for a request without one.
    const served =
      definition === "1" && experiment && unit === null
        ? withDefinition(found.served, experiment)
        : found.served;
    const cacheControl =
      selector.version === undefined ? LABEL_CACHE_CONTROL : PINNED_CACHE_CONTROL;
    return servedVersionResponse(c, served, cacheControl, layer, c.get("startedAt"));
  };
  const resolved = lookUp(c, name, selector);
  return resolved instanceof Promise ? resolved.then(respond) : respond(resolved);
}

/**
 * GET /v1/prompts/{name}?label=|?version= — the hot path. On isolate-cache hits it runs without
 * a single await: key check, lookup and response are synchronous.
 */
export function registerGetPrompt(app: EdgeApp) {
  app.get("/v1/prompts/:name", (c): Response | Promise<Response> => {
    const authorizing = authorizeReadKey(c);
    return authorizing ? authorizing.then(() => getPrompt(c)) : getPrompt(c);
  });
  registerPreflight(app, "/v1/prompts/:name", "GET");
}
