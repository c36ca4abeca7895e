import { ProblemError } from "@cuecard/core/problem";
import { assignVersion } from "./experiments";
import {
  type ExposureSink,
  NOOP_EXPOSURE_SINK,
  telemetryExposureSink,
  withExposures,
} from "./exposures";
import { pickVersion, type ReadKey, type ServedPrompt, type ServedVersion } from "./prompt-store";
import { forwardToTelemetry } from "./telemetry-forward";

/** Who a request is for, as far as optional modules care. */
export interface Audience {
  projectId: string;
  name: string;
  /** The unit id the caller sent (`?unit=`, `Cuecard-Unit`), or null. */
  unit?: string | null;
}

/**
 * What optional modules (experiments, telemetry) add to prompt delivery. They run in-process on
 * the hot path, synchronously and without I/O: their configuration travels in the KV value the
 * edge already read, and their side effects go to `waitUntil`, batched.
 */
export interface DeliveryModules {
  /** The version to serve from what a label or version resolved to. */
  assign(prompt: ServedPrompt, audience: Audience): ServedVersion | undefined;
  /** Told what was served, after the response is built. */
  served(
    version: ServedVersion,
    audience: Audience,
    waitUntil: (promise: Promise<unknown>) => void,
  ): void;
}

/**
 * Without optional modules: a label running an experiment is assigned per unit (its definition
 * is in the pointer; without one, the pointer's own pick), and nothing is recorded.
 */
export const DEFAULT_DELIVERY: DeliveryModules = {
  assign: (prompt, audience) => assignVersion(prompt, audience.unit, pickVersion),
  served: () => {},
};

/** One sink per isolate and binding, so exposures of many requests share a batch. */
const exposureSinks = new WeakMap<Fetcher, ExposureSink>();

/** Where exposures go: the telemetry service when the deployment binds one, else nowhere. */
export function exposureSinkOf(env: { TELEMETRY?: Fetcher }): ExposureSink {
  const service = env.TELEMETRY;
  if (!service) return NOOP_EXPOSURE_SINK;
  let sink = exposureSinks.get(service);
  if (!sink) {
    sink = telemetryExposureSink(service);
    exposureSinks.set(service, sink);
  }
  return sink;
}

/** The modules this deployment runs, wired once per request from its environment. */
export function deliveryModulesOf(env: { TELEMETRY?: Fetcher }): DeliveryModules {
  const sink = exposureSinkOf(env);
  return sink === NOOP_EXPOSURE_SINK ? DEFAULT_DELIVERY : withExposures(DEFAULT_DELIVERY, sink);
}

/**
 * Where telemetry a key may send goes. Not on the hot path: ingest is a cold path, so it is a
 * service binding to the telemetry worker (which validates, with zod, outside this bundle).
 */
export interface TelemetryIngest {
  /** The ingest's answer to `request`, sent on behalf of `readKey` (already checked). */
  ingest(request: Request, readKey: ReadKey): Promise<Response>;
}

/** A deployment without telemetry: its routes say so; prompts are served as before. */
export const NO_TELEMETRY_INGEST: TelemetryIngest = {
  ingest: () =>
    Promise.reject(
      new ProblemError(
        "telemetry_not_configured",
        "This deployment does not run telemetry: the edge has no TELEMETRY service binding. Deploy the cuecard-telemetry worker and bind it to the edge as TELEMETRY (workers/edge/wrangler.toml).",
      ),
    ),
};

/** The telemetry this deployment runs, decided here and nowhere else: bound, or the no-op. */
export function telemetryIngestOf(env: { TELEMETRY?: Fetcher }): TelemetryIngest {
  const service = env.TELEMETRY;
  if (!service) return NO_TELEMETRY_INGEST;
  return { ingest: (request, readKey) => forwardToTelemetry(service, request, readKey) };
}
