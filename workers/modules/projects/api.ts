import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "@hono/zod-openapi";
import { promptName } from "../../platform/fields";
import { type AdminHonoEnv, mutationContext, readContext } from "../../platform/http/app";
import {
  errorResponses,
  jsonBody,
  jsonResponse,
  limitQuery,
  ProjectParams,
  page,
} from "../../platform/http/openapi";
import { defineRoute } from "../access/route-policy";
import { listAudit } from "../audit/audit";
import { getProject, listProjects, ProjectPatch, republish, updateProject } from "./projects";
import { Project } from "./schemas";

const listProjectsRoute = defineRoute({
  permission: "prompts:read",
  method: "get",
  path: "/v1/projects",
  tags: ["projects"],
  summary: "List the projects your key can see (its own)",
  responses: {
    200: jsonResponse(z.object({ items: z.array(Project) }), "Projects"),
    ...errorResponses,
  },
});

const updateProjectRoute = defineRoute({
  permission: "project:manage",
  method: "patch",
  path: "/v1/projects/{project}",
  tags: ["projects"],
  summary: "Rename a project, choose its protected labels or its allowed browser origins",
  request: {
    params: ProjectParams,
    body: jsonBody(ProjectPatch),
  },
  responses: { 200: jsonResponse(Project, "The project"), ...errorResponses },
});

const getProjectRoute = defineRoute({
  permission: "prompts:read",
  method: "get",
  path: "/v1/projects/{project}",
  tags: ["projects"],
  summary: "Get a project",
  request: { params: ProjectParams },
  responses: { 200: jsonResponse(Project, "The project"), ...errorResponses },
});

const PublishReport = z
  .object({
    versionsWritten: z.number().int(),
    pointersWritten: z.number().int(),
    pointersDeleted: z.number().int(),
    keysWritten: z.number().int(),
    keysDeleted: z.number().int(),
    complete: z.boolean(),
    nextCursor: z.string().nullable().openapi({
      description:
        "When not complete (KV allows ~1,000 operations per request): call again with ?after=",
    }),
  })
  .openapi("PublishReport");

const republishRoute = defineRoute({
  permission: "project:manage",
  method: "post",
  path: "/v1/projects/{project}/republish",
  tags: ["projects"],
  summary: "Rebuild every KV key of the project from D1",
  description:
    "KV is a derived cache of D1. This rewrites every version, label pointer and key record of the project and removes KV keys that D1 no longer backs.",
  request: {
    params: ProjectParams,
    query: z.object({
      after: promptName
        .optional()
        .openapi({ description: "Resume after this prompt (the previous answer's nextCursor)" }),
    }),
  },
  responses: { 200: jsonResponse(PublishReport, "What was written"), ...errorResponses },
});

const AuditEntry = z
  .object({
    id: z.number().int(),
    projectId: z.string(),
    actor: z.string(),
    actorRole: z.string(),
    action: z.string(),
    targetType: z.string(),
    target: z.string(),
    before: z.unknown(),
    after: z.unknown(),
    requestId: z.string(),
    createdAt: z.string(),
  })
  .openapi("AuditEntry");

const auditRoute = defineRoute({
  permission: "audit:read",
  method: "get",
  path: "/v1/projects/{project}/audit",
  tags: ["audit"],
  summary: "Browse the audit log, newest first",
  request: {
    params: ProjectParams,
    query: z.object({
      action: z.string().max(64).optional(),
      actor: z.string().max(128).optional(),
      target: z.string().max(256).optional(),
      limit: limitQuery,
      cursor: z.coerce.number().int().positive().optional(),
    }),
  },
  responses: {
    200: jsonResponse(page(AuditEntry, z.number().int()), "Audit entries"),
    ...errorResponses,
  },
});

export function registerProjectRoutes(app: OpenAPIHono<AdminHonoEnv>) {
  app.openapi(listProjectsRoute, async (c) =>
    c.json({ items: await listProjects(readContext(c)) }, 200),
  );
  app.openapi(updateProjectRoute, async (c) =>
    c.json(
      await updateProject(mutationContext(c), c.req.valid("param").project, c.req.valid("json")),
      200,
    ),
  );
  app.openapi(getProjectRoute, async (c) =>
    c.json(await getProject(readContext(c), c.req.valid("param").project), 200),
  );
  app.openapi(republishRoute, async (c) => {
    const { project } = c.req.valid("param");
    const report = await republish(mutationContext(c), project, {
      after: c.req.valid("query").after,
    });
    return c.json(report, 200);
  });
  app.openapi(auditRoute, async (c) => {
    const { project } = c.req.valid("param");
    const { cursor, ...filter } = c.req.valid("query");
    const page = await listAudit(readContext(c), project, { ...filter, before: cursor });
    return c.json(page, 200);
  });
}
