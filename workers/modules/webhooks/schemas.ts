import { z } from "@hono/zod-openapi";

/**
 * The webhooks module's response schemas. The view types its verbs return are inferred from
 * them, so what a verb builds is what the API documents.
 */

/** `standard` (Standard Webhooks) or `github_dispatch` (repository_dispatch). */
export const ENDPOINT_KINDS = ["standard", "github_dispatch"] as const;
export type EndpointKind = (typeof ENDPOINT_KINDS)[number];

export const DELIVERY_STATUSES = ["pending", "retrying", "succeeded", "failed"] as const;

export const Webhook = z
  .object({
    id: z.string(),
    url: z.string(),
    kind: z.enum(ENDPOINT_KINDS),
    description: z.string(),
    eventTypes: z.array(z.string()).openapi({ description: "Empty: every event type" }),
    active: z.boolean(),
    disabledReason: z.string().nullable(),
    previousSecretExpiresAt: z
      .string()
      .nullable()
      .openapi({ description: "Until then the previous secret also signs (rotation overlap)" }),
    hasAuthToken: z.boolean(),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Webhook");
export type EndpointView = z.infer<typeof Webhook>;

export const WebhookWithSecret = z.object({
  webhook: Webhook,
  secret: z.string().openapi({ description: "whsec_… — shown in this response only" }),
});

export const Delivery = z
  .object({
    id: z.string().openapi({ description: "The webhook-id header of every attempt" }),
    endpointId: z.string(),
    eventId: z.string(),
    eventType: z.string(),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    lastLatencyMs: z.number().int().nullable(),
    lastResponseExcerpt: z
      .string()
      .nullable()
      .openapi({ description: "Sanitised, at most 200 characters; never the raw body" }),
    lastError: z.string().nullable(),
    nextRetryAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("WebhookDelivery");
export type DeliveryView = z.infer<typeof Delivery>;

export const Attempt = z
  .object({
    attempt: z.number().int(),
    statusCode: z.number().int().nullable(),
    latencyMs: z.number().int().nullable(),
    responseExcerpt: z.string().nullable(),
    error: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("WebhookAttempt");
export type AttemptView = z.infer<typeof Attempt>;

/** One delivery with the JSON that was sent and every attempt, oldest first. */
export const DeliveryDetail = Delivery.extend({
  payload: z.unknown(),
  attemptLog: z.array(Attempt),
});
export type DeliveryDetailView = z.infer<typeof DeliveryDetail>;
