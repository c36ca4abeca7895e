import {
  METRICS_HOURLY_DEFAULT_MAX_DAYS,
  METRICS_RANGE_DEFAULT_DAYS,
  METRICS_RANGE_MAX_DAYS,
} from "@cuecard/core/limits";
import { ProblemError } from "@cuecard/core/problem";
import type { MetricsSeries } from "@cuecard/core/telemetry";
import type { ReadContext } from "../../platform/context";
import type { AdminVariables } from "../../platform/http/app";
import { requireAccess } from "../access/access";
import type { PromptRow } from "../prompts/prompts";
import type { TelemetryQuery, TelemetryReader } from "./reader";
import type { MetricsQueryInput, MetricsSeriesView, PromptMetricsView } from "./schemas";

const DAY_MS = 24 * 3600 * 1000;

/** What the metrics verbs need: a read context and this deployment's telemetry reader. */
export interface MetricsContext extends ReadContext {
  telemetry: TelemetryReader;
}

/** The metrics context of a request (API route or UI page). */
export function metricsContext(c: {
  var: Pick<AdminVariables, "platform" | "actor" | "modules">;
}): MetricsContext {
  return { db: c.var.platform.db, actor: c.var.actor, telemetry: c.var.modules.telemetry };
}

/**
 * The range and granularity a query means: `to` defaults to now, `from` to 7 days before `to`,
 * the granularity to hours for up to 2 days and days beyond. A reversed or too wide range is a
 * 422 naming `query.from`.
 */
export function resolveMetricsQuery(
  projectId: string,
  prompt: string,
  query: MetricsQueryInput,
  now: Date,
): TelemetryQuery {
  const to = query.to ? new Date(query.to) : now;
  const from = query.from
    ? new Date(query.from)
    : new Date(to.getTime() - METRICS_RANGE_DEFAULT_DAYS * DAY_MS);
  const span = to.getTime() - from.getTime();
  const problem = (message: string) =>
    new ProblemError("validation_failed", "Some fields are not valid; see errors.", {
      errors: [{ field: "query.from", message }],
    });
  if (span <= 0) throw problem("must be before `to`");
  if (span > METRICS_RANGE_MAX_DAYS * DAY_MS) {
    throw problem(`the range may cover at most ${METRICS_RANGE_MAX_DAYS} days`);
  }
  return {
    projectId,
    prompt,
    groupBy: query.groupBy,
    from: from.toISOString(),
    to: to.toISOString(),
    granularity:
      query.granularity ?? (span <= METRICS_HOURLY_DEFAULT_MAX_DAYS * DAY_MS ? "hour" : "day"),
    ...(query.version === undefined ? {} : { version: query.version }),
    ...(query.label === undefined ? {} : { label: query.label }),
  };
}

/**
 * Whether a version reported by telemetry is one this prompt has. Versions are numbered 1…latest
 * and never deleted, so anything else came from an app that sent a wrong number. Such calls are
 * kept (dropping them would hide real traffic) and flagged, and the UI greys them out.
 */
function isUnknownVersion(prompt: PromptRow, series: MetricsSeries): boolean {
  return (
    series.version !== undefined && (series.version < 1 || series.version > prompt.latestVersion)
  );
}

/** Series in a stable order: by version, then label, then experiment and variant. */
function bySeriesKey(a: MetricsSeries, b: MetricsSeries): number {
  return (
    (a.version ?? 0) - (b.version ?? 0) ||
    (a.label ?? "").localeCompare(b.label ?? "") ||
    (a.experimentId ?? "").localeCompare(b.experimentId ?? "") ||
    (a.variant ?? "").localeCompare(b.variant ?? "")
  );
}

/** A prompt's metrics over a range, one series per version, label or variant. */
export async function promptMetrics(
  ctx: MetricsContext,
  prompt: PromptRow,
  query: MetricsQueryInput,
  now = new Date(),
): Promise<PromptMetricsView> {
  requireAccess(ctx.actor, prompt.projectId, "prompts:read");
  const resolved = resolveMetricsQuery(prompt.projectId, prompt.name, query, now);
  const metrics = await ctx.telemetry.promptMetrics(resolved);
  const series: MetricsSeriesView[] = [...metrics.series]
    .sort(bySeriesKey)
    .map((one) => (isUnknownVersion(prompt, one) ? { ...one, unknownVersion: true } : one));
  return {
    ...metrics,
    telemetry: ctx.telemetry.deployed ? "deployed" : "not_deployed",
    series,
  };
}
