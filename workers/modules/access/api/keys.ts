import { idPattern } from "@cuecard/core/ids";
import { KEY_EXPIRES_MAX, KEY_NAME_MAX } from "@cuecard/core/limits";
import { ROLES } from "@cuecard/core/roles";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { openDatabase } from "../../../platform/db/client";
import { type AdminHonoEnv, mutationContext } from "../../../platform/http/app";
import {
  errorResponses,
  jsonBody,
  jsonResponse,
  ProjectParams,
} from "../../../platform/http/openapi";
import { createKey, listKeys, revokeKey } from "../keys";
import { Key } from "../schemas";

const listKeysRoute = createRoute({
  method: "get",
  path: "/v1/projects/{project}/keys",
  tags: ["keys"],
  summary: "List keys (never their secrets)",
  request: { params: ProjectParams },
  responses: { 200: jsonResponse(z.object({ items: z.array(Key) }), "Keys"), ...errorResponses },
});

const createKeyRoute = createRoute({
  method: "post",
  path: "/v1/projects/{project}/keys",
  tags: ["keys"],
  summary: "Create a key",
  description:
    "The secret is in this response only; only its SHA-256 is stored. Every key can read prompts at the edge, which accepts a new key at once and stops accepting a revoked one within the documented bound (about 2 minutes).",
  request: {
    params: ProjectParams,
    body: jsonBody(
      z.strictObject({
        name: z.string().min(1).max(KEY_NAME_MAX),
        role: z.enum(ROLES),
        expiresAt: z.iso
          .datetime({ offset: true })
          // Stored as UTC ISO text, so expiry compares correctly as text in D1 and at the edge.
          .transform((value) => new Date(value).toISOString())
          .refine((value) => Date.parse(value) > Date.now(), "must be in the future")
          .refine(
            (value) => Date.parse(value) <= Date.parse(KEY_EXPIRES_MAX),
            `must be at most ${KEY_EXPIRES_MAX} (the end of year 9999, UTC); omit it for a key that never expires`,
          )
          .optional(),
      }),
    ),
  },
  responses: {
    201: jsonResponse(z.object({ key: Key, secret: z.string() }), "The key and its secret"),
    ...errorResponses,
  },
});

const revokeKeyRoute = createRoute({
  method: "delete",
  path: "/v1/projects/{project}/keys/{keyId}",
  tags: ["keys"],
  summary: "Revoke a key",
  request: {
    params: ProjectParams.extend({
      keyId: z
        .string()
        .regex(idPattern("key"), "is not a key id")
        .openapi({ param: { name: "keyId", in: "path" } }),
    }),
  },
  responses: { 204: { description: "Revoked" }, ...errorResponses },
});

export function registerKeyRoutes(app: OpenAPIHono<AdminHonoEnv>) {
  app.openapi(listKeysRoute, async (c) =>
    c.json({ items: await listKeys(openDatabase(c.env.DB), c.req.valid("param").project) }, 200),
  );
  app.openapi(createKeyRoute, async (c) =>
    c.json(
      await createKey(mutationContext(c), c.req.valid("param").project, c.req.valid("json")),
      201,
    ),
  );
  app.openapi(revokeKeyRoute, async (c) => {
    const { project, keyId } = c.req.valid("param");
    await revokeKey(mutationContext(c), project, keyId);
    return c.body(null, 204);
  });
}
