import { ProblemError } from "@cuecard/core/problem";
import { type ChartSeries, Sparkline } from "../../../../admin/charts";
import { promptPath } from "../../../../admin/components/layout";
import type { UiContext } from "../../../../admin/session";
import type { PromptRow } from "../../prompts/prompts";
import { metricsContext, promptMetrics } from "../metrics";
import type { MetricsQueryInput, PromptMetricsView } from "../schemas";
import { bucketsOf, formatTotal, overallTrend, pageQuery } from "./metrics-view";

/** The metrics, or why there are none: telemetry did not answer (or refused the query). */
export type MetricsResult = { metrics: PromptMetricsView } | { error: string };

/** Reads metrics for a page; telemetry being down is a notice on the page, not an error page. */
export async function readMetrics(
  c: UiContext,
  prompt: PromptRow,
  query: MetricsQueryInput,
): Promise<MetricsResult> {
  try {
    return { metrics: await promptMetrics(metricsContext(c), prompt, query) };
  } catch (error) {
    if (error instanceof ProblemError && (error.status === 503 || error.status === 422)) {
      return { error: error.message };
    }
    throw error;
  }
}

/** The prompt page's trend: calls and error rate over the last 7 days, or why not. */
export type PromptTrendData =
  | {
      state: "ok";
      calls: ChartSeries["points"];
      errorRate: ChartSeries["points"];
      from: number;
      to: number;
      totalCalls: number;
      totalErrors: number;
    }
  | { state: "not_deployed" }
  | { state: "error"; message: string };

function frameOf(metrics: PromptMetricsView) {
  const { from, to, granularity } = metrics;
  return { from: Date.parse(from), to: Date.parse(to), granularity };
}

export async function loadPromptTrend(c: UiContext, prompt: PromptRow): Promise<PromptTrendData> {
  const result = await readMetrics(c, prompt, pageQuery("7d", "version", new Date()));
  if ("error" in result) return { state: "error", message: result.error };
  if (result.metrics.telemetry === "not_deployed") return { state: "not_deployed" };
  const frame = frameOf(result.metrics);
  const trend = overallTrend(
    result.metrics.series,
    bucketsOf(frame.from, frame.to, frame.granularity),
  );
  return { state: "ok", from: frame.from, to: frame.to, ...trend };
}

/** A small summary of the last 7 days, linking to the metrics page. */
export function PromptTrend({ name, trend }: { name: string; trend: PromptTrendData }) {
  return (
    <section aria-labelledby="trend-title" class="trend">
      <h2 id="trend-title">Last 7 days</h2>
      {trend.state === "ok" ? (
        <div class="trend-figures">
          <div>
            <span class="muted small">Calls</span>{" "}
            <strong class="trend-number">{formatTotal(trend.totalCalls, "count")}</strong>
            <Sparkline
              label={`Calls per day, last 7 days: ${trend.calls.map((p) => p.value ?? 0).join(", ")}`}
              points={trend.calls}
              from={trend.from}
              to={trend.to}
            />
          </div>
          <div>
            <span class="muted small">Error rate</span>{" "}
            <strong class="trend-number">
              {formatTotal(
                trend.totalCalls > 0 ? trend.totalErrors / trend.totalCalls : null,
                "percent",
              )}
            </strong>
            <Sparkline
              label={`Error rate per day, last 7 days: ${trend.errorRate.map((p) => formatTotal(p.value, "percent")).join(", ")}`}
              points={trend.errorRate}
              from={trend.from}
              to={trend.to}
            />
          </div>
        </div>
      ) : trend.state === "not_deployed" ? (
        <p class="muted">Telemetry is not deployed, so there are no call metrics.</p>
      ) : (
        <p class="muted">{trend.message}</p>
      )}
      <p>
        <a href={promptPath(name, "/metrics")}>All metrics</a>
        {" · "}
        <a href={promptPath(name, "/metrics/compare")}>Compare two versions</a>
      </p>
    </section>
  );
}
