import { PROJECT_KEYS_TARGET, publishKey, publishProjectKeys } from "../modules/access/publish";
import { telemetryReaderOf } from "../modules/metrics/reader";
import { type PublishDeps, publishPromptTarget } from "../modules/prompts/publish";
import type { DeliveryMessage, WebhookFanOut } from "../modules/webhooks/fan-out";
import type { OptionalModules, Platform } from "../platform/context";
import { openDatabase } from "../platform/db/client";

/** Which module refreshes the KV projection an outbox row names (`prompt:…`, `key:…`). */
export function publishTarget(deps: PublishDeps, projectId: string, target: string) {
  if (target.startsWith("prompt:")) return publishPromptTarget(deps, projectId, target.slice(7));
  if (target === PROJECT_KEYS_TARGET) return publishProjectKeys(deps, projectId);
  if (target.startsWith("key:")) return publishKey(deps, target.slice(4));
  throw new Error(`unknown publish target ${target}`);
}

/**
 * The one place the control plane's bindings are wired to the modules: which module refreshes
 * which KV projection, and who reacts to events. Everything else receives these as parameters.
 */
export function platformOf(env: AdminEnv): Platform {
  const db = openDatabase(env.DB);
  const kv = env.PROMPTS_KV;
  return {
    db,
    kv,
    events: env.EVENTS,
    publish: (projectId, target) => publishTarget({ db, kv }, projectId, target),
  };
}

/**
 * The optional modules of this deployment: each one's hook over its binding, or its no-op default
 * when wrangler.toml does not bind it. A new optional module adds its hook to `OptionalModules`
 * (declaration merging in its own folder) and one line here.
 */
export function optionalModulesOf(env: AdminEnv): OptionalModules {
  // Typed as always bound (wrangler.toml declares it); a deployment may remove the block.
  const bindings = env as Partial<Pick<AdminEnv, "TELEMETRY">>;
  return {
    telemetry: telemetryReaderOf(bindings.TELEMETRY),
  };
}

export function webhookFanOutOf(env: AdminEnv): WebhookFanOut {
  return {
    db: openDatabase(env.DB),
    deliveries: env.WEBHOOK_DELIVERIES as Queue<DeliveryMessage>,
    links: { adminUrl: env.ADMIN_URL, edgeUrl: env.EDGE_URL },
  };
}
