import type { EventMessage, Platform } from "../domain/context";
import { publishTarget } from "../publishing/publisher";

/** Exponential backoff for redelivery: 10 s, 20 s, 40 s … capped at 10 minutes. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(600, 10 * 2 ** Math.max(0, attempts - 1));
}

/**
 * Consumer of the events queue. Delivery is at-least-once and unordered, so every step is
 * idempotent. Each event first re-converges the KV projection it touched from the current D1
 * state: a publish that failed after the commit is repaired here, well before the cron.
 * Messages are acked or retried one by one, so one failure does not redeliver the batch.
 */
export async function consumeEvents(
  batch: MessageBatch<EventMessage>,
  platform: Platform,
): Promise<void> {
  for (const message of batch.messages) {
    try {
      const event = message.body;
      if (event.publishTarget) await publishTarget(platform, event.projectId, event.publishTarget);
      message.ack();
    } catch (error) {
      console.error("event handling failed", message.id, String(error));
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
  }
}
