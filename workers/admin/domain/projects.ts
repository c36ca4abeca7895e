import { asc, eq } from "drizzle-orm";
import { ProblemError } from "../../shared/problem";
import type { Database } from "../db/client";
import { projects } from "../db/schema";
import { commitChange } from "./changes";
import type { MutationContext } from "./context";

export interface ProjectView {
  id: string;
  name: string;
  createdAt: string;
}

export async function getProject(db: Database, projectId: string): Promise<ProjectView> {
  const project = await db.query.projects.findFirst({ where: eq(projects.id, projectId) });
  if (!project) throw new ProblemError("not_found", `Project '${projectId}' does not exist.`);
  return project;
}

export function listProjects(db: Database): Promise<ProjectView[]> {
  return db.select().from(projects).orderBy(asc(projects.id));
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
