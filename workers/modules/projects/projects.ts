import { LABELS_PER_REQUEST_MAX, PROJECT_NAME_MAX } from "@cuecard/core/limits";
import { ProblemError } from "@cuecard/core/problem";
import { z } from "@hono/zod-openapi";
import { asc, eq } from "drizzle-orm";
import { commitChange } from "../../platform/changes";
import type { MutationContext, ReadContext } from "../../platform/context";
import type { Database } from "../../platform/db/client";
import { auditLog, type ProjectRow, projects } from "../../platform/db/schema";
import { settableLabelName, type Untrusted, validInput } from "../../platform/fields";
import { requireAccess } from "../access/access";
import { type RepublishReport, republishProject } from "../prompts/publish";
import type { ProjectView } from "./schemas";

export type { ProjectView } from "./schemas";

function toProjectView(row: ProjectRow): ProjectView {
  return {
    id: row.id,
    name: row.name,
    protectedLabels: row.protectedLabels,
    createdAt: row.createdAt,
  };
}

/** What PATCH /v1/projects/{project} takes; the verb checks it too. */
export const ProjectPatch = z.strictObject({
  name: z.string().min(1).max(PROJECT_NAME_MAX).optional(),
  protectedLabels: z
    .array(settableLabelName)
    .max(LABELS_PER_REQUEST_MAX)
    .optional()
    .openapi({ description: "Labels only publishers and admins may move" }),
});

/** The project, for verbs that have checked the actor's access already (no check here). */
export async function findProject(db: Database, projectId: string): Promise<ProjectView> {
  const project = await db.query.projects.findFirst({ where: eq(projects.id, projectId) });
  if (!project) throw new ProblemError("not_found", `Project '${projectId}' does not exist.`);
  return toProjectView(project);
}

export async function getProject(ctx: ReadContext, projectId: string): Promise<ProjectView> {
  requireAccess(ctx.actor, projectId, "prompts:read");
  return findProject(ctx.db, projectId);
}

/** The projects the actor can see: a credential belongs to one. */
export async function listProjects(ctx: ReadContext): Promise<ProjectView[]> {
  const own = ctx.actor.projectId;
  if (own === null) return [];
  requireAccess(ctx.actor, own, "prompts:read");
  const rows = await ctx.db
    .select()
    .from(projects)
    .where(eq(projects.id, own))
    .orderBy(asc(projects.id));
  return rows.map(toProjectView);
}

export async function updateProject(
  ctx: MutationContext,
  projectId: string,
  input: Untrusted<typeof ProjectPatch>,
): Promise<ProjectView> {
  requireAccess(ctx.actor, projectId, "project:manage");
  const patch = validInput(ProjectPatch, input);
  const before = await findProject(ctx.db, projectId);
  // Only what the patch names is written: a concurrent edit of the other field is kept.
  const after: { name?: string; protectedLabels?: string[] } = {};
  if (patch.name !== undefined) after.name = patch.name;
  if (patch.protectedLabels !== undefined) after.protectedLabels = patch.protectedLabels;
  if (Object.keys(after).length === 0) return before;
  await commitChange(ctx, {
    projectId,
    statements: [ctx.db.update(projects).set(after).where(eq(projects.id, projectId))],
    audit: {
      action: "project.update",
      targetType: "project",
      target: projectId,
      before: { name: before.name, protectedLabels: before.protectedLabels },
      after,
    },
    event: {
      type: "project.updated",
      publishTarget: null,
      payload: { project: { id: projectId, ...after } },
    },
  });
  return findProject(ctx.db, projectId);
}

/**
 * Rebuilds the project's KV projection from D1 (one page of it, after `after`) and records who
 * did it. Not a change of D1, so it is audited directly rather than through commitChange.
 */
export async function republish(
  ctx: MutationContext,
  projectId: string,
  options: { after?: string } = {},
): Promise<RepublishReport> {
  requireAccess(ctx.actor, projectId, "project:manage");
  await findProject(ctx.db, projectId);
  const report = await republishProject(ctx, projectId, options);
  await ctx.db.insert(auditLog).values({
    projectId,
    actor: ctx.actor.id,
    actorRole: ctx.actor.role,
    action: "project.republish",
    targetType: "project",
    target: projectId,
    after: report,
    requestId: ctx.requestId,
  });
  return report;
}
