import type { PromptType } from "./prompt";
import type { Role } from "./roles";

/**
 * The event catalog: every event a change can emit, with its payload. Verbs emit them through
 * the outbox (the compiler checks each payload against this list), the webhook fan-out delivers
 * the subscribable ones, and docs/webhooks.md documents those (a test checks the docs list).
 */

export interface PromptRef {
  name: string;
  type: PromptType;
}

/** What a metadata change (PATCH of a prompt) carries: the prompt and the fields it set. */
export interface PromptPatchPayload {
  prompt: PromptRef;
  description?: string;
  tags?: string[];
  archived?: boolean;
}

/** Which experiment an `experiment.*` event is about, and the label it splits. */
export interface ExperimentEventPayload {
  experiment: { id: string; key: string };
  prompt: PromptRef;
  label: string;
  /** The version the label served when the experiment started (the control). */
  controlVersion: number | null;
}

export interface EventPayloads {
  "prompt.created": { prompt: PromptRef; version: number | null; labels: string[] };
  "prompt.updated": PromptPatchPayload;
  "prompt.archived": PromptPatchPayload & { archivedAt: string };
  "prompt.restored": PromptPatchPayload;
  "prompt.version.created": {
    prompt: PromptRef;
    version: number;
    hash: string;
    commitMessage: string | null;
    labels: string[];
  };
  "prompt.label.moved": {
    prompt: PromptRef;
    label: string;
    /** Null when the label is new. */
    fromVersion: number | null;
    toVersion: number;
    isRollback: boolean;
  };
  "prompt.label.deleted": { prompt: PromptRef; label: string; fromVersion: number };
  /**
   * A label this prompt includes (directly or through other prompts) moved: what `versions`
   * serve, and so what `labels` serve, changed, and they were republished.
   */
  "prompt.reference.moved": {
    prompt: PromptRef;
    versions: number[];
    labels: string[];
    moved: { name: string; label: string };
  };
  /** Internal: a draft was created or edited (it serves nothing until it starts). */
  "experiment.created": {
    experiment: { id: string; key: string };
    prompt: PromptRef;
    label: string;
  };
  "experiment.updated": {
    experiment: { id: string; key: string };
    prompt: PromptRef;
    label: string;
  };
  "experiment.started": ExperimentEventPayload;
  /** `reason`: set when the rollout schedule paused it (a guardrail regressed). */
  "experiment.paused": ExperimentEventPayload & { reason?: string };
  "experiment.resumed": ExperimentEventPayload;
  /** `promoted`: the variant the label was moved to when it stopped (null: it kept the control). */
  "experiment.stopped": ExperimentEventPayload & {
    promoted: { variant: string; version: number } | null;
    /** Set when the rollout schedule stopped it (autoPromote promoted a winner). */
    reason?: string;
  };
  /**
   * The rollout schedule rolled a regressing experiment back (its `onRegression` is "rollback"):
   * it is stopped and the label serves the control version to every unit.
   */
  "experiment.rolled_back": ExperimentEventPayload & {
    variant: string;
    toVersion: number;
    reason: string;
  };
  /** A rollout moved to its next stage (the rollout cron); `stage` indexes `stages`. */
  "experiment.stage_advanced": ExperimentEventPayload & { stage: number };
  "key.created": { keyId: string; role: Role };
  "key.revoked": { keyId: string };
  /** A key's own allowed origins changed (null: it takes the project's). */
  "key.updated": { keyId: string; allowedOrigins: string[] | null };
  "project.created": { project: { id: string; name?: string } };
  "project.updated": {
    project: { id: string; name?: string; protectedLabels?: string[]; allowedOrigins?: string[] };
  };
  /** The playground's model provider was set or changed (never carries the API key). */
  "model_provider.updated": { project: { id: string }; baseUrl: string; defaultModel: string };
  "model_provider.deleted": { project: { id: string } };
  "webhook.created": { endpointId: string };
  "webhook.updated": { endpointId: string };
  "webhook.deleted": { endpointId: string };
  "webhook.secret.rotated": { endpointId: string };
  /** "Send test event": delivered to one endpoint, whatever it subscribes to. */
  "webhook.test": { endpointId: string; message: string };
  /** A user asked to replay a delivery; the events consumer re-enqueues it. */
  "webhook.redelivery.requested": { endpointId: string; deliveryId: string };
}

export type EventType = keyof EventPayloads;

/** One event as a change emits it: its type and the payload that type carries. */
export type CatalogEvent = { [T in EventType]: { type: T; payload: EventPayloads[T] } }[EventType];

/**
 * The events that leave the system as webhooks: each changes what the edge serves or what a
 * prompt is. Internal events (keys, projects, webhooks themselves) are never delivered.
 */
export const WEBHOOK_EVENT_TYPES = [
  "prompt.created",
  "prompt.version.created",
  "prompt.label.moved",
  "prompt.label.deleted",
  "prompt.reference.moved",
  "prompt.archived",
  "prompt.restored",
  "experiment.started",
  "experiment.paused",
  "experiment.resumed",
  "experiment.stopped",
  "experiment.stage_advanced",
  "experiment.rolled_back",
] as const satisfies readonly EventType[];
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export function isWebhookEvent(type: string): type is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(type);
}
