import { and, asc, eq, inArray, isNotNull, isNull, lt, or, sql } from "drizzle-orm";
import type { EventMessage, Platform } from "./context";
import { type OutboxRow, outbox } from "./db/schema";

/**
 * Delivers outbox rows: publish the change to KV, then put its event on the queue. Each step is
 * recorded on the row, so a retry redoes only what did not happen. Events are at-least-once:
 * the events consumer records when it has handled an event, and the cron re-sends events that
 * were enqueued but not handled within a grace period (the message was lost or mis-acked).
 */

/** The cron gives up re-sending an event after this many tries; the row keeps the reason. */
export const MAX_EVENT_RESENDS = 10;
/** Grace period before work is presumed lost, unless the deployment sets RECOVERY_GRACE_SECONDS. */
export const DEFAULT_RECOVERY_GRACE_SECONDS = 300;

export function eventMessageOf(row: OutboxRow): EventMessage {
  return {
    eventId: row.eventId,
    type: row.eventType,
    projectId: row.projectId,
    publishTarget: row.publishTarget,
    payload: row.payload,
    createdAt: row.createdAt,
  };
}

function shortError(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 300);
}

/**
 * `published` names the targets already published by this caller since the row's change
 * committed (one change may write several rows for the same target): they are not redone.
 */
export async function dispatchOutboxRow(
  platform: Platform,
  eventId: string,
  published: Set<string> = new Set(),
): Promise<void> {
  const { db } = platform;
  const row = await db.query.outbox.findFirst({ where: eq(outbox.eventId, eventId) });
  if (!row || (row.publishedAt && row.enqueuedAt)) return;
  try {
    if (!row.publishedAt) {
      if (row.publishTarget && !published.has(row.publishTarget)) {
        await platform.publish(row.projectId, row.publishTarget);
        published.add(row.publishTarget);
      }
      await db
        .update(outbox)
        .set({ publishedAt: new Date().toISOString() })
        .where(eq(outbox.id, row.id));
    }
    if (!row.enqueuedAt) {
      await platform.events.send(eventMessageOf(row), { contentType: "json" });
      await db
        .update(outbox)
        .set({ enqueuedAt: new Date().toISOString() })
        .where(eq(outbox.id, row.id));
    }
  } catch (error) {
    await db
      .update(outbox)
      .set({ attempts: sql`${outbox.attempts} + 1`, lastError: shortError(error) })
      .where(eq(outbox.id, row.id));
    throw error;
  }
}

export interface OutboxRetryReport {
  pending: number;
  delivered: number;
  failed: number;
  /** Events enqueued earlier but never consumed, sent again. */
  resent: number;
}

export interface OutboxRecoveryOptions {
  /** How long an enqueued event may go unconsumed before it is presumed lost. */
  graceSeconds?: number;
  now?: Date;
}

/**
 * Run by the cron trigger: retries pending rows, oldest first, then re-sends events that were
 * enqueued but never consumed. Each pending row costs a few KV operations and one invocation may
 * make about 1,000, so a run takes at most `limit` rows of each kind; the next minute's run takes
 * the next ones.
 */
export async function retryPendingOutbox(
  platform: Platform,
  limit = 50,
  options: OutboxRecoveryOptions = {},
): Promise<OutboxRetryReport> {
  const pending = await platform.db
    .select({ eventId: outbox.eventId })
    .from(outbox)
    .where(or(isNull(outbox.publishedAt), isNull(outbox.enqueuedAt)))
    .orderBy(asc(outbox.id))
    .limit(limit);
  const report: OutboxRetryReport = {
    pending: pending.length,
    delivered: 0,
    failed: 0,
    resent: 0,
  };
  for (const { eventId } of pending) {
    try {
      await dispatchOutboxRow(platform, eventId);
      report.delivered++;
    } catch {
      report.failed++;
    }
  }
  report.resent = await resendUnconsumedEvents(platform, limit, options);
  return report;
}

/**
 * Sends again the events that went on the queue more than the grace period ago and were never
 * recorded as consumed. The consumer is idempotent (publishing re-reads D1; fan-out makes one
 * delivery per event and endpoint), so re-sending one that is merely slow costs only work.
 */
export async function resendUnconsumedEvents(
  platform: Platform,
  limit: number,
  options: OutboxRecoveryOptions = {},
): Promise<number> {
  const now = options.now ?? new Date();
  const graceSeconds = options.graceSeconds ?? DEFAULT_RECOVERY_GRACE_SECONDS;
  const cutoff = new Date(now.getTime() - graceSeconds * 1000).toISOString();
  const rows = await platform.db
    .select()
    .from(outbox)
    .where(
      and(
        isNull(outbox.consumedAt),
        isNotNull(outbox.enqueuedAt),
        lt(outbox.enqueuedAt, cutoff),
        lt(outbox.resends, MAX_EVENT_RESENDS),
      ),
    )
    .orderBy(asc(outbox.id))
    .limit(limit);
  if (rows.length === 0) return 0;
  await platform.events.sendBatch(
    rows.map((row) => ({ body: eventMessageOf(row), contentType: "json" as const })),
  );
  // enqueued_at moves, so the next re-send (if this one is lost too) waits another grace period.
  await platform.db
    .update(outbox)
    .set({
      enqueuedAt: now.toISOString(),
      resends: sql`${outbox.resends} + 1`,
      lastError: sql`case when ${outbox.resends} + 1 >= ${MAX_EVENT_RESENDS} then ${`Not consumed after ${MAX_EVENT_RESENDS} re-sends; no longer re-sent.`} else ${outbox.lastError} end`,
    })
    .where(
      inArray(
        outbox.id,
        rows.map((row) => row.id),
      ),
    );
  return rows.length;
}

/** RECOVERY_GRACE_SECONDS from the deployment's vars, or the default when unset or invalid. */
export function recoveryGraceSeconds(value: string | undefined): number {
  const seconds = Number(value);
  return value && Number.isFinite(seconds) && seconds >= 0
    ? seconds
    : DEFAULT_RECOVERY_GRACE_SECONDS;
}
