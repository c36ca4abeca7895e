import { EVENT_AGE_MAX_MS } from "@cuecard/core/telemetry";

/**
 * How long raw events are kept to deduplicate resends. Ingest refuses events whose timestamp is
 * more than EVENT_AGE_MAX_MS from now, so a resend of an event older than that can no longer be
 * accepted; the margin covers the time an accepted event may spend on the queue (retries with
 * their delays) before the consumer records it.
 */
export const DEDUP_MARGIN_MS = 24 * 3600 * 1000;
export const DEDUP_WINDOW_MS = EVENT_AGE_MAX_MS + DEDUP_MARGIN_MS;

/** Rows deleted per statement, so one run never holds the database for long. */
const PRUNE_CHUNK = 5000;
const PRUNE_CHUNKS_PER_RUN = 20;

/** Deletes raw events (and parked scores) past the dedup window; the rollups stay. */
export async function pruneIngestedEvents(db: D1Database, now: number): Promise<number> {
  const cutoff = new Date(now - DEDUP_WINDOW_MS).toISOString();
  let deleted = 0;
  for (let chunk = 0; chunk < PRUNE_CHUNKS_PER_RUN; chunk++) {
    const result = await db
      .prepare(
        `DELETE FROM ingested_events WHERE rowid IN
           (SELECT rowid FROM ingested_events WHERE occurred_at < ?1 LIMIT ?2)`,
      )
      .bind(cutoff, PRUNE_CHUNK)
      .run();
    deleted += result.meta.changes;
    if (result.meta.changes < PRUNE_CHUNK) break;
  }
  return deleted;
}
