import {
  COMMIT_MESSAGE_MAX,
  LABELS_PER_REQUEST_MAX,
  PAGE_SIZE_DEFAULT,
  PAGE_SIZE_MAX,
  TAG_MAX,
} from "@cuecard/core/limits";
import { CHAT_ROLES, VARIABLE_TYPES } from "@cuecard/core/prompt";
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import {
  labelName,
  modelConfig,
  projectSlug,
  promptContent,
  promptName,
  settableLabelName,
  variableDeclarations,
  versionNumber,
} from "../../platform/fields";
import { FAILED_AUTH_WINDOW_SECONDS } from "../access/auth-failures";
import { type Permission, ROLES, roleHas } from "../access/roles";
import { declaredAccess, routeKeyOf } from "../access/route-policy";

/** Named OpenAPI components shared by the admin routes. */

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    requestId: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    permission: z
      .string()
      .optional()
      .openapi({ description: "On a 403: the permission the request needed" }),
  })
  .openapi("Problem");

const problemContent = { "application/problem+json": { schema: Problem } };
/** Error responses every authenticated route can give. */
export const errorResponses = {
  400: { description: "Malformed request", content: problemContent },
  401: { description: "Missing or invalid credentials", content: problemContent },
  404: { description: "Not found", content: problemContent },
  413: { description: "Body too large", content: problemContent },
  415: { description: "Body is not JSON", content: problemContent },
  422: { description: "Validation failed; `errors` names each field", content: problemContent },
  500: { description: "Internal error; nothing was written", content: problemContent },
} as const;
export const conflictResponse = {
  409: { description: "Conflict, e.g. a stale `expectedRev`", content: problemContent },
} as const;

const forbiddenResponse = (detail: string) => ({
  description: `Forbidden: ${detail}`,
  content: problemContent,
});
const rateLimitedResponse = {
  description: `Too many failed keys from this address: wait the Retry-After seconds (${FAILED_AUTH_WINDOW_SECONDS})`,
  headers: {
    "Retry-After": { schema: { type: "integer" as const }, description: "Seconds to wait" },
  },
  content: problemContent,
};

function permissionRefusal(permission: Permission, method: string): string {
  const roles = ROLES.filter((role) => roleHas(role, permission)).join(", ");
  const session =
    method === "get"
      ? ""
      : " Also when a browser session's request comes from another origin or lacks the x-csrf-token header.";
  return `the route needs the \`${permission}\` permission (held by: ${roles}); when a change needs more (a protected label, say), the problem's \`permission\` names it.${session}`;
}

/** The public routes, and the refusals each can give besides `errorResponses`. */
const PUBLIC_ROUTE_ERRORS: Record<string, Record<number, object>> = {
  "POST /v1/bootstrap": { 429: rateLimitedResponse },
  "POST /v1/session": {
    403: forbiddenResponse("a reader key, or a sign-in posted from another origin."),
    429: rateLimitedResponse,
  },
  "DELETE /v1/session": { 403: forbiddenResponse("a sign-out posted from another origin.") },
};

/**
 * Adds to every documented operation the refusals the access layer gives: 403 naming the
 * permission the route declares (`defineRoute`), and 429 for failed keys. Derived here, so the
 * document cannot drift from the policy; a route's own description of a status is kept.
 */
export function documentAccessErrors(registry: OpenAPIHono["openAPIRegistry"]) {
  for (const definition of registry.definitions) {
    if (definition.type !== "route") continue;
    const route = definition.route;
    const access = declaredAccess(route);
    const permission = access === "public" ? undefined : access;
    const added: Record<number, object> = permission
      ? {
          403: forbiddenResponse(permissionRefusal(permission, route.method)),
          429: rateLimitedResponse,
        }
      : (PUBLIC_ROUTE_ERRORS[routeKeyOf(route.method, route.path)] ?? {});
    route.responses = { ...added, ...route.responses };
  }
}

export const jsonBody = <T extends z.ZodType>(schema: T, description?: string) => ({
  required: true,
  description,
  content: { "application/json": { schema } },
});
export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

export const ProjectParams = z.object({
  project: projectSlug.openapi({ param: { name: "project", in: "path" }, example: "default" }),
});
export const PromptParams = ProjectParams.extend({
  name: promptName.openapi({
    param: { name: "name", in: "path" },
    description: "The prompt name as one URL-encoded path segment, e.g. support%2Ftriage",
    example: "support/triage",
  }),
});
export const VersionParams = PromptParams.extend({
  version: versionNumber.openapi({ param: { name: "version", in: "path" }, example: 2 }),
});
export const LabelParams = PromptParams.extend({
  label: labelName.openapi({ param: { name: "label", in: "path" }, example: "production" }),
});

export const limitQuery = z.coerce
  .number()
  .int()
  .min(1)
  .max(PAGE_SIZE_MAX)
  .default(PAGE_SIZE_DEFAULT);

export const ChatMessage = z
  .object({ role: z.enum(CHAT_ROLES), content: z.string() })
  .openapi("ChatMessage");
export const PromptContent = promptContent.openapi("PromptContent", {
  description: "A Mustache template string (text prompts) or chat messages (chat prompts)",
});
export const Variable = z
  .object({
    name: z.string(),
    type: z.enum(VARIABLE_TYPES),
    required: z.boolean(),
    default: z.unknown().optional(),
    description: z.string().optional(),
  })
  .openapi("Variable");

export const VersionInput = z
  .strictObject({
    prompt: PromptContent,
    config: modelConfig.optional().openapi({ example: { model: "gpt-4o-mini", temperature: 0.2 } }),
    commitMessage: z.string().max(COMMIT_MESSAGE_MAX).optional(),
    labels: z.array(settableLabelName).max(LABELS_PER_REQUEST_MAX).optional(),
    variables: variableDeclarations.optional(),
  })
  .openapi("VersionInput");

export const Version = z
  .object({
    name: z.string(),
    type: z.enum(["text", "chat"]),
    version: z.number().int(),
    prompt: z.union([z.string(), z.array(ChatMessage)]),
    config: z.record(z.string(), z.unknown()),
    variables: z.array(Variable),
    hash: z.string(),
    commitMessage: z.string().nullable(),
    author: z.string(),
    createdAt: z.string(),
    labels: z.array(z.string()),
  })
  .openapi("Version");

export const Label = z
  .object({
    name: z.string(),
    version: z.number().int(),
    rev: z.number().int(),
    updatedBy: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Label");

export const LabelMove = z
  .object({
    id: z.number().int(),
    label: z.string(),
    fromVersion: z.number().int().nullable(),
    toVersion: z.number().int().nullable(),
    isRollback: z.boolean(),
    actor: z.string(),
    createdAt: z.string(),
  })
  .openapi("LabelMove");

export const Prompt = z
  .object({
    name: z.string(),
    type: z.enum(["text", "chat"]),
    description: z.string(),
    tags: z.array(z.string()),
    latestVersion: z.number().int(),
    labels: z.array(Label),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    archivedAt: z.string().nullable(),
  })
  .openapi("Prompt");

export const tag = z
  .string()
  .min(1)
  .max(TAG_MAX)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, "use lower-case a-z, 0-9, '_' and '-'");
