import { newId } from "@cuecard/core/ids";
import { and, eq, inArray, lte } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { EventMessage } from "../../platform/context";
import type { Database } from "../../platform/db/client";
import { webhookDeliveries, webhookEndpoints } from "../../platform/db/schema";
import {
  isSubscribable,
  type PayloadLinks,
  REDELIVERY_EVENT_TYPE,
  TEST_EVENT_TYPE,
  webhookPayloadOf,
} from "./events";

/** The body of a message on the deliveries queue: which delivery to attempt. */
export interface DeliveryMessage {
  deliveryId: string;
  /** The delivery's round when this was sent; a redeliver starts a new one (absent: any). */
  round?: number;
}

export interface WebhookFanOut {
  db: Database;
  deliveries: Queue<DeliveryMessage>;
  links: PayloadLinks;
}

/** Queues accept at most 100 messages per sendBatch. */
const SEND_BATCH_LIMIT = 100;

export async function enqueueDeliveries(
  deliveries: Queue<DeliveryMessage>,
  messages: DeliveryMessage[],
) {
  for (let start = 0; start < messages.length; start += SEND_BATCH_LIMIT) {
    await deliveries.sendBatch(
      messages.slice(start, start + SEND_BATCH_LIMIT).map((body) => ({
        body,
        contentType: "json" as const,
      })),
    );
  }
}

/**
 * Turns one event into one delivery per subscribed, active endpoint: a webhook_deliveries row
 * (unique per event and endpoint, so a redelivered event adds none) and one queue message each.
 * Messages are sent for every delivery of the event not yet attempted, so an event retried after
 * a failed send enqueues what was missed; at worst a receiver sees a duplicate webhook-id.
 * Returns the number of messages sent.
 */
export async function fanOutEvent(event: EventMessage, platform: WebhookFanOut): Promise<number> {
  const { db } = platform;
  if (event.type === REDELIVERY_EVENT_TYPE) {
    const { deliveryId } = event.payload as { deliveryId: string };
    const delivery = await db.query.webhookDeliveries.findFirst({
      where: and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.status, "pending")),
    });
    if (!delivery) return 0;
    await enqueueDeliveries(platform.deliveries, [{ deliveryId, round: delivery.round }]);
    return 1;
  }

  const isTest = event.type === TEST_EVENT_TYPE;
  if (!isTest && !isSubscribable(event.type)) return 0;
  const endpoints = await db
    .select()
    .from(webhookEndpoints)
    .where(
      and(
        eq(webhookEndpoints.projectId, event.projectId),
        eq(webhookEndpoints.active, true),
        // An endpoint gets the events that happen after it exists, as with Stripe: an event
        // consumed late must not reach a webhook created after it.
        isTest
          ? eq(webhookEndpoints.id, (event.payload as { endpointId: string }).endpointId)
          : lte(webhookEndpoints.createdAt, event.createdAt),
      ),
    );
  const targets = isTest
    ? endpoints
    : endpoints.filter((e) => e.eventTypes.length === 0 || e.eventTypes.includes(event.type));
  if (targets.length === 0) return 0;

  const payload = webhookPayloadOf(event, platform.links);
  const now = new Date().toISOString();
  const inserts = targets.map((endpoint) =>
    db
      .insert(webhookDeliveries)
      .values({
        id: newId("delivery"),
        projectId: event.projectId,
        endpointId: endpoint.id,
        eventId: event.eventId,
        eventType: event.type,
        payload,
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoNothing({ target: [webhookDeliveries.eventId, webhookDeliveries.endpointId] }),
  );
  await db.batch(inserts as unknown as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);

  const unattempted = await db
    .select({ deliveryId: webhookDeliveries.id, round: webhookDeliveries.round })
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.eventId, event.eventId),
        eq(webhookDeliveries.status, "pending"),
        eq(webhookDeliveries.attempts, 0),
        inArray(
          webhookDeliveries.endpointId,
          targets.map((endpoint) => endpoint.id),
        ),
      ),
    );
  await enqueueDeliveries(platform.deliveries, unattempted);
  return unattempted.length;
}
