import { idPattern } from "@cuecard/core/ids";
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { type AdminHonoEnv, mutationContext, readContext } from "../../../platform/http/app";
import {
  errorResponses,
  jsonBody,
  jsonResponse,
  ProjectParams,
} from "../../../platform/http/openapi";
import { LangfuseKeyPair, langfuseKeyPair } from "../../langfuse/keys";
import { createKey, KeyPatch, listKeys, NewKey, revokeKey, updateKey } from "../keys";
import { defineRoute } from "../route-policy";
import { Key } from "../schemas";

const listKeysRoute = defineRoute({
  operationId: "listKeys",
  permission: "keys:manage",
  method: "get",
  path: "/v1/projects/{project}/keys",
  tags: ["keys"],
  summary: "List keys (never their secrets)",
  request: { params: ProjectParams },
  responses: { 200: jsonResponse(z.object({ items: z.array(Key) }), "Keys"), ...errorResponses },
});

const createKeyRoute = defineRoute({
  operationId: "createKey",
  permission: "keys:manage",
  method: "post",
  path: "/v1/projects/{project}/keys",
  tags: ["keys"],
  summary: "Create a key",
  description:
    "The secret is in this response only; only its SHA-256 is stored. Every key can read prompts at the edge, which accepts a new key at once and stops accepting a revoked one within the documented bound (about 2 minutes). A key may also send telemetry to the edge (`POST /v1/events`, `/v1/scores`, `/v1/otel/v1/traces`) unless created with `sendTelemetry: false`. `langfuse` is the same key as a Langfuse key pair, for the official Langfuse SDKs pointed at the edge (`baseUrl`). A key shipped in a browser app is created with `browser: true`: a reader the admin API refuses, served only to requests from the project's allowed origins (narrowed by the key's `allowedOrigins`), sending scores at most.",
  request: {
    params: ProjectParams,
    body: jsonBody(NewKey),
  },
  responses: {
    201: jsonResponse(
      z.object({ key: Key, secret: z.string(), langfuse: LangfuseKeyPair.nullable() }),
      "The key and its secret, and the Langfuse key pair it gives (null for a browser key)",
    ),
    ...errorResponses,
  },
});

const KeyParams = ProjectParams.extend({
  keyId: z
    .string()
    .regex(idPattern("key"), "is not a key id")
    .openapi({ param: { name: "keyId", in: "path" } }),
});

const updateKeyRoute = defineRoute({
  permission: "keys:manage",
  method: "patch",
  operationId: "updateKey",
  path: "/v1/projects/{project}/keys/{keyId}",
  tags: ["keys"],
  summary: "Set a key's own allowed origins",
  description:
    "Narrows the browser origins the edge serves this key to (an origin must be allowed by the project and by this list), or with null gives it the project's. The edge sees the change within the documented bound for keys (about 2 minutes).",
  request: { params: KeyParams, body: jsonBody(KeyPatch) },
  responses: { 200: jsonResponse(Key, "The key"), ...errorResponses },
});

const revokeKeyRoute = defineRoute({
  operationId: "revokeKey",
  permission: "keys:manage",
  method: "delete",
  path: "/v1/projects/{project}/keys/{keyId}",
  tags: ["keys"],
  summary: "Revoke a key",
  request: { params: KeyParams },
  responses: { 204: { description: "Revoked" }, ...errorResponses },
});

export function registerKeyRoutes(app: OpenAPIHono<AdminHonoEnv>) {
  app.openapi(listKeysRoute, async (c) =>
    c.json({ items: await listKeys(readContext(c), c.req.valid("param").project) }, 200),
  );
  app.openapi(createKeyRoute, async (c) => {
    const created = await createKey(
      mutationContext(c),
      c.req.valid("param").project,
      c.req.valid("json"),
    );
    const langfuse = langfuseKeyPair(created.key, created.secret, c.env.EDGE_URL);
    return c.json({ ...created, langfuse }, 201);
  });
  app.openapi(updateKeyRoute, async (c) => {
    const { project, keyId } = c.req.valid("param");
    return c.json(await updateKey(mutationContext(c), project, keyId, c.req.valid("json")), 200);
  });
  app.openapi(revokeKeyRoute, async (c) => {
    const { project, keyId } = c.req.valid("param");
    await revokeKey(mutationContext(c), project, keyId);
    return c.body(null, 204);
  });
}
