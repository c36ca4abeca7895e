import type { OpenAPIHono } from "@hono/zod-openapi";
import { type AdminHonoEnv, readContext } from "../../platform/http/app";
import { errorResponses, jsonResponse, problemContent } from "../../platform/http/openapi";
import { defineRoute } from "../access/route-policy";
import { experimentResults } from "./results";
import { ExperimentResults, ResultsParams, ResultsQuery } from "./schemas";

const resultsRoute = defineRoute({
  permission: "prompts:read",
  method: "get",
  operationId: "getExperimentResults",
  path: "/v1/projects/{project}/experiments/{id}/results",
  tags: ["experiments"],
  summary: "An experiment's results: per-variant statistics and a decision",
  description:
    "For the primary metric and every guardrail, per variant: units, the value ± sd (per unit: the unit of analysis is the unit of randomisation), the effect against the control with a 95 % interval, and a p-value (frequentist) or the chance to beat the control and the risk (Bayesian). Then the sample-ratio mismatch check and a decision with its reason. Intervals are sequential (always valid, safe to read every day) unless `sequential=false`. Computed from the telemetry worker's data on every request; 503 `telemetry_not_configured` when this deployment has none.",
  request: { params: ResultsParams, query: ResultsQuery },
  responses: {
    200: jsonResponse(ExperimentResults, "The experiment's results"),
    ...errorResponses,
    503: {
      description:
        "`telemetry_not_configured` (no telemetry worker in this deployment) or `unavailable` (telemetry did not answer; try again)",
      content: problemContent,
    },
  },
});

export function registerResultsRoutes(app: OpenAPIHono<AdminHonoEnv>) {
  app.openapi(resultsRoute, async (c) => {
    const { project, id } = c.req.valid("param");
    const ctx = { ...readContext(c), telemetry: c.var.modules.telemetry };
    return c.json(await experimentResults(ctx, project, id, c.req.valid("query")), 200);
  });
}
