import type { ExposureEvent } from "@cuecard/core/telemetry";
import type { DeliveryModules } from "./modules";

/**
 * Where the edge reports exposures (a unit was served an experiment's variant). The integrator
 * wires a sink to the telemetry service; the default drops them. A sink receives one batch per
 * request, from `waitUntil`: never awaited on the response path, never one message per exposure.
 */
export interface ExposureSink {
  record(exposures: readonly ExposureEvent[]): Promise<void>;
}

export const NOOP_EXPOSURE_SINK: ExposureSink = { record: async () => {} };

/**
 * `modules` plus exposure reporting: exposures of assigned units are collected while the
 * request is served and handed to `sink` in one batch, once the synchronous work in progress
 * (a whole batch fetch) is done. Units outside the coverage and requests without a unit are not
 * exposures. Make one per request.
 */
export function withExposures(
  modules: DeliveryModules,
  sink: ExposureSink,
  now: () => Date = () => new Date(),
): DeliveryModules {
  let pending: ExposureEvent[] | null = null;
  return {
    assign: modules.assign,
    served(version, audience, waitUntil) {
      modules.served(version, audience, waitUntil);
      const experiment = version.experiment;
      if (experiment?.reason !== "assigned" || !audience.unit) return;
      if (pending === null) {
        const batch: ExposureEvent[] = [];
        pending = batch;
        waitUntil(
          Promise.resolve()
            .then(() => {
              pending = null;
              return sink.record(batch);
            })
            .catch((error) => console.error("exposure sink failed", String(error))),
        );
      }
      pending.push({
        type: "exposure",
        id: crypto.randomUUID(),
        timestamp: now().toISOString(),
        experiment: { id: experiment.id, key: experiment.key, variant: experiment.variant },
        unit: audience.unit,
        prompt: {
          name: version.published.name,
          version: version.published.version,
          label: version.label,
        },
      });
    },
  };
}
