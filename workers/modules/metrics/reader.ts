import type { ExperimentMetricRef, ExperimentStatistics } from "@cuecard/core/experiment-results";
import { ProblemError } from "@cuecard/core/problem";
import type { MetricsGranularity, MetricsGrouping, PromptMetrics } from "@cuecard/core/telemetry";
import { TelemetryExperimentStatistics, TelemetryExposures, TelemetryMetrics } from "./schemas";

/**
 * How the control plane reads telemetry: one small interface, two implementations, chosen once
 * per request from the bindings (workers/admin/platform.ts). Telemetry is an optional module: a
 * deployment without the telemetry worker gets `NoopTelemetryReader`, and everything else works
 * exactly as without it.
 */
export interface TelemetryReader {
  /** False for the no-op reader: the API and the pages say telemetry is not deployed. */
  readonly deployed: boolean;
  promptMetrics(query: TelemetryQuery): Promise<PromptMetrics>;
  /**
   * Distinct units exposed to each variant of an experiment, exact (telemetry keeps one row per
   * experiment, variant and unit). Null for the no-op reader: there is nothing to count with.
   */
  experimentExposures(projectId: string, experimentId: string): Promise<ExposureCounts | null>;
  /**
   * Per-unit aggregates of an experiment's metrics, with daily cumulative snapshots (the input of
   * the results module's statistics). Null for the no-op reader.
   */
  experimentStatistics(query: ExperimentStatisticsQuery): Promise<ExperimentStatistics | null>;
}

/** What experiment statistics are asked for: the metrics, and optionally a window (ISO 8601). */
export interface ExperimentStatisticsQuery {
  projectId: string;
  experimentId: string;
  metrics: ExperimentMetricRef[];
  since?: string;
  until?: string;
}

/** Distinct units per variant key, as telemetry rolled them up. */
export type ExposureCounts = Record<string, number>;

/** A metrics query with its range resolved (see `resolveMetricsQuery`). */
export interface TelemetryQuery {
  projectId: string;
  prompt: string;
  groupBy: MetricsGrouping;
  /** ISO 8601, UTC. */
  from: string;
  to: string;
  granularity: MetricsGranularity;
  version?: number;
  label?: string;
}

// Declares the hook on the app's optional modules (see OptionalModules in platform/context.ts).
declare module "../../platform/context" {
  interface OptionalModules {
    telemetry: TelemetryReader;
  }
}

/** The reader for this deployment: over the `TELEMETRY` service binding, or the no-op one. */
export function telemetryReaderOf(binding: Fetcher | undefined): TelemetryReader {
  return binding ? new ServiceTelemetryReader(binding) : new NoopTelemetryReader();
}

/** No telemetry worker: every range is empty. */
export class NoopTelemetryReader implements TelemetryReader {
  readonly deployed = false;
  async promptMetrics(query: TelemetryQuery): Promise<PromptMetrics> {
    const { prompt, groupBy, granularity, from, to } = query;
    return { prompt, groupBy, granularity, from, to, series: [] };
  }
  async experimentExposures(): Promise<ExposureCounts | null> {
    return null;
  }
  async experimentStatistics(): Promise<ExperimentStatistics | null> {
    return null;
  }
}

const UNAVAILABLE = "Telemetry did not answer. Try again in a minute.";

/**
 * Asks the telemetry worker over its service binding (never the public internet): `GET
 * /internal/projects/{projectId}/prompts/{name}/metrics` (the prompt name as one encoded
 * segment), `GET /internal/projects/{projectId}/experiments/{experimentId}/exposures` and
 * `POST /internal/projects/{projectId}/experiments/{experimentId}/statistics`.
 */
export class ServiceTelemetryReader implements TelemetryReader {
  readonly deployed = true;
  constructor(private readonly service: Fetcher) {}

  async promptMetrics(query: TelemetryQuery): Promise<PromptMetrics> {
    return this.ask(`/prompts/${encodeURIComponent(query.prompt)}/metrics`, query, (body) => {
      const parsed = TelemetryMetrics.safeParse(body);
      return parsed.success ? parsed.data : undefined;
    });
  }

  /** `GET /internal/projects/{projectId}/experiments/{experimentId}/exposures`. */
  async experimentExposures(projectId: string, experimentId: string): Promise<ExposureCounts> {
    return this.ask(
      `/experiments/${encodeURIComponent(experimentId)}/exposures`,
      { projectId },
      (body) => {
        const parsed = TelemetryExposures.safeParse(body);
        if (!parsed.success || parsed.data.experimentId !== experimentId) return undefined;
        return Object.fromEntries(parsed.data.variants.map((row) => [row.variant, row.units]));
      },
    );
  }

  /** `POST /internal/projects/{projectId}/experiments/{experimentId}/statistics`. */
  async experimentStatistics(query: ExperimentStatisticsQuery): Promise<ExperimentStatistics> {
    const { projectId, experimentId, ...body } = query;
    return this.ask(
      `/experiments/${encodeURIComponent(experimentId)}/statistics`,
      { projectId },
      (answer) => {
        const parsed = TelemetryExperimentStatistics.safeParse(answer);
        if (!parsed.success || parsed.data.experimentId !== experimentId) return undefined;
        return parsed.data as ExperimentStatistics;
      },
      body,
    );
  }

  /**
   * One GET (or, with a body, POST) to the telemetry worker under the project's internal path; `read` checks the answer's
   * shape (undefined: malformed, which is telemetry being unavailable to the caller).
   */
  private async ask<T>(
    path: string,
    query: { projectId: string } & Partial<TelemetryQuery>,
    read: (body: unknown) => T | undefined,
    body?: unknown,
  ): Promise<T> {
    const params = new URLSearchParams();
    if (query.groupBy !== undefined) params.set("groupBy", query.groupBy);
    if (query.from !== undefined) params.set("from", query.from);
    if (query.to !== undefined) params.set("to", query.to);
    if (query.granularity !== undefined) params.set("granularity", query.granularity);
    if (query.version !== undefined) params.set("version", String(query.version));
    if (query.label !== undefined) params.set("label", query.label);
    // The host is ignored by a service binding; it only makes the URL absolute.
    const search = params.size > 0 ? `?${params}` : "";
    const url = `https://telemetry.internal/internal/projects/${encodeURIComponent(query.projectId)}${path}${search}`;
    let response: Response;
    try {
      response = await this.service.fetch(
        url,
        body === undefined
          ? { headers: { accept: "application/json" } }
          : {
              method: "POST",
              headers: { accept: "application/json", "content-type": "application/json" },
              body: JSON.stringify(body),
            },
      );
    } catch (error) {
      console.error("telemetry unreachable", String(error));
      throw new ProblemError("unavailable", UNAVAILABLE);
    }
    if (response.status === 400 || response.status === 422) {
      // The admin API validates the same parameters first, so this is a disagreement between
      // the two workers' rules; the client still learns which field, as telemetry named it.
      const problem = (await response.json().catch(() => ({}))) as {
        detail?: unknown;
        errors?: { field: string; message: string }[];
      };
      throw new ProblemError(
        "validation_failed",
        typeof problem.detail === "string" ? problem.detail : "Telemetry refused the query.",
        { errors: Array.isArray(problem.errors) ? problem.errors : undefined },
      );
    }
    if (!response.ok) {
      console.error("telemetry answered", response.status, await response.text().catch(() => ""));
      throw new ProblemError("unavailable", UNAVAILABLE);
    }
    const parsed = read(await response.json().catch(() => undefined));
    if (parsed === undefined) {
      // Passed on as it came, a malformed answer would break the document's promise to clients.
      console.error("telemetry answer does not have the expected shape", path);
      throw new ProblemError("unavailable", UNAVAILABLE);
    }
    return parsed;
  }
}
