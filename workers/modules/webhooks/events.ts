import {
  type EventType,
  isWebhookEvent,
  WEBHOOK_EVENT_TYPES,
  type WebhookEventType,
} from "@cuecard/core/events";
import type { EventMessage } from "../../platform/context";

/**
 * The JSON webhook receivers get. Which events are delivered is the catalog's
 * (`WEBHOOK_EVENT_TYPES` in `@cuecard/core/events`); this file shapes their payloads.
 */

export { WEBHOOK_EVENT_TYPES, type WebhookEventType };

/** Sent by "send test event" to one endpoint, whatever it subscribes to. */
export const TEST_EVENT_TYPE = "webhook.test" satisfies EventType;
/** Internal: a user asked to replay a delivery; the events consumer re-enqueues it. */
export const REDELIVERY_EVENT_TYPE = "webhook.redelivery.requested" satisfies EventType;

export const isSubscribable = isWebhookEvent;

export interface PayloadLinks {
  /** Base URL of the admin UI, e.g. https://cuecard.example.com */
  adminUrl: string;
  /** Base URL of the edge worker, e.g. https://prompts.example.com */
  edgeUrl: string;
}

/** The body every receiver gets (the Standard Webhooks `{type, timestamp, data}` envelope). */
export interface WebhookPayload {
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

const trim = (url: string) => url.replace(/\/+$/, "");

/**
 * Builds the payload from an outbox event. Only names, versions, hashes and the actor's public
 * identity are copied; request ids and anything not listed are left out, so a field added to an
 * internal event later cannot leak to receivers by accident.
 */
export function webhookPayloadOf(event: EventMessage, links: PayloadLinks): WebhookPayload {
  const payload = (event.payload ?? {}) as Record<string, unknown>;
  const actor = payload.actor as { id?: string; name?: string } | undefined;
  const prompt = payload.prompt as { name: string; type: string } | undefined;
  const project = encodeURIComponent(event.projectId);
  const admin = trim(links.adminUrl);
  const data: Record<string, unknown> = {
    eventId: event.eventId,
    project: event.projectId,
    actor: actor ? { id: actor.id ?? null, name: actor.name ?? null } : null,
  };
  for (const field of [
    "version",
    "hash",
    "commitMessage",
    "labels",
    "label",
    "fromVersion",
    "toVersion",
    "isRollback",
    "archivedAt",
    "endpointId",
    "experiment",
    "controlVersion",
    "promoted",
    "stage",
    // The rollout schedule's decisions: why it paused, stopped or rolled back, and which variant.
    "reason",
    "variant",
  ]) {
    if (payload[field] !== undefined) data[field] = payload[field];
  }
  if (prompt) {
    const name = encodeURIComponent(prompt.name);
    data.prompt = { name: prompt.name, type: prompt.type };
    data.links = {
      admin: `${admin}/projects/${project}/prompts/${name}`,
      edge: `${trim(links.edgeUrl)}/v1/prompts/${name}`,
    };
  } else {
    data.links = { admin: `${admin}/projects/${project}/webhooks` };
  }
  return { type: event.type, timestamp: event.createdAt, data };
}
