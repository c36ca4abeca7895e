import { and, asc, inArray, isNull, lt, or, sql } from "drizzle-orm";
import { webhookDeliveries } from "../../platform/db/schema";
import { enqueueDeliveries, type WebhookFanOut } from "./fan-out";

/**
 * Run by the cron: finds deliveries whose queue message was lost (a stop of the platform, a
 * mis-acked message) and sends them again. A delivery is stuck when it is pending or retrying,
 * nobody is attempting it, and its next attempt was due more than the grace period ago (for a
 * pending one that was never scheduled, its last change). The new message carries the delivery's
 * round, so if the original shows up after all the consumer's claim lets only one of them
 * attempt, and never after a success. The same `webhook-id` is used: it is the delivery's id.
 */

export interface StuckDeliveryOptions {
  graceSeconds: number;
  /** At most this many per run: each is one bound parameter of the update (D1 allows 100). */
  limit?: number;
  now?: Date;
}

export async function requeueStuckDeliveries(
  platform: Pick<WebhookFanOut, "db" | "deliveries">,
  options: StuckDeliveryOptions,
): Promise<number> {
  const { db } = platform;
  const now = options.now ?? new Date();
  const at = now.toISOString();
  const cutoff = new Date(now.getTime() - options.graceSeconds * 1000).toISOString();
  const due = sql`coalesce(${webhookDeliveries.nextRetryAt}, ${webhookDeliveries.updatedAt})`;
  const stuck = await db
    .select({ deliveryId: webhookDeliveries.id, round: webhookDeliveries.round })
    .from(webhookDeliveries)
    .where(
      and(
        inArray(webhookDeliveries.status, ["pending", "retrying"]),
        or(isNull(webhookDeliveries.leaseUntil), lt(webhookDeliveries.leaseUntil, at)),
        lt(due, cutoff),
      ),
    )
    .orderBy(asc(due))
    .limit(options.limit ?? 50);
  if (stuck.length === 0) return 0;
  // Marked due now before sending: a failed send is picked up again after the grace period,
  // and a message that is merely slow is not re-sent every minute.
  await db
    .update(webhookDeliveries)
    .set({ nextRetryAt: at, updatedAt: at })
    .where(
      inArray(
        webhookDeliveries.id,
        stuck.map((row) => row.deliveryId),
      ),
    );
  await enqueueDeliveries(platform.deliveries, stuck);
  return stuck.length;
}
