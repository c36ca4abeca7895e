import { type SQL, sql } from "drizzle-orm";
import type { Database } from "./db/client";
import { batchGuards } from "./db/schema";

export type GuardReason =
  | "stale_revision"
  | "version_not_found"
  | "prompt_archived"
  | "admin_exists"
  | "experiment_state"
  | "label_not_found";

/**
 * A batch statement that fails — aborting the whole batch — unless `holds` is true when the
 * statement runs. See `batch_guards` in the schema for why a failing statement is needed.
 */
export function guard(db: Database, reason: GuardReason, holds: SQL) {
  return db.insert(batchGuards).select(sql`SELECT ${reason} AS reason WHERE NOT (${holds})`);
}

/** Refuses changes to an archived prompt, checked inside the batch. */
export function archivedGuard(db: Database, promptId: number) {
  return guard(
    db,
    "prompt_archived",
    sql`EXISTS (SELECT 1 FROM prompts WHERE id = ${promptId} AND archived_at IS NULL)`,
  );
}
