import { and, desc, eq, lt } from "drizzle-orm";
import type { Database } from "../../platform/db/client";
import { type AuditRow, auditLog } from "../../platform/db/schema";
import { type Page, readPage, rowsForPage } from "../../platform/pagination";
import { getProject } from "../projects/projects";

/** One entry of the audit log, as `listAudit` returns it. */
export type { AuditRow } from "../../platform/db/schema";

export interface AuditFilter {
  action?: string;
  actor?: string;
  target?: string;
  limit: number;
  /** The id of the last entry of the previous page. */
  before?: number;
}

export async function listAudit(
  db: Database,
  projectId: string,
  filter: AuditFilter,
): Promise<Page<AuditRow, number>> {
  await getProject(db, projectId);
  const rows = await db
    .select()
    .from(auditLog)
    .where(
      and(
        eq(auditLog.projectId, projectId),
        filter.action ? eq(auditLog.action, filter.action) : undefined,
        filter.actor ? eq(auditLog.actor, filter.actor) : undefined,
        filter.target ? eq(auditLog.target, filter.target) : undefined,
        filter.before ? lt(auditLog.id, filter.before) : undefined,
      ),
    )
    .orderBy(desc(auditLog.id))
    .limit(rowsForPage(filter.limit));
  return readPage(rows, filter.limit, (row) => row.id);
}
