import { and, desc, eq, lt } from "drizzle-orm";
import type { ReadContext } from "../../platform/context";
import { type AuditRow, apiKeys, auditLog } from "../../platform/db/schema";
import { type Page, readPage, rowsForPage } from "../../platform/pagination";
import { requireAccess } from "../access/access";
import { findProject } from "../projects/projects";

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
  ctx: ReadContext,
  projectId: string,
  filter: AuditFilter,
): Promise<Page<AuditRow, number>> {
  requireAccess(ctx.actor, projectId, "audit:read");
  await findProject(ctx.db, projectId);
  const rows = await ctx.db
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

/**
 * The names of the project's keys by id, as audit readers see actors: entries record the key id,
 * and people recognise the name. Only names: an audit reader may not manage keys.
 */
export async function actorNames(
  ctx: ReadContext,
  projectId: string,
): Promise<Map<string, string>> {
  requireAccess(ctx.actor, projectId, "audit:read");
  const rows = await ctx.db
    .select({ id: apiKeys.id, name: apiKeys.name })
    .from(apiKeys)
    .where(eq(apiKeys.projectId, projectId));
  return new Map(rows.map((row) => [row.id, row.name]));
}
