import { asc, eq, isNull, or, sql } from "drizzle-orm";
import type { EventMessage, Platform } from "./context";
import { type OutboxRow, outbox } from "./db/schema";

/**
 * Delivers outbox rows: publish the change to KV, then put its event on the queue. Each step is
 * recorded on the row, so a retry redoes only what did not happen. Events are at-least-once.
 */

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

export async function dispatchOutboxRow(platform: Platform, eventId: string): Promise<void> {
  const { db } = platform;
  const row = await db.query.outbox.findFirst({ where: eq(outbox.eventId, eventId) });
  if (!row || (row.publishedAt && row.enqueuedAt)) return;
  try {
    if (!row.publishedAt) {
      if (row.publishTarget) await platform.publish(row.projectId, row.publishTarget);
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
}

/**
 * Run by the cron trigger: retries pending rows, oldest first. Each row costs a few KV operations
 * and one invocation may make about 1,000, so a run takes at most `limit` rows; the next minute's
 * run takes the next ones.
 */
export async function retryPendingOutbox(
  platform: Platform,
  limit = 50,
): Promise<OutboxRetryReport> {
  const pending = await platform.db
    .select({ eventId: outbox.eventId })
    .from(outbox)
    .where(or(isNull(outbox.publishedAt), isNull(outbox.enqueuedAt)))
    .orderBy(asc(outbox.id))
    .limit(limit);
  const report: OutboxRetryReport = { pending: pending.length, delivered: 0, failed: 0 };
  for (const { eventId } of pending) {
    try {
      await dispatchOutboxRow(platform, eventId);
      report.delivered++;
    } catch {
      report.failed++;
    }
  }
  return report;
}
