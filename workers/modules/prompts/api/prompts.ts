import { PROMPT_NAME_MAX } from "@cuecard/core/limits";
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { labelName, promptName } from "../../../platform/fields";
import { type AdminHonoEnv, mutationContext, readContext } from "../../../platform/http/app";
import {
  conflictResponse,
  errorResponses,
  jsonBody,
  jsonResponse,
  limitQuery,
  ProjectParams,
  page,
} from "../../../platform/http/openapi";
import { defineRoute } from "../../access/route-policy";
import {
  createPrompt,
  findPrompt,
  listPrompts,
  NewPrompt,
  PromptPatch,
  toPromptView,
  updatePrompt,
} from "../prompts";
import { Prompt, PromptParams, tag, Version } from "../schemas";

const listPromptsRoute = defineRoute({
  operationId: "listPrompts",
  permission: "prompts:read",
  method: "get",
  path: "/v1/projects/{project}/prompts",
  tags: ["prompts"],
  summary: "List prompts with their labels",
  request: {
    params: ProjectParams,
    query: z.object({
      q: z.string().max(PROMPT_NAME_MAX).optional().openapi({ description: "Part of the name" }),
      tag: tag.optional(),
      label: labelName.optional().openapi({ description: "Only prompts that have this label" }),
      archived: z
        .enum(["true", "false"])
        .optional()
        .openapi({ description: "List archived prompts instead of active ones" }),
      limit: limitQuery,
      cursor: promptName.optional().openapi({ description: "nextCursor of the previous page" }),
    }),
  },
  responses: {
    200: jsonResponse(page(Prompt, z.string()), "A page of prompts"),
    ...errorResponses,
  },
});

const createPromptRoute = defineRoute({
  operationId: "createPrompt",
  permission: "prompts:write",
  method: "post",
  path: "/v1/projects/{project}/prompts",
  tags: ["prompts"],
  summary: "Create a prompt, optionally with its first version",
  request: {
    params: ProjectParams,
    body: jsonBody(NewPrompt),
  },
  responses: {
    201: jsonResponse(
      z.object({ prompt: Prompt, version: z.union([Version, z.null()]) }),
      "The prompt and its first version",
    ),
    ...errorResponses,
    ...conflictResponse,
  },
});

const getPromptRoute = defineRoute({
  operationId: "getPrompt",
  permission: "prompts:read",
  method: "get",
  path: "/v1/projects/{project}/prompts/{name}",
  tags: ["prompts"],
  summary: "Get a prompt with its labels",
  request: { params: PromptParams },
  responses: { 200: jsonResponse(Prompt, "The prompt"), ...errorResponses },
});

const updatePromptRoute = defineRoute({
  operationId: "updatePrompt",
  permission: "prompts:write",
  method: "patch",
  path: "/v1/projects/{project}/prompts/{name}",
  tags: ["prompts"],
  summary: "Update a prompt's description or tags, or archive / restore it",
  request: {
    params: PromptParams,
    body: jsonBody(PromptPatch),
  },
  responses: { 200: jsonResponse(Prompt, "The updated prompt"), ...errorResponses },
});

const archivePromptRoute = defineRoute({
  operationId: "archivePrompt",
  permission: "prompts:archive",
  method: "delete",
  path: "/v1/projects/{project}/prompts/{name}",
  tags: ["prompts"],
  summary: "Archive a prompt",
  description:
    "Versions are never deleted. Archiving hides the prompt from lists, refuses new versions and label moves, and withdraws its labels from the edge; PATCH `archived: false` restores it.",
  request: { params: PromptParams },
  responses: { 200: jsonResponse(Prompt, "The archived prompt"), ...errorResponses },
});

export function registerPromptRoutes(app: OpenAPIHono<AdminHonoEnv>) {
  app.openapi(listPromptsRoute, async (c) => {
    const { project } = c.req.valid("param");
    const { cursor, archived, ...filter } = c.req.valid("query");
    const page = await listPrompts(readContext(c), project, {
      ...filter,
      archived: archived === "true",
      after: cursor,
    });
    return c.json(page, 200);
  });
  app.openapi(createPromptRoute, async (c) => {
    const { project } = c.req.valid("param");
    return c.json(await createPrompt(mutationContext(c), project, c.req.valid("json")), 201);
  });
  app.openapi(getPromptRoute, async (c) => {
    const { project, name } = c.req.valid("param");
    const ctx = readContext(c);
    return c.json(await toPromptView(ctx, await findPrompt(ctx, project, name)), 200);
  });
  app.openapi(updatePromptRoute, async (c) => {
    const { project, name } = c.req.valid("param");
    const ctx = mutationContext(c);
    const prompt = await findPrompt(ctx, project, name);
    return c.json(await updatePrompt(ctx, prompt, c.req.valid("json")), 200);
  });
  app.openapi(archivePromptRoute, async (c) => {
    const { project, name } = c.req.valid("param");
    const ctx = mutationContext(c);
    const prompt = await findPrompt(ctx, project, name);
    return c.json(await updatePrompt(ctx, prompt, { archived: true }), 200);
  });
}
