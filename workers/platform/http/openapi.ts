import { PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX } from "@cuecard/core/limits";
import { PROBLEM_CODES, PROBLEM_CONTENT_TYPE } from "@cuecard/core/problem";
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { projectSlug } from "../fields";

/** OpenAPI parts every module's routes share: the error envelope, bodies, paging, the project. */

/** core's problem envelope (`PROBLEM_JSON_SCHEMA` there) as zod, plus the admin API's 403 extension. */
export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(PROBLEM_CODES),
    requestId: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    permission: z
      .string()
      .optional()
      .openapi({ description: "On a 403: the permission the request needed" }),
  })
  .openapi("Problem");

export const problemContent = { [PROBLEM_CONTENT_TYPE]: { schema: Problem } };
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

/**
 * Adds to every documented operation the refusals `refusalsOf` names for it (`route` is
 * `METHOD /path/:param`), so the document cannot drift from the rules that refuse; a route's
 * own description of a status is kept. The access module supplies `refusalsOf`.
 */
export function documentAccessErrors(
  registry: OpenAPIHono["openAPIRegistry"],
  refusalsOf: (route: { method: string; path: string }) => Record<number, object>,
) {
  for (const definition of registry.definitions) {
    if (definition.type !== "route") continue;
    const route = definition.route;
    route.responses = { ...refusalsOf(route), ...route.responses };
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

export const limitQuery = z.coerce
  .number()
  .int()
  .min(1)
  .max(PAGE_SIZE_MAX)
  .default(PAGE_SIZE_DEFAULT);

/** A page of a list, as `readPage` (platform/pagination.ts) makes it. */
export const page = <T extends z.ZodType, C extends z.ZodType>(item: T, cursor: C) =>
  z.object({ items: z.array(item), nextCursor: cursor.nullable() });
