import { ProblemError } from "@cuecard/core/problem";
import { asc, eq } from "drizzle-orm";
import { commitChange } from "../../platform/changes";
import type { MutationContext } from "../../platform/context";
import type { Database } from "../../platform/db/client";
import { type ProjectRow, projects } from "../../platform/db/schema";
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

export async function getProject(db: Database, projectId: string): Promise<ProjectView> {
  const project = await db.query.projects.findFirst({ where: eq(projects.id, projectId) });
  if (!project) throw new ProblemError("not_found", `Project '${projectId}' does not exist.`);
  return toProjectView(project);
}

export async function listProjects(db: Database, onlyId?: string): Promise<ProjectView[]> {
  const rows = await db
    .select()
    .from(projects)
    .where(onlyId === undefined ? undefined : eq(projects.id, onlyId))
    .orderBy(asc(projects.id));
  return rows.map(toProjectView);
}

export async function createProject(
  ctx: MutationContext,
  input: { id: string; name: string },
): Promise<ProjectView> {
  await commitChange(ctx, {
    projectId: input.id,
    statements: [ctx.db.insert(projects).values({ id: input.id, name: input.name })],
    audit: { action: "project.create", targetType: "project", target: input.id, after: input },
    event: { type: "project.created", publishTarget: null, payload: { project: input } },
  });
  return getProject(ctx.db, input.id);
}

export async function updateProject(
  ctx: MutationContext,
  projectId: string,
  patch: { name?: string; protectedLabels?: string[] },
): Promise<ProjectView> {
  const before = await getProject(ctx.db, projectId);
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
  return getProject(ctx.db, projectId);
}
