import { publishKey } from "../modules/access/publish";
import { type PublishDeps, publishPromptTarget } from "../modules/prompts/publish";
import type { DeliveryMessage, WebhookFanOut } from "../modules/webhooks/fan-out";
import type { Platform } from "../platform/context";
import { openDatabase } from "../platform/db/client";

/** Which module refreshes the KV projection an outbox row names (`prompt:…`, `key:…`). */
export function publishTarget(deps: PublishDeps, projectId: string, target: string) {
  if (target.startsWith("prompt:")) return publishPromptTarget(deps, projectId, target.slice(7));
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

export function webhookFanOutOf(env: AdminEnv): WebhookFanOut {
  return {
    db: openDatabase(env.DB),
    deliveries: env.WEBHOOK_DELIVERIES as Queue<DeliveryMessage>,
    links: { adminUrl: env.ADMIN_URL, edgeUrl: env.EDGE_URL },
  };
}
