import type { ExposureEvent } from "@cuecard/core/telemetry";
import type { DeliveryModules } from "./modules";

/**
 * Where the edge reports exposures (a unit was served an experiment's variant). The integrator
 * wires a sink to the telemetry service; the default drops them. A sink receives one batch per
 * request, from `waitUntil`: never awaited on the response path, never one message per exposure.
 */
export interface ExposureSink {
  /** Exposures of one request, all of one project (a read key belongs to one project). */
  record(projectId: string, exposures: readonly ExposureEvent[]): Promise<void>;
}

export const NOOP_EXPOSURE_SINK: ExposureSink = { record: async () => {} };

/** The key id the edge's own exposure reports carry (no real key has this id). */
export const EDGE_REPORTER_KEY_ID = "edge";
/** How long an exposure waits in the isolate for others to share its request. */
export const EXPOSURE_FLUSH_DELAY_MS = 1000;
const EXPOSURES_PER_REQUEST = 100;
/** Units already reported by this isolate, per experiment and variant (bounded; cleared when full). */
const REPORTED_MAX = 10_000;

/**
 * Exposures sent to the telemetry worker in batches ACROSS requests: an isolate collects them for
 * up to EXPOSURE_FLUSH_DELAY_MS (or 100 of a project) and sends one `POST /v1/events` per
 * project, so a busy edge makes about one telemetry request — one queue message — per second per
 * isolate, never one per prompt request. The request that opens a batch keeps the isolate alive
 * for the flush through its `waitUntil`. A unit already reported by this isolate for the same arm
 * is not sent again (exposure counts are distinct units, so a repeat adds nothing).
 *
 * If the isolate is evicted before the flush, or telemetry refuses the batch, those exposures are
 * lost: they are counted at first sight per isolate, and the SDK and other isolates report the
 * same units again, so the distinct-unit counts lose nothing but a unit seen exactly once.
 */
export function telemetryExposureSink(
  service: Fetcher,
  delayMs = EXPOSURE_FLUSH_DELAY_MS,
): ExposureSink {
  const pending = new Map<string, ExposureEvent[]>();
  const reported = new Set<string>();
  let flushing: Promise<void> | undefined;

  const send = async (projectId: string, events: ExposureEvent[]) => {
    const response = await service.fetch("https://telemetry/v1/events", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "cuecard-project-id": projectId,
        "cuecard-key-id": EDGE_REPORTER_KEY_ID,
      },
      body: JSON.stringify({ events }),
    });
    await response.body?.cancel();
    if (!response.ok) console.error("telemetry refused exposures", response.status);
  };
  const flushAll = async () => {
    const batches = [...pending];
    pending.clear();
    flushing = undefined;
    await Promise.all(batches.map(([projectId, events]) => send(projectId, events)));
  };

  return {
    record(projectId, exposures) {
      let batch = pending.get(projectId);
      for (const exposure of exposures) {
        const seen = `${projectId}\u0000${exposure.experiment.id}\u0000${exposure.experiment.variant}\u0000${exposure.unit}`;
        if (reported.has(seen)) continue;
        if (reported.size >= REPORTED_MAX) reported.clear();
        reported.add(seen);
        if (!batch) {
          batch = [];
          pending.set(projectId, batch);
        }
        batch.push(exposure);
      }
      if (batch && batch.length >= EXPOSURES_PER_REQUEST) {
        pending.delete(projectId);
        return send(projectId, batch);
      }
      if (flushing || pending.size === 0) return Promise.resolve();
      flushing = new Promise<void>((resolve) => setTimeout(resolve, delayMs)).then(flushAll);
      return flushing;
    },
  };
}

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
              return sink.record(audience.projectId, batch);
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
