import { readKeyRecord, readKeyRecordKey } from "@cuecard/core/kv-records";
import { eq } from "drizzle-orm";
import type { Database } from "../../platform/db/client";
import { apiKeys } from "../../platform/db/schema";

/**
 * This module's KV projection: a read-key record per usable key, so the edge checks a key
 * without D1. Its publish target is `key:{id}`.
 */

export function keyTarget(keyId: string) {
  return `key:${keyId}`;
}

export interface KeyPublishReport {
  keysWritten: number;
  keysDeleted: number;
}

/** Publishes a key's record for the edge while it is usable, and removes it otherwise. */
export async function publishKey(
  deps: { db: Database; kv: KVNamespace },
  keyId: string,
): Promise<KeyPublishReport> {
  const report = { keysWritten: 0, keysDeleted: 0 };
  const key = await deps.db.query.apiKeys.findFirst({ where: eq(apiKeys.id, keyId) });
  if (!key) return report;
  const recordKey = readKeyRecordKey(key.hash);
  const expired = key.expiresAt !== null && Date.parse(key.expiresAt) <= Date.now();
  if (key.revokedAt || expired) {
    await deps.kv.delete(recordKey);
    report.keysDeleted++;
    return report;
  }
  const record = readKeyRecord({
    keyId: key.id,
    projectId: key.projectId,
    role: key.role,
    expiresAt: key.expiresAt,
    sendTelemetry: key.sendTelemetry,
  });
  await deps.kv.put(recordKey, JSON.stringify(record));
  report.keysWritten++;
  return report;
}
