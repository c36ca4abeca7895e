import { LABELS_PER_REQUEST_MAX, PROJECT_NAME_MAX } from "@cuecard/core/limits";
import { ProblemError } from "@cuecard/core/problem";
import { z } from "@hono/zod-openapi";
import { asc, eq } from "drizzle-orm";
import { commitChange } from "../../platform/changes";
import type { MutationContext, ReadContext } from "../../platform/context";
import type { Database } from "../../platform/db/client";
import { auditLog, type ProjectRow, projects } from "../../platform/db/schema";
import {
  originPatterns,
  settableLabelName,
  type Untrusted,
  validInput,
} from "../../platform/fields";
import { requireAccess } from "../access/access";
import { PROJECT_KEYS_TARGET } from "../access/publish";
import { type RepublishReport, republishProject } from "../prompts/publish";
import type { ProjectView } from "./schemas";

export type { ProjectView } from "./schemas";

function toProjectView(row: ProjectRow): ProjectView {
  return {
    id: row.id,
    name: row.name,
    protectedLabels: row.protectedLabels,
    allowedOrigins: row.allowedOrigins,
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
  allowedOrigins: originPatterns.optional().openapi({
    description:
      "Browser origins that may call the edge with this project's keys (CORS), each scheme://host[:port] or scheme://host:* for any port, no path: e.g. https://app.example.com, http://localhost:*. Empty (the default): no browser app may. The edge sees a change within the documented bound for keys (about 2 minutes).",
    example: ["https://app.example.com", "http://localhost:*"],
  }),
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
  // Only what the patch names is written: a concurrent edit of another field is kept.
  const after: { name?: string; protectedLabels?: string[]; allowedOrigins?: string[] } = {};
  if (patch.name !== undefined) after.name = patch.name;
  if (patch.protectedLabels !== undefined) after.protectedLabels = patch.protectedLabels;
  if (patch.allowedOrigins !== undefined) after.allowedOrigins = patch.allowedOrigins;
  if (Object.keys(after).length === 0) return before;
  await commitChange(ctx, {
    projectId,
    statements: [ctx.db.update(projects).set(after).where(eq(projects.id, projectId))],
    audit: {
      action: "project.update",
      targetType: "project",
      target: projectId,
      before: {
        name: before.name,
        protectedLabels: before.protectedLabels,
        allowedOrigins: before.allowedOrigins,
      },
      after,
    },
    event: {
      type: "project.updated",
      // Every key record carries the project's origins: a change of them rewrites them all.
      publishTarget: after.allowedOrigins === undefined ? null : PROJECT_KEYS_TARGET,
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
