import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { jsonVersionNumber, settableLabelName } from "../../../platform/fields";
import { type AdminHonoEnv, mutationContext, readContext } from "../../../platform/http/app";
import {
  conflictResponse,
  errorResponses,
  jsonBody,
  jsonResponse,
  limitQuery,
  page,
} from "../../../platform/http/openapi";
import { defineRoute } from "../../access/route-policy";
import { deleteLabel, labelHistoryOf, listLabels, moveLabel, rollbackLabel } from "../labels";
import { findPrompt } from "../prompts";
import { Label, LabelMove, LabelParams, PromptParams } from "../schemas";

const SettableLabelParams = LabelParams.extend({
  label: settableLabelName.openapi({ param: { name: "label", in: "path" }, example: "production" }),
});

const expectedRev = z.number().int().positive().nullable().optional().openapi({
  description:
    "The label's `rev` as you last saw it (null: the label must not exist yet). If it moved since, the request fails with 409 and nothing changes.",
});

/** Why a change of a label can be a 409 besides a stale rev (docs/experiments.md). */
const FROZEN_BY_EXPERIMENT =
  "While an experiment runs (or is paused) on the label, it cannot be moved or deleted: 409 until the experiment is stopped.";

const LabelChange = z.object({ label: Label, changed: z.boolean() }).openapi("LabelChange");

const listLabelsRoute = defineRoute({
  operationId: "listLabels",
  permission: "prompts:read",
  method: "get",
  path: "/v1/projects/{project}/prompts/{name}/labels",
  tags: ["labels"],
  summary: "List a prompt's labels",
  request: { params: PromptParams },
  responses: {
    200: jsonResponse(z.object({ items: z.array(Label) }), "Labels"),
    ...errorResponses,
  },
});

const moveLabelRoute = defineRoute({
  operationId: "moveLabel",
  permission: "labels:move",
  method: "put",
  path: "/v1/projects/{project}/prompts/{name}/labels/{label}",
  tags: ["labels"],
  summary: "Point a label at a version (create or move it)",
  description: FROZEN_BY_EXPERIMENT,
  request: {
    params: SettableLabelParams,
    body: jsonBody(z.strictObject({ version: jsonVersionNumber, expectedRev })),
  },
  responses: {
    200: jsonResponse(LabelChange, "The label; `changed` is false if it already pointed there"),
    ...errorResponses,
    ...conflictResponse,
  },
});

const deleteLabelRoute = defineRoute({
  operationId: "deleteLabel",
  permission: "labels:move",
  method: "delete",
  path: "/v1/projects/{project}/prompts/{name}/labels/{label}",
  tags: ["labels"],
  summary: "Delete a label",
  description: FROZEN_BY_EXPERIMENT,
  request: {
    params: SettableLabelParams,
    query: z.object({ expectedRev: z.coerce.number().int().positive().optional() }),
  },
  responses: { 204: { description: "Deleted" }, ...errorResponses, ...conflictResponse },
});

const historyRoute = defineRoute({
  operationId: "getLabelHistory",
  permission: "prompts:read",
  method: "get",
  path: "/v1/projects/{project}/prompts/{name}/labels/{label}/history",
  tags: ["labels"],
  summary: "Every move of a label, newest first",
  request: {
    params: LabelParams,
    query: z.object({ limit: limitQuery, cursor: z.coerce.number().int().positive().optional() }),
  },
  responses: {
    200: jsonResponse(page(LabelMove, z.number().int()), "Moves"),
    ...errorResponses,
  },
});

const rollbackRoute = defineRoute({
  operationId: "rollbackLabel",
  permission: "labels:rollback",
  method: "post",
  path: "/v1/projects/{project}/prompts/{name}/labels/{label}/rollback",
  tags: ["labels"],
  summary: "Roll a label back",
  description: `Without \`toVersion\`, moves the label back to the version it served before the current one went live; rolling back again goes one release further back. ${FROZEN_BY_EXPERIMENT}`,
  request: {
    params: SettableLabelParams,
    body: {
      required: false,
      content: {
        "application/json": {
          schema: z.strictObject({
            toVersion: jsonVersionNumber.optional(),
            expectedRev: z.number().int().positive().optional(),
          }),
        },
      },
    },
  },
  responses: {
    200: jsonResponse(LabelChange, "The label"),
    ...errorResponses,
    ...conflictResponse,
  },
});

export function registerLabelRoutes(app: OpenAPIHono<AdminHonoEnv>) {
  app.openapi(listLabelsRoute, async (c) => {
    const { project, name } = c.req.valid("param");
    const ctx = readContext(c);
    const prompt = await findPrompt(ctx, project, name);
    return c.json({ items: await listLabels(ctx, prompt) }, 200);
  });
  app.openapi(moveLabelRoute, async (c) => {
    const { project, name, label } = c.req.valid("param");
    const ctx = mutationContext(c);
    const prompt = await findPrompt(ctx, project, name);
    return c.json(await moveLabel(ctx, prompt, label, c.req.valid("json")), 200);
  });
  app.openapi(deleteLabelRoute, async (c) => {
    const { project, name, label } = c.req.valid("param");
    const ctx = mutationContext(c);
    const prompt = await findPrompt(ctx, project, name);
    await deleteLabel(ctx, prompt, label, c.req.valid("query").expectedRev);
    return c.body(null, 204);
  });
  app.openapi(historyRoute, async (c) => {
    const { project, name, label } = c.req.valid("param");
    const { limit, cursor } = c.req.valid("query");
    const ctx = readContext(c);
    const prompt = await findPrompt(ctx, project, name);
    return c.json(await labelHistoryOf(ctx, prompt, label, { limit, before: cursor }), 200);
  });
  app.openapi(rollbackRoute, async (c) => {
    const { project, name, label } = c.req.valid("param");
    const ctx = mutationContext(c);
    const prompt = await findPrompt(ctx, project, name);
    return c.json(await rollbackLabel(ctx, prompt, label, c.req.valid("json") ?? {}), 200);
  });
}
