import { BATCH_NAMES_MAX } from "@cuecard/core/limits";
import { ORIGIN_AND_UNIT_VARY, ORIGIN_VARY, registerPreflight, setCorsHeaders } from "../cors";
import { parseUnit, UNIT_HEADER } from "../experiments";
import {
  type EdgeApp,
  JSON_CONTENT_TYPE,
  LABEL_CACHE_CONTROL,
  setCacheHeaders,
  slowerLayer,
} from "../http";
import { resolveLabels } from "../prompt-store";
import { authorizeReadKey } from "../read-key-auth";
import { parseSelector, promptNameProblem, validationFailed } from "../selectors";

/**
 * GET /v1/prompts?names=a,b,c[&label=] — resolves one label of up to 100 prompts with at most
 * one bulk KV read. Prompts that do not exist (or lack the label) are listed in `missing`.
 */
export function registerBatchPrompts(app: EdgeApp) {
  app.get("/v1/prompts", async (c) => {
    await authorizeReadKey(c);
    const raw = c.req.query("names");
    if (raw === undefined || raw === "") {
      throw validationFailed([
        { field: "query.names", message: "list prompt names separated by commas, e.g. a,b/c" },
      ]);
    }
    if (c.req.query("version") !== undefined) {
      throw validationFailed([
        {
          field: "query.version",
          message: "a batch resolves a label; fetch pinned versions one by one",
        },
      ]);
    }
    const selector = parseSelector(c.req.query("label"), undefined, "query");
    const label = selector.label as string;
    const names = [...new Set(raw.split(","))];
    if (names.length > BATCH_NAMES_MAX) {
      throw validationFailed([
        {
          field: "query.names",
          message: `at most ${BATCH_NAMES_MAX} distinct names per request (got ${names.length}); split the batch`,
        },
      ]);
    }
    const errors = names.flatMap((name, index) => {
      const problem = promptNameProblem(name);
      return problem ? [{ field: `query.names[${index}]`, message: `'${name}': ${problem}` }] : [];
    });
    if (errors.length > 0) throw validationFailed(errors);

    const unit = parseUnit([
      ["query.unit", c.req.query("unit")],
      ["header.cuecard-unit", c.req.header(UNIT_HEADER)],
    ]);
    const projectId = c.get("readKey").projectId;
    const delivery = c.get("delivery");
    let perUnit = false;
    const resolution = await resolveLabels(c.get("store"), projectId, names, label);
    const bodies: string[] = [];
    const missing = resolution.missing;
    // Response order follows the request order, whatever order the cache and KV answered in.
    for (const name of names) {
      const prompt = resolution.found.get(name);
      const audience = { projectId, name, unit };
      const served = prompt && delivery.assign(prompt, audience);
      if (served) {
        bodies.push(served.body);
        if (served.experiment) perUnit = true;
        delivery.served(served, audience, c.get("store").waitUntil);
      } else if (!missing.includes(name)) missing.push(name);
    }
    missing.sort((a, b) => names.indexOf(a) - names.indexOf(b));
    const headers = new Headers({
      "content-type": JSON_CONTENT_TYPE,
      "cache-control": LABEL_CACHE_CONTROL,
    });
    headers.set("vary", perUnit ? ORIGIN_AND_UNIT_VARY : ORIGIN_VARY);
    setCorsHeaders(headers, c.get("allowOrigin"));
    setCacheHeaders(headers, slowerLayer(c.get("keyLayer"), resolution.layer), c.get("startedAt"));
    // The cached bodies are already JSON: splice them instead of parsing and re-serializing.
    const body = `{"label":${JSON.stringify(label)},"prompts":[${bodies.join(",")}],"missing":${JSON.stringify(missing)}}`;
    return new Response(body, { headers });
  });
  registerPreflight(app, "/v1/prompts", "GET");
}
