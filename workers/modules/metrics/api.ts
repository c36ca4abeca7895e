import type { OpenAPIHono } from "@hono/zod-openapi";
import { type AdminHonoEnv, readContext } from "../../platform/http/app";
import { errorResponses, jsonResponse, problemContent } from "../../platform/http/openapi";
import { defineRoute } from "../access/route-policy";
import { findPrompt } from "../prompts/prompts";
import { metricsContext, promptMetrics } from "./metrics";
import { MetricsParams, MetricsQuery, PromptMetrics } from "./schemas";

const promptMetricsRoute = defineRoute({
  operationId: "getPromptMetrics",
  permission: "prompts:read",
  method: "get",
  path: "/v1/projects/{project}/prompts/{name}/metrics",
  tags: ["metrics"],
  summary: "Calls, errors, latency, tokens, cost and scores of a prompt over time",
  description:
    "One series per version, label or experiment variant, read from the telemetry worker. Hours (or days) without calls are left out of `points`; `total` covers the whole range. Versions telemetry reports that the prompt does not have are kept and marked `unknownVersion`. Without a telemetry worker, `telemetry` is `not_deployed` and `series` is empty.",
  request: { params: MetricsParams, query: MetricsQuery },
  responses: {
    200: jsonResponse(PromptMetrics, "The prompt's metrics over the range"),
    ...errorResponses,
    503: { description: "Telemetry did not answer; try again", content: problemContent },
  },
});

export function registerMetricsRoutes(app: OpenAPIHono<AdminHonoEnv>) {
  app.openapi(promptMetricsRoute, async (c) => {
    const { project, name } = c.req.valid("param");
    const prompt = await findPrompt(readContext(c), project, name);
    return c.json(await promptMetrics(metricsContext(c), prompt, c.req.valid("query")), 200);
  });
}
