import { publishTarget } from "../modules/prompts/publish";
import type { DeliveryMessage, WebhookFanOut } from "../modules/webhooks/fan-out";
import type { Platform } from "../platform/context";
import { openDatabase } from "../platform/db/client";

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
