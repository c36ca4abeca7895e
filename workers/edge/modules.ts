import { pickVersion, type ServedPrompt, type ServedVersion } from "./prompt-store";

/** Who a request is for, as far as optional modules care (experiments fill in the unit). */
export interface Audience {
  projectId: string;
  name: string;
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

/** Without optional modules: the pointer's own pick, and nothing recorded. */
export const DEFAULT_DELIVERY: DeliveryModules = {
  assign: (prompt) => pickVersion(prompt),
  served: () => {},
};

/**
 * The modules this deployment runs, wired once from its environment. None is configured yet,
 * so every deployment serves prompts exactly as the edge alone does.
 */
export function deliveryModulesOf(_env: EdgeEnv): DeliveryModules {
  return DEFAULT_DELIVERY;
}
