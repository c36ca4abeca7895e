import { and, eq, isNull } from "drizzle-orm";
import type { EventMessage, Platform } from "./context";
import type { Database } from "./db/client";
import { outbox } from "./db/schema";

/**
 * How long a failed event waits before the queue hands it to the consumer again: exponential,
 * 10 s, 20 s, 40 s … capped at 10 minutes.
 */
export function eventRetryDelaySeconds(attempts: number): number {
  return Math.min(600, 10 * 2 ** Math.max(0, attempts - 1));
}

/**
 * Consumer of the events queue. Delivery is at-least-once and unordered, so every step is
 * idempotent. Each event first re-converges the KV projection it touched from the current D1
 * state: a publish that failed after the commit is repaired here, well before the cron.
 * Then webhook-visible events fan out to one delivery per subscribed endpoint (after the publish,
 * so a receiver reacting to the webhook reads the new state at the edge).
 * Messages are acked or retried one by one, so one failure does not redeliver the batch.
 * A handled event is recorded on its outbox row; the cron re-sends events that never are.
 */
export async function consumeEvents(
  batch: MessageBatch<EventMessage>,
  platform: Platform,
  /** What else reacts to an event once its projection is current (the webhooks fan-out). */
  afterPublish?: (event: EventMessage) => Promise<unknown>,
): Promise<void> {
  // A change with several events (e.g. a version and the labels it moved) names one target
  // several times; the publisher reads D1's current state, so once per batch is enough.
  const published = new Set<string>();
  for (const message of batch.messages) {
    try {
      const event = message.body;
      const target = event.publishTarget && `${event.projectId}/${event.publishTarget}`;
      if (event.publishTarget && target && !published.has(target)) {
        await platform.publish(event.projectId, event.publishTarget);
        published.add(target);
      }
      if (afterPublish) await afterPublish(event);
      await platform.db
        .update(outbox)
        .set({ consumedAt: new Date().toISOString() })
        .where(and(eq(outbox.eventId, event.eventId), isNull(outbox.consumedAt)));
      message.ack();
    } catch (error) {
      console.error("event handling failed", message.id, String(error));
      message.retry({ delaySeconds: eventRetryDelaySeconds(message.attempts) });
    }
  }
}

/**
 * Consumer of the events dead-letter queue: the event failed every retry. The outbox row records
 * it so an operator can see it; as the event was never consumed, the cron sends it again after
 * the grace period (a bounded number of times), and republish repairs its KV projection.
 */
export async function recordDeadLetteredEvents(
  batch: MessageBatch<EventMessage>,
  db: Database,
): Promise<void> {
  for (const message of batch.messages) {
    console.error("event dead-lettered", message.body.eventId, message.body.type);
    await db
      .update(outbox)
      .set({
        lastError: `Dead-lettered after ${message.attempts} attempts by the events consumer.`,
      })
      .where(eq(outbox.eventId, message.body.eventId));
    message.ack();
  }
}
