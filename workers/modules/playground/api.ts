import type { OpenAPIHono } from "@hono/zod-openapi";
import { type AdminHonoEnv, mutationContext, readContext } from "../../platform/http/app";
import { errorResponses, jsonBody, jsonResponse, ProjectParams } from "../../platform/http/openapi";
import { defineRoute } from "../access/route-policy";
import {
  deleteModelProvider,
  getModelProvider,
  ModelProviderInput,
  providerDepsOf,
  setModelProvider,
} from "./provider";
import { ModelProvider } from "./schemas";

const path = "/v1/projects/{project}/model-provider";
const tags = ["model provider"];

const getRoute = defineRoute({
  permission: "project:manage",
  method: "get",
  operationId: "getModelProvider",
  path,
  tags,
  summary: "The playground's model provider (never its API key)",
  description: "404 when the project has none.",
  request: { params: ProjectParams },
  responses: { 200: jsonResponse(ModelProvider, "The model provider"), ...errorResponses },
});

const putRoute = defineRoute({
  permission: "project:manage",
  method: "put",
  operationId: "setModelProvider",
  path,
  tags,
  summary: "Set the playground's model provider",
  description:
    "An OpenAI-compatible endpoint the playground runs prompt versions against. The base URL must be https and public: private, loopback, link-local and internal targets and URLs with credentials are refused (loopback only with MODEL_PROVIDER_ALLOW_LOOPBACK in local development). The API key is stored encrypted and never returned; leave it out to keep the current one. 503 when the deployment has no SECRETS_ENCRYPTION_KEY.",
  request: { params: ProjectParams, body: jsonBody(ModelProviderInput) },
  responses: {
    200: jsonResponse(ModelProvider, "The model provider"),
    ...errorResponses,
    503: {
      description: "The deployment cannot store secrets (no SECRETS_ENCRYPTION_KEY)",
      content: errorResponses[500].content,
    },
  },
});

const deleteRoute = defineRoute({
  permission: "project:manage",
  method: "delete",
  operationId: "deleteModelProvider",
  path,
  tags,
  summary: "Remove the model provider and its stored API key",
  request: { params: ProjectParams },
  responses: { 204: { description: "Removed" }, ...errorResponses },
});

export function registerModelProviderRoutes(app: OpenAPIHono<AdminHonoEnv>) {
  app.openapi(getRoute, async (c) =>
    c.json(await getModelProvider(readContext(c), c.req.valid("param").project), 200),
  );
  app.openapi(putRoute, async (c) =>
    c.json(
      await setModelProvider(
        mutationContext(c),
        c.req.valid("param").project,
        c.req.valid("json"),
        providerDepsOf(c.env),
      ),
      200,
    ),
  );
  app.openapi(deleteRoute, async (c) => {
    await deleteModelProvider(mutationContext(c), c.req.valid("param").project);
    return c.body(null, 204);
  });
}
