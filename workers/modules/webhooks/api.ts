import { idPattern } from "@cuecard/core/ids";
import { type OpenAPIHono, z } from "@hono/zod-openapi";
import {
  type AdminContext,
  type AdminHonoEnv,
  mutationContext,
  readContext,
} from "../../platform/http/app";
import {
  conflictResponse,
  errorResponses,
  jsonBody,
  jsonResponse,
  limitQuery,
  ProjectParams,
  page,
} from "../../platform/http/openapi";
import { defineRoute } from "../access/route-policy";
import {
  createEndpoint,
  deleteEndpoint,
  EndpointPatch,
  getDelivery,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  NewEndpoint,
  redeliver,
  rotateSecret,
  SecretRotation,
  sendTestEvent,
  updateEndpoint,
} from "./endpoints";
import { DELIVERY_STATUSES, Delivery, DeliveryDetail, Webhook, WebhookWithSecret } from "./schemas";

const WebhookParams = ProjectParams.extend({
  webhookId: z
    .string()
    .regex(idPattern("webhook"), "is not a webhook id")
    .openapi({ param: { name: "webhookId", in: "path" } }),
});
const DeliveryParams = WebhookParams.extend({
  deliveryId: z
    .string()
    .regex(idPattern("delivery"), "is not a delivery id")
    .openapi({ param: { name: "deliveryId", in: "path" } }),
});

const base = "/v1/projects/{project}/webhooks";
const tags = ["webhooks"];

const listRoute = defineRoute({
  operationId: "listWebhooks",
  permission: "webhooks:manage",
  method: "get",
  path: base,
  tags,
  summary: "List webhooks (never their secrets)",
  request: { params: ProjectParams },
  responses: {
    200: jsonResponse(z.object({ items: z.array(Webhook) }), "Webhooks"),
    ...errorResponses,
  },
});

const createWebhookRoute = defineRoute({
  operationId: "createWebhook",
  permission: "webhooks:manage",
  method: "post",
  path: base,
  tags,
  summary: "Create a webhook",
  description:
    "The URL must be https and public: private, loopback, link-local and internal targets and URLs with credentials are refused (loopback only with WEBHOOK_ALLOW_LOOPBACK in local development). The signing secret is in this response only.",
  request: {
    params: ProjectParams,
    body: jsonBody(NewEndpoint),
  },
  responses: {
    201: jsonResponse(WebhookWithSecret, "The webhook and its secret"),
    ...errorResponses,
  },
});

const getRoute = defineRoute({
  operationId: "getWebhook",
  permission: "webhooks:manage",
  method: "get",
  path: `${base}/{webhookId}`,
  tags,
  summary: "Get a webhook",
  request: { params: WebhookParams },
  responses: { 200: jsonResponse(Webhook, "The webhook"), ...errorResponses },
});

const updateRoute = defineRoute({
  operationId: "updateWebhook",
  permission: "webhooks:manage",
  method: "patch",
  path: `${base}/{webhookId}`,
  tags,
  summary: "Change a webhook's URL, subscriptions, description or active flag",
  description: "Setting active: true re-enables a webhook that was disabled, e.g. after a 410.",
  request: {
    params: WebhookParams,
    body: jsonBody(EndpointPatch),
  },
  responses: { 200: jsonResponse(Webhook, "The webhook"), ...errorResponses },
});

const deleteRoute = defineRoute({
  operationId: "deleteWebhook",
  permission: "webhooks:manage",
  method: "delete",
  path: `${base}/{webhookId}`,
  tags,
  summary: "Delete a webhook and its delivery log",
  request: { params: WebhookParams },
  responses: { 204: { description: "Deleted" }, ...errorResponses },
});

const rotateRoute = defineRoute({
  operationId: "rotateWebhookSecret",
  permission: "webhooks:manage",
  method: "post",
  path: `${base}/{webhookId}/rotate-secret`,
  tags,
  summary: "Rotate the signing secret",
  description:
    "Returns the new secret once. During the overlap window every delivery carries two signatures (new and previous secret), so receivers can switch without rejecting any.",
  request: {
    params: WebhookParams,
    body: jsonBody(SecretRotation),
  },
  responses: {
    200: jsonResponse(WebhookWithSecret, "The webhook and its new secret"),
    ...errorResponses,
  },
});

const testRoute = defineRoute({
  operationId: "testWebhook",
  permission: "webhooks:manage",
  method: "post",
  path: `${base}/{webhookId}/test`,
  tags,
  summary: "Send a webhook.test event to this webhook",
  request: { params: WebhookParams },
  responses: {
    202: jsonResponse(z.object({ eventId: z.string() }), "Queued; see the deliveries"),
    ...errorResponses,
    ...conflictResponse,
  },
});

const deliveriesRoute = defineRoute({
  operationId: "listWebhookDeliveries",
  permission: "webhooks:manage",
  method: "get",
  path: `${base}/{webhookId}/deliveries`,
  tags,
  summary: "The delivery log, newest first",
  request: {
    params: WebhookParams,
    query: z.object({
      status: z.enum(DELIVERY_STATUSES).optional(),
      limit: limitQuery,
      before: z
        .string()
        .max(40)
        .optional()
        .openapi({ description: "nextCursor of the previous page" }),
    }),
  },
  responses: {
    200: jsonResponse(page(Delivery, z.string()), "Deliveries"),
    ...errorResponses,
  },
});

const deliveryRoute = defineRoute({
  operationId: "getWebhookDelivery",
  permission: "webhooks:manage",
  method: "get",
  path: `${base}/{webhookId}/deliveries/{deliveryId}`,
  tags,
  summary: "One delivery: the JSON sent and every attempt",
  request: { params: DeliveryParams },
  responses: {
    200: jsonResponse(DeliveryDetail, "The delivery"),
    ...errorResponses,
  },
});

const redeliverRoute = defineRoute({
  operationId: "redeliverWebhookDelivery",
  permission: "webhooks:manage",
  method: "post",
  path: `${base}/{webhookId}/deliveries/{deliveryId}/redeliver`,
  tags,
  summary: "Send a delivery again now (same webhook-id, same body)",
  description:
    "Any delivery: a failed or succeeded one is replayed; a pending or retrying one is attempted now with a fresh retry schedule, and its scheduled retry is dropped. 409 while an attempt is being made.",
  request: { params: DeliveryParams },
  responses: {
    202: jsonResponse(Delivery, "Queued again"),
    ...errorResponses,
    ...conflictResponse,
  },
});

/** The SSRF guard's only setting, from the deployment's vars. */
function urlGuard(c: AdminContext) {
  return { allowLoopback: c.env.WEBHOOK_ALLOW_LOOPBACK === "true" };
}

export function registerWebhookRoutes(app: OpenAPIHono<AdminHonoEnv>) {
  app.openapi(listRoute, async (c) =>
    c.json({ items: await listEndpoints(readContext(c), c.req.valid("param").project) }, 200),
  );
  app.openapi(createWebhookRoute, async (c) => {
    const { endpoint, secret } = await createEndpoint(
      mutationContext(c),
      c.req.valid("param").project,
      c.req.valid("json"),
      urlGuard(c),
    );
    return c.json({ webhook: endpoint, secret }, 201);
  });
  app.openapi(getRoute, async (c) => {
    const { project, webhookId } = c.req.valid("param");
    return c.json(await getEndpoint(readContext(c), project, webhookId), 200);
  });
  app.openapi(updateRoute, async (c) => {
    const { project, webhookId } = c.req.valid("param");
    return c.json(
      await updateEndpoint(
        mutationContext(c),
        project,
        webhookId,
        c.req.valid("json"),
        urlGuard(c),
      ),
      200,
    );
  });
  app.openapi(deleteRoute, async (c) => {
    const { project, webhookId } = c.req.valid("param");
    await deleteEndpoint(mutationContext(c), project, webhookId);
    return c.body(null, 204);
  });
  app.openapi(rotateRoute, async (c) => {
    const { project, webhookId } = c.req.valid("param");
    const { endpoint, secret } = await rotateSecret(
      mutationContext(c),
      project,
      webhookId,
      c.req.valid("json"),
    );
    return c.json({ webhook: endpoint, secret }, 200);
  });
  app.openapi(testRoute, async (c) => {
    const { project, webhookId } = c.req.valid("param");
    return c.json(await sendTestEvent(mutationContext(c), project, webhookId), 202);
  });
  app.openapi(deliveriesRoute, async (c) => {
    const { project, webhookId } = c.req.valid("param");
    return c.json(
      await listDeliveries(readContext(c), project, webhookId, c.req.valid("query")),
      200,
    );
  });
  app.openapi(deliveryRoute, async (c) => {
    const { project, webhookId, deliveryId } = c.req.valid("param");
    return c.json(await getDelivery(readContext(c), project, webhookId, deliveryId), 200);
  });
  app.openapi(redeliverRoute, async (c) => {
    const { project, webhookId, deliveryId } = c.req.valid("param");
    return c.json(await redeliver(mutationContext(c), project, webhookId, deliveryId), 202);
  });
}
