import { fieldErrors, ProblemError } from "@cuecard/core/problem";
import {
  checkStatisticsRequest,
  experimentStatistics,
  STATISTICS_BODY_MAX_BYTES,
} from "../experiment-statistics";
import { KEY_ID_HEADER, readJsonBody, type TelemetryApp } from "../http";
import {
  experimentExposures,
  metricsQuery,
  metricsRange,
  promptMetrics,
  promptName,
} from "../metrics";
import { experimentId, projectId } from "../schemas";

function pathParam(
  value: string,
  schema: typeof promptName | typeof projectId,
  field: string,
): string {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new ProblemError("validation_failed", `The ${field} in the path is not valid.`, {
      errors: fieldErrors(`path.${field}`, parsed.error.issues),
    });
  }
  return parsed.data;
}

/**
 * Queries for the admin worker (through its service binding). A request the edge forwarded
 * carries the edge's trusted headers: those are ingest, never queries, so they are refused here.
 */
export function registerInternalQueries(app: TelemetryApp) {
  app.use("/internal/*", async function internalOnly(c, next) {
    if (c.req.header(KEY_ID_HEADER)) {
      throw new ProblemError("forbidden", "Read keys cannot query telemetry; use the admin API.");
    }
    await next();
  });

  // Prompt names may contain '/', so the name is the rest of the path before /metrics.
  app.get("/internal/projects/:projectId/prompts/:name{.+}/metrics", async (c) => {
    const project = pathParam(c.req.param("projectId"), projectId, "projectId");
    const name = pathParam(c.req.param("name"), promptName, "name");
    const parsed = metricsQuery.safeParse(c.req.query());
    if (!parsed.success) {
      throw new ProblemError("validation_failed", "The metrics query is not valid; see errors.", {
        errors: fieldErrors("query", parsed.error.issues),
      });
    }
    const range = metricsRange(parsed.data, Date.now());
    if ("problem" in range) {
      throw new ProblemError("validation_failed", "The metrics range is not valid; see errors.", {
        errors: [range.problem],
      });
    }
    return c.json(await promptMetrics(c.env.TELEMETRY_DB, project, name, parsed.data, range.range));
  });

  app.get("/internal/projects/:projectId/experiments/:experimentId/exposures", async (c) => {
    const project = pathParam(c.req.param("projectId"), projectId, "projectId");
    const experiment = pathParam(c.req.param("experimentId"), experimentId, "experimentId");
    return c.json(await experimentExposures(c.env.TELEMETRY_DB, project, experiment));
  });

  app.post("/internal/projects/:projectId/experiments/:experimentId/statistics", async (c) => {
    const project = pathParam(c.req.param("projectId"), projectId, "projectId");
    const experiment = pathParam(c.req.param("experimentId"), experimentId, "experimentId");
    const body = await readJsonBody(c.req.raw, STATISTICS_BODY_MAX_BYTES, {
      tooLarge: `A statistics request is at most ${STATISTICS_BODY_MAX_BYTES} bytes.`,
    });
    const checked = checkStatisticsRequest(body);
    if (!checked.ok) {
      throw new ProblemError(
        "validation_failed",
        "The statistics request is not valid; see errors.",
        {
          errors: checked.errors,
        },
      );
    }
    return c.json(
      await experimentStatistics(c.env.TELEMETRY_DB, project, experiment, checked.request),
    );
  });
}
