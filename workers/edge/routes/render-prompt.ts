import { jsonInputProblems } from "@cuecard/core/input";
import { REQUEST_BODY_MAX_BYTES } from "@cuecard/core/limits";
import { type FieldError, ProblemError } from "@cuecard/core/problem";
import { RenderError, RenderLimitError, renderPrompt } from "@cuecard/core/template";
import { ORIGIN_AND_UNIT_VARY, ORIGIN_VARY, registerPreflight, setCorsHeaders } from "../cors";
import { parseUnit, UNIT_HEADER } from "../experiments";
import { type EdgeApp, JSON_CONTENT_TYPE, setCacheHeaders } from "../http";
import { admissionOf, authorizeReadKey } from "../read-key-auth";
import { checkPromptName, parseSelector, validationFailed } from "../selectors";
import { resolvePrompt } from "./get-prompt";

/** Variables are small; a cap keeps a huge body from costing an isolate its memory. */
const RENDER_FIELDS = new Set(["variables", "placeholders", "label", "version", "unit"]);

async function readRenderBody(request: Request): Promise<Record<string, unknown>> {
  const contentType = request.headers.get("content-type") ?? "";
  if (!/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType)) {
    throw new ProblemError(
      "unsupported_media_type",
      "Send the render request as JSON with 'Content-Type: application/json'.",
    );
  }
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > REQUEST_BODY_MAX_BYTES) throw bodyTooLarge();
  // The declared length can be absent (chunked) or wrong: count the bytes actually received.
  const bytes = await request.arrayBuffer();
  if (bytes.byteLength > REQUEST_BODY_MAX_BYTES) throw bodyTooLarge();
  if (bytes.byteLength === 0) {
    throw new ProblemError("invalid_json", 'The body is empty; send e.g. {"variables": {}}.');
  }
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new ProblemError("invalid_json", "The body is not valid JSON.");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw validationFailed([{ field: "body", message: "must be a JSON object" }]);
  }
  // The admin's rule for every body: well-formed strings and keys, bounded nesting.
  const problems = jsonInputProblems(body, "body");
  if (problems.length > 0) throw validationFailed(problems);
  return body as Record<string, unknown>;
}

function bodyTooLarge() {
  return new ProblemError(
    "payload_too_large",
    `The body is larger than ${REQUEST_BODY_MAX_BYTES} bytes; send fewer or smaller variables.`,
  );
}

/** POST /v1/prompts/{name}/render — `{variables, label?|version?}` → rendered text or messages. */
export function registerRenderPrompt(app: EdgeApp) {
  app.post("/v1/prompts/:name/render", async (c) => {
    await authorizeReadKey(c);
    const name = checkPromptName(c.req.param("name"));
    const body = await readRenderBody(c.req.raw);
    const unknownFields = Object.keys(body).filter((field) => !RENDER_FIELDS.has(field));
    if (unknownFields.length > 0) {
      throw validationFailed(
        unknownFields.map((field) => ({
          field: `body.${field}`,
          message: "is not a render field; use variables, placeholders, label, version or unit",
        })),
      );
    }
    const variables = body.variables ?? {};
    if (variables === null || typeof variables !== "object" || Array.isArray(variables)) {
      throw validationFailed([
        {
          field: "body.variables",
          message: 'must be an object of name → value, e.g. {"customer": "Ada"}',
        },
      ]);
    }
    // Named as in Langfuse's compile(variables, placeholders).
    const placeholders = body.placeholders ?? {};
    if (placeholders === null || typeof placeholders !== "object" || Array.isArray(placeholders)) {
      throw validationFailed([
        {
          field: "body.placeholders",
          message:
            'must be an object of name → messages, e.g. {"history": [{"role": "user", "content": "Hi"}]}',
        },
      ]);
    }
    const selector = parseSelector(body.label, body.version, "body");
    const unit = parseUnit([
      ["body.unit", body.unit],
      ["query.unit", c.req.query("unit")],
      ["header.cuecard-unit", c.req.header(UNIT_HEADER)],
    ]);
    const { served, layer } = await resolvePrompt(admissionOf(c), name, selector, unit);
    const published = served.published;
    let rendered: unknown;
    try {
      rendered = renderPrompt(
        published.prompt,
        published.variables,
        variables as Record<string, unknown>,
        placeholders as Record<string, unknown>,
      );
    } catch (error) {
      if (!(error instanceof RenderError)) throw error;
      const refused = (errors: FieldError[], extensions?: Record<string, unknown>) =>
        new ProblemError("validation_failed", `Cannot render '${name}': ${error.message}.`, {
          errors,
          extensions,
        });
      // `body.variables.x` / `body.placeholders.x`, each with what is wrong with it.
      const at = (part: string, message: string) => (key: string) => ({
        field: `body.${part}.${key}`,
        message,
      });
      if (error instanceof RenderLimitError) {
        const field = error.variable ? `body.variables.${error.variable}` : "body.variables";
        throw refused([{ field, message: error.message }]);
      }
      const {
        missing,
        unknown,
        missingPlaceholders = [],
        unknownPlaceholders = [],
        invalidPlaceholders = [],
      } = error.problems;
      const of = `of version ${published.version}`;
      throw refused(
        [
          ...missing.map(at("variables", "is required by the template and has no default")),
          ...unknown.map(at("variables", `is not a variable ${of}`)),
          ...missingPlaceholders.map(at("placeholders", "needs a list of messages")),
          ...unknownPlaceholders.map(at("placeholders", `is not a placeholder ${of}`)),
          ...invalidPlaceholders.map(
            at("placeholders", "must be a list of {role, content} messages"),
          ),
        ],
        { missing, unknown, missingPlaceholders, unknownPlaceholders },
      );
    }
    const headers = new Headers({
      "content-type": JSON_CONTENT_TYPE,
      // A render depends on the body: nothing for a cache to reuse.
      "cache-control": "no-store",
      "cuecard-version": served.versionHeader,
    });
    setCacheHeaders(headers, layer, c.get("startedAt"));
    headers.set("vary", served.experiment ? ORIGIN_AND_UNIT_VARY : ORIGIN_VARY);
    setCorsHeaders(headers, c.get("allowOrigin"));
    return new Response(
      JSON.stringify({
        name: published.name,
        type: published.type,
        version: published.version,
        label: served.label,
        hash: published.hash,
        prompt: rendered,
        config: published.config,
        experiment: served.experiment ?? null,
      }),
      { headers },
    );
  });
  registerPreflight(app, "/v1/prompts/:name/render", "POST");
}
