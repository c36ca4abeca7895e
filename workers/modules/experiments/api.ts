import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { promptName } from "../../platform/fields";
import { type AdminHonoEnv, mutationContext, readContext } from "../../platform/http/app";
import {
  conflictResponse,
  errorResponses,
  jsonBody,
  jsonResponse,
  limitQuery,
  ProjectParams,
  page,
} from "../../platform/http/openapi";
import { defineRoute } from "../access/route-policy";
import {
  createExperiment,
  getExperimentWithExposures,
  listExperiments,
  pauseExperiment,
  resumeExperiment,
  startExperiment,
  stopExperiment,
  updateExperiment,
} from "./experiments";
import {
  EXPERIMENT_STATES,
  Experiment,
  ExperimentParams,
  ExperimentPatch,
  ExperimentWithExposures,
  experimentId,
  NewExperiment,
  StopInput,
} from "./schemas";

const base = "/v1/projects/{project}/experiments";

const listRoute = defineRoute({
  operationId: "listExperiments",
  permission: "prompts:read",
  method: "get",
  path: base,
  tags: ["experiments"],
  summary: "List experiments, newest first",
  request: {
    params: ProjectParams,
    query: z.object({
      state: z.enum(EXPERIMENT_STATES).optional(),
      prompt: promptName.optional().openapi({ description: "Only this prompt's experiments" }),
      limit: limitQuery,
      cursor: experimentId.optional().openapi({ description: "nextCursor of the previous page" }),
    }),
  },
  responses: {
    200: jsonResponse(page(Experiment, z.string()), "A page of experiments"),
    ...errorResponses,
  },
});

const createRoute = defineRoute({
  operationId: "createExperiment",
  permission: "labels:move",
  method: "post",
  path: base,
  tags: ["experiments"],
  summary: "Create an experiment (a draft) on a prompt's label",
  description:
    "Weights are fractions of the experiment's units and, control included, add up to 1. The control's version is the label's when the experiment starts.",
  request: { params: ProjectParams, body: jsonBody(NewExperiment) },
  responses: {
    201: jsonResponse(Experiment, "The draft"),
    ...errorResponses,
    ...conflictResponse,
  },
});

const getRoute = defineRoute({
  operationId: "getExperiment",
  permission: "prompts:read",
  method: "get",
  path: `${base}/{id}`,
  tags: ["experiments"],
  summary: "Get an experiment",
  description:
    "With `exposures`: how many distinct units the edge has served each arm so far, from the telemetry worker (exact; reported within seconds of being served).",
  request: { params: ExperimentParams },
  responses: {
    200: jsonResponse(ExperimentWithExposures, "The experiment and its exposures"),
    ...errorResponses,
  },
});

const patchRoute = defineRoute({
  operationId: "updateExperiment",
  permission: "labels:move",
  method: "patch",
  path: `${base}/{id}`,
  tags: ["experiments"],
  summary: "Edit a draft experiment",
  description: "Only drafts can be edited (409 otherwise); the result is checked as a whole.",
  request: { params: ExperimentParams, body: jsonBody(ExperimentPatch) },
  responses: {
    200: jsonResponse(Experiment, "The draft"),
    ...errorResponses,
    ...conflictResponse,
  },
});

function transitionRoute(
  action: "start" | "pause" | "resume",
  summary: string,
  description: string,
) {
  return defineRoute({
    operationId: `${action}Experiment`,
    permission: "labels:move",
    method: "post",
    path: `${base}/{id}/${action}`,
    tags: ["experiments"],
    summary,
    description,
    request: { params: ExperimentParams },
    responses: {
      200: jsonResponse(Experiment, "The experiment"),
      ...errorResponses,
      ...conflictResponse,
    },
  });
}

const startRoute = transitionRoute(
  "start",
  "Start a draft experiment",
  "Fixes the control (the label's version now) and publishes the split to the edge. Needs the rights a move of the label needs. 409 when the experiment is not a draft, the prompt is archived, the label does not exist or another experiment runs on it.",
);
const pauseRoute = transitionRoute(
  "pause",
  "Pause a running experiment",
  "The label serves its control to everyone again (within the edge's staleness bound).",
);
const resumeRoute = transitionRoute(
  "resume",
  "Resume a paused experiment",
  "Every unit gets the variant it had before: the seed does not change.",
);

const stopRoute = defineRoute({
  operationId: "stopExperiment",
  permission: "labels:move",
  method: "post",
  path: `${base}/{id}/stop`,
  tags: ["experiments"],
  summary: "Stop an experiment, optionally promoting a variant",
  description:
    "With `promote`, the label moves to that variant's version in the same change (audited, and announced as `prompt.label.moved`). The label can be moved by hand again afterwards.",
  request: {
    params: ExperimentParams,
    body: {
      required: false,
      content: { "application/json": { schema: StopInput } },
    },
  },
  responses: {
    200: jsonResponse(Experiment, "The stopped experiment"),
    ...errorResponses,
    ...conflictResponse,
  },
});

export function registerExperimentRoutes(app: OpenAPIHono<AdminHonoEnv>) {
  app.openapi(listRoute, async (c) => {
    const { project } = c.req.valid("param");
    const { cursor, ...filter } = c.req.valid("query");
    return c.json(
      await listExperiments(readContext(c), project, { ...filter, after: cursor }),
      200,
    );
  });
  app.openapi(createRoute, async (c) => {
    const { project } = c.req.valid("param");
    return c.json(await createExperiment(mutationContext(c), project, c.req.valid("json")), 201);
  });
  app.openapi(getRoute, async (c) => {
    const { project, id } = c.req.valid("param");
    const ctx = { ...readContext(c), telemetry: c.var.modules.telemetry };
    return c.json(await getExperimentWithExposures(ctx, project, id), 200);
  });
  app.openapi(patchRoute, async (c) => {
    const { project, id } = c.req.valid("param");
    return c.json(
      await updateExperiment(mutationContext(c), project, id, c.req.valid("json")),
      200,
    );
  });
  app.openapi(startRoute, async (c) => {
    const { project, id } = c.req.valid("param");
    return c.json(await startExperiment(mutationContext(c), project, id), 200);
  });
  app.openapi(pauseRoute, async (c) => {
    const { project, id } = c.req.valid("param");
    return c.json(await pauseExperiment(mutationContext(c), project, id), 200);
  });
  app.openapi(resumeRoute, async (c) => {
    const { project, id } = c.req.valid("param");
    return c.json(await resumeExperiment(mutationContext(c), project, id), 200);
  });
  app.openapi(stopRoute, async (c) => {
    const { project, id } = c.req.valid("param");
    return c.json(
      await stopExperiment(mutationContext(c), project, id, c.req.valid("json") ?? {}),
      200,
    );
  });
}
