import { LABEL_MAX, PROMPT_NAME_MAX, REQUEST_BODY_MAX_BYTES } from "@cuecard/core/limits";
import { LABEL_PATTERN, PROMPT_NAME_PATTERN } from "@cuecard/core/names";
import {
  CORS_ALLOWED_HEADERS,
  CORS_EXPOSED_HEADERS,
  CORS_MAX_AGE_SECONDS,
} from "@cuecard/core/origins";
import { PROBLEM_JSON_SCHEMA } from "@cuecard/core/problem";
import {
  EVENT_BATCH_MAX_BYTES,
  EVENTS_PER_BATCH_MAX,
  TELEMETRY_EVENT_TYPES,
  UNIT_ID_MAX,
} from "@cuecard/core/telemetry";
import { RENDER_LIMITS } from "@cuecard/core/template";

/**
 * The edge API as OpenAPI 3.1, kept by hand: generating it with @hono/zod-openapi would put zod
 * (~90 KiB gzipped) into a bundle whose budget is 40 KiB. `test/edge/service.test.ts` checks
 * that it documents exactly the routes the app registers.
 */

const problem = { $ref: "#/components/responses/Problem" };
const str = { type: "string" };
const names = { type: "array", items: str };
const name = {
  name: "name",
  in: "path",
  required: true,
  description:
    "The prompt name as ONE URL-encoded path segment: support/triage → support%2Ftriage.",
  schema: { type: "string", maxLength: PROMPT_NAME_MAX, pattern: PROMPT_NAME_PATTERN.source },
};
const label = {
  name: "label",
  in: "query",
  description: "The label to resolve (default `production`). Not together with `version`.",
  schema: {
    type: "string",
    maxLength: LABEL_MAX,
    pattern: LABEL_PATTERN.source,
    default: "production",
  },
};
const version = {
  name: "version",
  in: "query",
  description: "A pinned version number; the response is immutable. Not together with `label`.",
  schema: { type: "integer", minimum: 1 },
};
const unit = {
  name: "unit",
  in: "query",
  description: `The unit id (a user id, a session id) when the label runs an experiment: each unit is served one variant, always. At most ${UNIT_ID_MAX} characters; empty counts as none. Or send the \`Cuecard-Unit\` header (ASCII only; percent-encode other ids here).`,
  schema: { type: "string", maxLength: UNIT_ID_MAX },
};
const unitHeader = {
  name: "Cuecard-Unit",
  in: "header",
  description:
    "The unit id, instead of `?unit=` (printable ASCII). If both are sent they must agree.",
  schema: { type: "string", maxLength: UNIT_ID_MAX },
};
const cacheHeaders = {
  "Cuecard-Cache": {
    description: "hit (isolate cache), miss (read from KV) or stale (KV failed; last known good)",
    schema: { type: "string", enum: ["hit", "miss", "stale"] },
  },
  "Server-Timing": {
    description: 'cache;desc="isolate"|"revalidating"|"kv"|"stale";dur=<ms>',
    schema: { type: "string" },
  },
};

/** Headers of every keyed response (README: browser apps). */
const corsHeaders = {
  Vary: { description: "Origin (and Cuecard-Unit while an experiment runs)", schema: str },
  "Access-Control-Expose-Headers": { description: CORS_EXPOSED_HEADERS, schema: str },
};

/** A CORS preflight: it carries no key, so the actual request decides (README: browser apps). */
const preflight = (operationId: string, parameters: unknown[] = []) => ({
  operationId,
  tags: ["cors"],
  parameters,
  summary:
    "CORS preflight: 204 for any http(s) Origin; the actual request checks the key's origins",
  description: `Allows the route's method, the headers ${CORS_ALLOWED_HEADERS}; Max-Age ${CORS_MAX_AGE_SECONDS}`,
  security: [],
  responses: { "204": { description: "Allowed" }, "403": problem },
});

const jsonObject = { content: { "application/json": { schema: { type: "object" } } } };
const problemSaying = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
});
const originRefused = problemSaying("`origin_not_allowed`: a browser key off its origins");
const ingestResult = {
  content: { "application/json": { schema: { $ref: "#/components/schemas/IngestResponse" } } },
};
/** What every telemetry route can answer: the ingest's own statuses, and the edge's key checks. */
const telemetryErrors = {
  "400": problem,
  "401": problem,
  "403": problemSaying(
    "`telemetry_not_allowed` (a browser key: scores at most), `origin_not_allowed`",
  ),
  "413": problem,
  "415": problem,
  "422": problem,
  "429": problem,
  "503": problemSaying("`telemetry_not_configured` in this deployment, or `unavailable` (retry)"),
};
const telemetryDescription =
  "Needs a key with `sendTelemetry: true`. The body goes unchanged to the telemetry worker, whose answer is returned. A resent event `id` is counted once.";

/** Langfuse's error envelope: every 4xx of its API is JSON with a message. */
const langfuseError = {
  description: "Langfuse's error envelope",
  content: { "application/json": { schema: { $ref: "#/components/schemas/LangfuseError" } } },
};
const langfuseErrors = {
  "400": langfuseError,
  "401": langfuseError,
  "403": langfuseError,
  "404": langfuseError,
  "413": langfuseError,
  "429": langfuseError,
  "503": langfuseError,
};
const langfuseSecurity = [{ langfuseKeyPair: [] }];
const langfuseName = {
  name: "name",
  in: "path",
  required: true,
  description: "The prompt name as ONE URL-encoded path segment (folder%2Fchatty).",
  schema: str,
};
/** Langfuse's telemetry routes: checked here, then sent on to the telemetry worker. */
const langfuseTelemetry = (operationId: string, summary: string) => ({
  post: {
    operationId,
    tags: ["langfuse"],
    security: langfuseSecurity,
    summary,
    description:
      "Needs a server key with `sendTelemetry: true`. The body goes unchanged to the telemetry worker, whose answer is returned.",
    requestBody: { required: true, description: "As Langfuse's API takes it.", ...jsonObject },
    responses: {
      "200": { description: "Accepted", ...jsonObject },
      "207": { description: "Per-event results", ...jsonObject },
      ...langfuseErrors,
    },
  },
});

export const openApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "Cuecard edge API",
    version: "1.0.0",
    description:
      "Delivery of published prompts from Cloudflare's edge, and telemetry ingest for keys allowed to send it. Authenticate with a read key: `Authorization: Bearer cc_reader_…`. Changes (label moves, revoked keys) are visible within about two minutes everywhere: KV propagation (~60 s) + KV cache (30 s pointers, 60 s keys) + isolate cache (TTL + 10 s revalidation).",
  },
  servers: [{ url: "/" }],
  tags: [
    { name: "prompts", description: "Published prompts: resolve, batch-resolve, render" },
    { name: "telemetry", description: "Ingest of events, scores and OpenTelemetry spans" },
    { name: "service", description: "Liveness and this document; no key needed" },
    { name: "cors", description: "CORS preflights for browser apps (README: browser apps)" },
    {
      name: "langfuse",
      description:
        "The Langfuse-compatible API: the official Langfuse SDKs work with this base URL and a key pair (publicKey `pk-lf-<key id>`, secretKey = the Cuecard key) sent as HTTP Basic. Reads are served here; the other prompt operations go to the control plane. Errors are Langfuse's `{message, error}`.",
    },
  ],
  security: [{ readKey: [] }],
  paths: {
    "/v1/prompts/{name}": {
      options: preflight("preflightGetPrompt", [name]),
      get: {
        operationId: "getPrompt",
        tags: ["prompts"],
        summary: "Resolve a prompt by label (default production) or pinned version",
        parameters: [
          name,
          label,
          version,
          unit,
          unitHeader,
          { name: "If-None-Match", in: "header", schema: { type: "string" } },
        ],
        responses: {
          "200": {
            description: "The resolved version",
            headers: {
              ETag: {
                description:
                  '"<content hash>.v<version>": changes when the label moves; while the label runs an experiment it also names the experiment, the variant and the unit\'s bucket',
                schema: { type: "string" },
              },
              "Cuecard-Version": { description: "The version served", schema: { type: "integer" } },
              "Cache-Control": {
                description:
                  "label reads: private, max-age=0, must-revalidate; pinned: private, max-age=31536000, immutable",
                schema: { type: "string" },
              },
              ...cacheHeaders,
              ...corsHeaders,
            },
            content: {
              "application/json": { schema: { $ref: "#/components/schemas/ResolvedPrompt" } },
            },
          },
          "304": { description: "Not modified: If-None-Match matched the ETag" },
          "401": problem,
          "403": originRefused,
          "404": problem,
          "422": problem,
          "503": problem,
        },
      },
    },
    "/v1/prompts": {
      options: preflight("preflightBatchPrompts"),
      get: {
        operationId: "getPrompts",
        tags: ["prompts"],
        summary: "Resolve one label of up to 100 prompts in one request",
        parameters: [
          {
            name: "names",
            in: "query",
            required: true,
            description: "Comma-separated prompt names; duplicates are collapsed; at most 100.",
            schema: { type: "string" },
          },
          label,
          unit,
          unitHeader,
        ],
        responses: {
          "200": {
            description: "The prompts found, in request order, and the names not found",
            headers: { ...cacheHeaders, ...corsHeaders },
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  required: ["label", "prompts", "missing"],
                  properties: {
                    label: { type: "string" },
                    prompts: {
                      type: "array",
                      items: { $ref: "#/components/schemas/ResolvedPrompt" },
                    },
                    missing: names,
                  },
                },
              },
            },
          },
          "401": problem,
          "403": originRefused,
          "422": problem,
          "503": problem,
        },
      },
    },
    "/v1/prompts/{name}/render": {
      options: preflight("preflightRenderPrompt", [name]),
      post: {
        operationId: "renderPrompt",
        tags: ["prompts"],
        summary: "Render a prompt with variables (Mustache, no HTML escaping)",
        parameters: [name, unit, unitHeader],
        requestBody: {
          required: true,
          description: `JSON, at most ${REQUEST_BODY_MAX_BYTES} bytes. Unknown fields are refused.`,
          content: {
            "application/json": {
              schema: {
                type: "object",
                additionalProperties: false,
                properties: {
                  variables: { type: "object", additionalProperties: true },
                  placeholders: {
                    type: "object",
                    additionalProperties: { type: "array", items: { type: "object" } },
                  },
                  label: label.schema,
                  version: version.schema,
                  unit: { ...unit.schema, description: "The unit id, as `?unit=`" },
                },
              },
            },
          },
        },
        responses: {
          "200": {
            description: "The rendered prompt: a string for text prompts, messages for chat",
            headers: { ...cacheHeaders, ...corsHeaders },
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  required: [
                    "name",
                    "type",
                    "version",
                    "label",
                    "hash",
                    "prompt",
                    "config",
                    "experiment",
                  ],
                  properties: {
                    name: { type: "string" },
                    type: { type: "string", enum: ["text", "chat"] },
                    version: { type: "integer" },
                    label: { type: ["string", "null"] },
                    hash: { type: "string" },
                    prompt: { $ref: "#/components/schemas/PromptContent" },
                    config: { type: "object" },
                    experiment: { $ref: "#/components/schemas/ExperimentAssignment" },
                  },
                },
              },
            },
          },
          "400": problem,
          "401": problem,
          "403": originRefused,
          "404": problem,
          "413": problem,
          "415": problem,
          "422": {
            description: `Invalid request; variables or placeholders missing/unknown (listed in \`missing\`, \`unknown\`, \`missingPlaceholders\`, \`unknownPlaceholders\`); or over a render limit: a variable with more than ${RENDER_LIMITS.arrayElements} list items or nested more than ${RENDER_LIMITS.depth} deep, or a rendered prompt over ${RENDER_LIMITS.outputChars} characters`,
            content: {
              "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } },
            },
          },
          "503": problem,
        },
      },
    },
    "/v1/events": {
      options: preflight("preflightEvents"),
      post: {
        operationId: "sendEvents",
        tags: ["telemetry"],
        summary: "Send a batch of telemetry events (generations, exposures, scores, conversions)",
        description: telemetryDescription,
        requestBody: {
          required: true,
          description: `JSON, at most ${EVENT_BATCH_MAX_BYTES} bytes and ${EVENTS_PER_BATCH_MAX} events; the shapes are TelemetryEvent in @cuecard/core/telemetry.`,
          content: {
            "application/json": {
              schema: {
                type: "object",
                required: ["events"],
                properties: {
                  events: {
                    type: "array",
                    maxItems: EVENTS_PER_BATCH_MAX,
                    items: {
                      type: "object",
                      required: ["type", "id", "timestamp"],
                      properties: {
                        type: { type: "string", enum: TELEMETRY_EVENT_TYPES },
                        id: { type: "string" },
                        timestamp: { type: "string", format: "date-time" },
                      },
                    },
                  },
                },
              },
            },
          },
        },
        responses: {
          "200": { description: "Every event was accepted", ...ingestResult },
          "207": { description: "Some events were rejected; see `results`", ...ingestResult },
          ...telemetryErrors,
        },
      },
    },
    "/v1/scores": {
      options: preflight("preflightScores"),
      post: {
        operationId: "sendScores",
        tags: ["telemetry"],
        summary: "Attach scores (feedback, evaluations) to generations",
        description: telemetryDescription,
        requestBody: {
          required: true,
          description: "JSON: scores as ScoreEvent in @cuecard/core/telemetry.",
          ...jsonObject,
        },
        responses: {
          "200": { description: "Every score was accepted", ...ingestResult },
          "207": { description: "Some scores were rejected; see `results`", ...ingestResult },
          ...telemetryErrors,
        },
      },
    },
    "/v1/otel/v1/traces": {
      options: preflight("preflightOtelTraces"),
      post: {
        operationId: "sendTraces",
        tags: ["telemetry"],
        summary: "Send OpenTelemetry spans (OTLP/HTTP JSON); GenAI spans become generations",
        description: `${telemetryDescription} Point an OTLP exporter's traces endpoint here.`,
        requestBody: {
          required: true,
          description: "An OTLP ExportTraceServiceRequest as JSON.",
          ...jsonObject,
        },
        responses: {
          "200": { description: "The spans were accepted", ...jsonObject },
          "207": { description: "Some spans were rejected", ...jsonObject },
          ...telemetryErrors,
        },
      },
    },
    "/api/public/health": {
      get: {
        operationId: "langfuseHealth",
        tags: ["langfuse"],
        security: [],
        summary: "Liveness, as Langfuse answers it",
        responses: {
          "200": {
            description: "The worker is up",
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  required: ["status", "version"],
                  properties: { status: { const: "OK" }, version: str },
                },
              },
            },
          },
          "405": langfuseError,
        },
      },
    },
    "/api/public/v2/prompts/{name}": {
      get: {
        operationId: "langfuseGetPrompt",
        tags: ["langfuse"],
        security: langfuseSecurity,
        summary: "Get a prompt by label (default production) or version, in Langfuse's shape",
        description:
          "Served from the same published records and isolate cache as `GET /v1/prompts/{name}`. A running experiment serves its control (the Langfuse SDKs send no unit id). `labels` and `tags` are those of the label pointer's last publish; a pinned version read of a version no label points at has none. Prompt references (`@@@langfusePrompt:name=…|label=…@@@`) are resolved when published; `resolutionGraph` says what each included version is, null when it includes nothing.",
        parameters: [
          langfuseName,
          {
            name: "label",
            in: "query",
            description: "The label (default `production`). Not together with `version`.",
            schema: str,
          },
          {
            name: "version",
            in: "query",
            description: "A version number; 0 or empty counts as absent. Not with `label`.",
            schema: { type: "string", pattern: "^[0-9]*$" },
          },
          {
            name: "resolve",
            in: "query",
            description: "`false`: the prompt as written, its reference tags unresolved.",
            schema: { type: "string", enum: ["true", "false"] },
          },
        ],
        responses: {
          "200": {
            description: "The prompt",
            content: {
              "application/json": { schema: { $ref: "#/components/schemas/LangfusePrompt" } },
            },
          },
          ...langfuseErrors,
        },
      },
      delete: {
        operationId: "langfuseDeletePrompt",
        tags: ["langfuse"],
        security: langfuseSecurity,
        summary: "Take a prompt, a label or a version out of service (versions are never deleted)",
        description:
          "Cuecard's versions are immutable and never deleted, so: with `label`, that label is removed; with `version`, every label on that version is removed (`latest` stays); with neither, the prompt is archived (restorable in the admin). Handed to the control plane.",
        parameters: [
          langfuseName,
          { name: "label", in: "query", description: "Remove this label", schema: str },
          {
            name: "version",
            in: "query",
            description: "Remove the labels of this version",
            schema: { type: "integer", minimum: 1 },
          },
        ],
        responses: { "204": { description: "Done" }, ...langfuseErrors },
      },
    },
    "/api/public/v2/prompts": {
      get: {
        operationId: "langfuseListPrompts",
        tags: ["langfuse"],
        security: langfuseSecurity,
        summary: "List prompts with their versions, labels and tags",
        description: "Handed to the control plane.",
        parameters: [
          { name: "name", in: "query", description: "Only this prompt", schema: str },
          { name: "label", in: "query", description: "Only prompts with this label", schema: str },
          { name: "tag", in: "query", description: "Only prompts with this tag", schema: str },
          {
            name: "page",
            in: "query",
            description: "From 1",
            schema: { type: "integer", minimum: 1, default: 1 },
          },
          {
            name: "limit",
            in: "query",
            description: "Prompts per page",
            schema: { type: "integer", minimum: 1, maximum: 100, default: 10 },
          },
          {
            name: "fromUpdatedAt",
            in: "query",
            description: "Only prompts updated at or after",
            schema: { type: "string", format: "date-time" },
          },
          {
            name: "toUpdatedAt",
            in: "query",
            description: "Only prompts updated before",
            schema: { type: "string", format: "date-time" },
          },
        ],
        responses: {
          "200": { description: "A page of prompts", ...jsonObject },
          ...langfuseErrors,
        },
      },
      post: {
        operationId: "langfuseCreatePrompt",
        tags: ["langfuse"],
        security: langfuseSecurity,
        summary: "Create a prompt, or a new version of it",
        description:
          "`version` is the latest plus one; `labels` move to it; `tags` replace the prompt's (omitted: kept). Handed to the control plane, which validates it as the admin API does.",
        requestBody: {
          required: true,
          description: "Langfuse's CreatePromptRequest.",
          ...jsonObject,
        },
        responses: {
          "201": {
            description: "The new version",
            content: {
              "application/json": { schema: { $ref: "#/components/schemas/LangfusePrompt" } },
            },
          },
          ...langfuseErrors,
        },
      },
    },
    "/api/public/v2/prompts/{name}/versions/{version}": {
      patch: {
        operationId: "langfuseUpdatePromptLabels",
        tags: ["langfuse"],
        security: langfuseSecurity,
        summary: "Add labels to a version (moving them off others)",
        description: "`{newLabels}`; `latest` is refused. Handed to the control plane.",
        parameters: [
          langfuseName,
          {
            name: "version",
            in: "path",
            required: true,
            description: "The version",
            schema: { type: "integer", minimum: 1 },
          },
        ],
        requestBody: { required: true, description: "`{newLabels: string[]}`", ...jsonObject },
        responses: {
          "200": {
            description: "The version",
            content: {
              "application/json": { schema: { $ref: "#/components/schemas/LangfusePrompt" } },
            },
          },
          ...langfuseErrors,
        },
      },
    },
    "/api/public/ingestion": langfuseTelemetry(
      "langfuseIngestion",
      "Langfuse's ingestion batch (207 with per-event results)",
    ),
    "/api/public/scores": langfuseTelemetry("langfuseCreateScore", "Create a score"),
    "/api/public/otel/v1/traces": langfuseTelemetry(
      "langfuseOtelTraces",
      "OpenTelemetry spans (OTLP/HTTP)",
    ),
    "/healthz": {
      get: {
        operationId: "health",
        tags: ["service"],
        security: [],
        summary: "Liveness",
        responses: {
          "200": {
            description: "The worker is up",
            content: { "application/json": { schema: { type: "object" } } },
          },
        },
      },
    },
    "/openapi.json": {
      get: {
        operationId: "openapi",
        tags: ["service"],
        security: [],
        summary: "This document",
        responses: { "200": { description: "OpenAPI 3.1 document" } },
      },
    },
  },
  components: {
    securitySchemes: {
      readKey: { type: "http", scheme: "bearer" },
      langfuseKeyPair: {
        type: "http",
        scheme: "basic",
        description: "publicKey `pk-lf-<key id>` as the user, the Cuecard key as the password",
      },
    },
    schemas: {
      LangfuseError: {
        type: "object",
        required: ["message", "error"],
        properties: { message: str, error: str },
      },
      LangfusePrompt: {
        type: "object",
        required: ["id", "name", "version", "type", "prompt", "config", "labels", "tags"],
        properties: {
          id: str,
          name: str,
          version: { type: "integer" },
          type: { type: "string", enum: ["text", "chat"] },
          prompt: { $ref: "#/components/schemas/PromptContent" },
          config: { type: "object" },
          labels: { type: "array", items: str },
          tags: { type: "array", items: str },
          commitMessage: { type: ["string", "null"] },
          resolutionGraph: {
            type: ["object", "null"],
            description:
              "`root` (`name`, `version`) and `dependencies`: per including version (`name#version`), the versions it includes (`name`, `version`, and `label` when it follows one)",
            properties: {
              root: {
                type: "object",
                properties: { name: str, version: { type: "integer" } },
              },
              dependencies: {
                type: "object",
                additionalProperties: {
                  type: "array",
                  items: {
                    type: "object",
                    properties: { name: str, version: { type: "integer" }, label: str },
                  },
                },
              },
            },
          },
          createdAt: str,
          updatedAt: str,
          projectId: str,
          createdBy: str,
          isActive: { type: "boolean" },
        },
      },
      PromptContent: {
        oneOf: [
          { type: "string" },
          {
            type: "array",
            items: {
              oneOf: [
                {
                  type: "object",
                  required: ["role", "content"],
                  properties: { role: { type: "string" }, content: { type: "string" } },
                },
                {
                  type: "object",
                  required: ["type", "name"],
                  properties: { type: { const: "placeholder" }, name: str },
                },
              ],
            },
          },
        ],
      },
      ResolvedPrompt: {
        type: "object",
        required: [
          "name",
          "type",
          "version",
          "label",
          "prompt",
          "config",
          "variables",
          "hash",
          "experiment",
        ],
        properties: {
          name: { type: "string" },
          type: { type: "string", enum: ["text", "chat"] },
          version: { type: "integer" },
          label: { type: ["string", "null"], description: "null for a pinned version" },
          prompt: { $ref: "#/components/schemas/PromptContent" },
          config: { type: "object", description: "Model parameters" },
          variables: {
            type: "array",
            items: {
              type: "object",
              required: ["name", "type", "required"],
              properties: {
                name: { type: "string" },
                type: { type: "string" },
                required: { type: "boolean" },
                default: {},
                description: { type: "string" },
              },
            },
          },
          hash: { type: "string", description: "Content hash (of prompt, config, variables)" },
          commitMessage: { type: ["string", "null"] },
          createdAt: { type: "string", format: "date-time" },
          labels: {
            type: "array",
            items: { type: "string" },
            description:
              "Every label of this version when the label was last published; absent for a pinned version",
          },
          tags: {
            type: "array",
            items: { type: "string" },
            description: "The prompt's tags, likewise; absent for a pinned version",
          },
          experiment: { $ref: "#/components/schemas/ExperimentAssignment" },
        },
      },
      ExperimentAssignment: {
        type: ["object", "null"],
        description:
          "The experiment the label runs and the variant served (null when it runs none, and for pinned versions)",
        required: ["id", "key", "variant", "bucket", "reason"],
        properties: {
          id: { type: "string" },
          key: { type: "string" },
          variant: { type: "string", description: "The arm served; the control when not assigned" },
          bucket: {
            type: ["number", "null"],
            description: "The unit's hash in [0, 1); null without a unit id",
          },
          reason: {
            type: "string",
            enum: ["assigned", "not_in_coverage", "no_unit"],
            description:
              "assigned: the unit is in the experiment; not_in_coverage: outside its coverage (control); no_unit: no unit id sent (control)",
          },
        },
      },
      IngestResponse: {
        type: "object",
        required: ["accepted", "rejected", "results"],
        properties: {
          accepted: { type: "integer" },
          rejected: { type: "integer" },
          results: {
            type: "array",
            description: "One per item, in the order sent",
            items: {
              type: "object",
              required: ["id", "index", "status"],
              properties: {
                id: { type: ["string", "null"] },
                index: { type: "integer" },
                status: { type: "string", enum: ["accepted", "rejected"] },
                errors: {
                  type: "array",
                  items: {
                    type: "object",
                    required: ["path", "message"],
                    properties: { path: { type: "string" }, message: { type: "string" } },
                  },
                },
              },
            },
          },
        },
      },
      Problem: {
        ...PROBLEM_JSON_SCHEMA,
        properties: {
          ...PROBLEM_JSON_SCHEMA.properties,
          missing: names,
          unknown: names,
          missingPlaceholders: names,
          unknownPlaceholders: names,
        },
      },
    },
    responses: {
      Problem: {
        description: "An RFC 9457 problem with a stable code and the request id",
        content: {
          "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } },
        },
      },
    },
  },
} as const;
