import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { type AdminHonoEnv, mutationContext, readContext } from "../../../platform/http/app";
import {
  conflictResponse,
  errorResponses,
  jsonBody,
  jsonResponse,
  limitQuery,
  page,
} from "../../../platform/http/openapi";
import { defineRoute } from "../../access/route-policy";
import { createVersion, findPrompt } from "../prompts";
import { PromptParams, Version, VersionInput, VersionParams } from "../schemas";
import { getVersion, listVersions } from "../versions";

const listVersionsRoute = defineRoute({
  operationId: "listVersions",
  permission: "prompts:read",
  method: "get",
  path: "/v1/projects/{project}/prompts/{name}/versions",
  tags: ["versions"],
  summary: "List versions, newest first",
  request: {
    params: PromptParams,
    query: z.object({ limit: limitQuery, cursor: z.coerce.number().int().positive().optional() }),
  },
  responses: {
    200: jsonResponse(page(Version, z.number().int()), "A page of versions"),
    ...errorResponses,
  },
});

const createVersionRoute = defineRoute({
  operationId: "createVersion",
  permission: "prompts:write",
  method: "post",
  path: "/v1/projects/{project}/prompts/{name}/versions",
  tags: ["versions"],
  summary: "Save a new immutable version",
  description:
    "The variables are derived from the template. `latest` moves to the new version; `labels` move in the same atomic change.",
  request: { params: PromptParams, body: jsonBody(VersionInput) },
  responses: {
    201: jsonResponse(Version, "The new version"),
    ...errorResponses,
    ...conflictResponse,
  },
});

const getVersionRoute = defineRoute({
  operationId: "getVersion",
  permission: "prompts:read",
  method: "get",
  path: "/v1/projects/{project}/prompts/{name}/versions/{version}",
  tags: ["versions"],
  summary: "Get one version",
  request: { params: VersionParams },
  responses: { 200: jsonResponse(Version, "The version"), ...errorResponses },
});

export function registerVersionRoutes(app: OpenAPIHono<AdminHonoEnv>) {
  app.openapi(listVersionsRoute, async (c) => {
    const { project, name } = c.req.valid("param");
    const { limit, cursor } = c.req.valid("query");
    const ctx = readContext(c);
    const prompt = await findPrompt(ctx, project, name);
    return c.json(await listVersions(ctx, prompt, { limit, before: cursor }), 200);
  });
  app.openapi(createVersionRoute, async (c) => {
    const { project, name } = c.req.valid("param");
    const ctx = mutationContext(c);
    const prompt = await findPrompt(ctx, project, name);
    return c.json(await createVersion(ctx, prompt, c.req.valid("json")), 201);
  });
  app.openapi(getVersionRoute, async (c) => {
    const { project, name, version } = c.req.valid("param");
    const ctx = readContext(c);
    return c.json(await getVersion(ctx, await findPrompt(ctx, project, name), version), 200);
  });
}
