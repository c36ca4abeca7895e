import { readKeyRecord, readKeyRecordKey } from "@cuecard/core/kv-records";
import { eq } from "drizzle-orm";
import type { Database } from "../../platform/db/client";
import { type ApiKeyRow, apiKeys, projects } from "../../platform/db/schema";

/**
 * This module's KV projection: a read-key record per usable key, so the edge checks a key
 * without D1. Its publish target is `key:{id}`; `key:*` republishes every key of a project
 * (its records carry the project's allowed origins, so a change of those rewrites them all).
 */

export function keyTarget(keyId: string) {
  return `key:${keyId}`;
}

/** Every key record of the project: what a change of the project's allowed origins publishes. */
export const PROJECT_KEYS_TARGET = "key:*";

export interface KeyPublishReport {
  keysWritten: number;
  keysDeleted: number;
}

async function projectOrigins(db: Database, projectId: string): Promise<string[]> {
  const project = await db.query.projects.findFirst({
    columns: { allowedOrigins: true },
    where: eq(projects.id, projectId),
  });
  return project?.allowedOrigins ?? [];
}

/** Publishes a key's record for the edge while it is usable, and removes it otherwise. */
export async function publishKey(
  deps: { db: Database; kv: KVNamespace },
  keyId: string,
): Promise<KeyPublishReport> {
  const report = { keysWritten: 0, keysDeleted: 0 };
  const key = await deps.db.query.apiKeys.findFirst({ where: eq(apiKeys.id, keyId) });
  if (!key) return report;
  await publishKeyRow(deps.kv, key, await projectOrigins(deps.db, key.projectId), report);
  return report;
}

/** Publishes every key of the project, reading the project's origins once. */
export async function publishProjectKeys(
  deps: { db: Database; kv: KVNamespace },
  projectId: string,
): Promise<KeyPublishReport> {
  const report = { keysWritten: 0, keysDeleted: 0 };
  const origins = await projectOrigins(deps.db, projectId);
  const keys = await deps.db.select().from(apiKeys).where(eq(apiKeys.projectId, projectId));
  for (const key of keys) await publishKeyRow(deps.kv, key, origins, report);
  return report;
}

async function publishKeyRow(
  kv: KVNamespace,
  key: ApiKeyRow,
  origins: string[],
  report: KeyPublishReport,
): Promise<void> {
  const recordKey = readKeyRecordKey(key.hash);
  const expired = key.expiresAt !== null && Date.parse(key.expiresAt) <= Date.now();
  if (key.revokedAt || expired) {
    await kv.delete(recordKey);
    report.keysDeleted++;
    return;
  }
  const record = readKeyRecord({
    keyId: key.id,
    projectId: key.projectId,
    role: key.role,
    expiresAt: key.expiresAt,
    sendTelemetry: key.sendTelemetry,
    origins,
    keyOrigins: key.allowedOrigins,
    browser: key.browser,
  });
  await kv.put(recordKey, JSON.stringify(record));
  report.keysWritten++;
}
