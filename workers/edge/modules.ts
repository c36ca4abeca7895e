import { assignVersion } from "./experiments";
import { type ExposureSink, NOOP_EXPOSURE_SINK, withExposures } from "./exposures";
import { pickVersion, type ServedPrompt, type ServedVersion } from "./prompt-store";

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

/** Where exposures go. The integrator wires a sink to the telemetry service here. */
export function exposureSinkOf(_env: EdgeEnv): ExposureSink {
  return NOOP_EXPOSURE_SINK;
}

/** The modules this deployment runs, wired once per request from its environment. */
export function deliveryModulesOf(env: EdgeEnv): DeliveryModules {
  const sink = exposureSinkOf(env);
  return sink === NOOP_EXPOSURE_SINK ? DEFAULT_DELIVERY : withExposures(DEFAULT_DELIVERY, sink);
}
