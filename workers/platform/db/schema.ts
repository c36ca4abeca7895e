import type { ExperimentMetricRef } from "@cuecard/core/experiment-results";
import type { PromptContent, VariableSpec } from "@cuecard/core/prompt";
import { ROLES } from "@cuecard/core/roles";
import { sql } from "drizzle-orm";
import {
  check,
  index,
  integer,
  primaryKey,
  real,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

/**
 * D1 is the source of truth. Versions, label history and the audit log are append-only: the
 * triggers in the hand-written migration refuse UPDATE and DELETE on them.
 */

const createdAt = {
  createdAt: text("created_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`),
};

export const projects = sqliteTable("projects", {
  /** The slug used in URLs; never changes. */
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** Labels only publishers and admins may move. */
  protectedLabels: text("protected_labels", { mode: "json" })
    .$type<string[]>()
    .notNull()
    .default(sql`'["production"]'`),
  /**
   * Browser origins allowed to call the edge with this project's keys (`core/origins.ts`
   * patterns, stored normalized). Published on every key record of the project.
   */
  allowedOrigins: text("allowed_origins", { mode: "json" })
    .$type<string[]>()
    .notNull()
    .default(sql`'[]'`),
  ...createdAt,
});

export const prompts = sqliteTable(
  "prompts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id),
    name: text("name").notNull(),
    type: text("type", { enum: ["text", "chat"] }).notNull(),
    description: text("description").notNull().default(""),
    /** JSON array of strings. */
    tags: text("tags", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    latestVersion: integer("latest_version").notNull().default(0),
    createdBy: text("created_by").notNull(),
    ...createdAt,
    updatedAt: text("updated_at").notNull(),
    archivedAt: text("archived_at"),
  },
  (table) => [uniqueIndex("prompts_project_name").on(table.projectId, table.name)],
);

export const versions = sqliteTable(
  "versions",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    promptId: integer("prompt_id")
      .notNull()
      .references(() => prompts.id),
    version: integer("version").notNull(),
    /** JSON: a template string, or `[{role, content}]` for chat prompts. */
    prompt: text("prompt", { mode: "json" }).$type<PromptContent>().notNull(),
    config: text("config", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    /** JSON array of VariableSpec, derived from the templates and the author's declarations. */
    variables: text("variables", { mode: "json" }).$type<VariableSpec[]>().notNull(),
    commitMessage: text("commit_message"),
    author: text("author").notNull(),
    hash: text("hash").notNull(),
    ...createdAt,
  },
  (table) => [
    uniqueIndex("versions_prompt_version").on(table.promptId, table.version),
    check("versions_positive", sql`${table.version} >= 1`),
  ],
);

export const labels = sqliteTable(
  "labels",
  {
    promptId: integer("prompt_id")
      .notNull()
      .references(() => prompts.id),
    name: text("name").notNull(),
    version: integer("version").notNull(),
    /** The id of the label_history row of the last move: monotonic, the KV pointer's `rev`. */
    rev: integer("rev").notNull(),
    updatedBy: text("updated_by").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (table) => [primaryKey({ columns: [table.promptId, table.name] })],
);

/**
 * What each version includes (prompt references, prompts/references.ts), one row per distinct
 * reference, written with the version: the reverse index that finds the prompts to republish
 * when an included label moves. Append-only like the versions it describes.
 */
export const promptReferences = sqliteTable(
  "prompt_references",
  {
    promptId: integer("prompt_id")
      .notNull()
      .references(() => prompts.id),
    version: integer("version").notNull(),
    /** The included prompt's name, in the same project. */
    targetName: text("target_name").notNull(),
    /** Exactly one of label and version is set. */
    targetLabel: text("target_label"),
    targetVersion: integer("target_version"),
  },
  (table) => [
    index("prompt_references_target").on(table.targetName, table.targetLabel),
    index("prompt_references_source").on(table.promptId, table.version),
  ],
);

export const labelHistory = sqliteTable(
  "label_history",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    promptId: integer("prompt_id")
      .notNull()
      .references(() => prompts.id),
    label: text("label").notNull(),
    /** null when the label did not exist before this move. */
    fromVersion: integer("from_version"),
    /** null when this move deleted the label. */
    toVersion: integer("to_version"),
    isRollback: integer("is_rollback", { mode: "boolean" }).notNull().default(false),
    actor: text("actor").notNull(),
    ...createdAt,
    /**
     * The change (one D1 batch) that made this move. Its audit rows and events are read from
     * this row inside the same batch, so they say what the move really replaced.
     */
    changeId: text("change_id"),
  },
  (table) => [
    index("label_history_prompt_label").on(table.promptId, table.label, table.id),
    index("label_history_change").on(table.changeId),
  ],
);

export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    projectId: text("project_id").notNull(),
    actor: text("actor").notNull(),
    actorRole: text("actor_role").notNull(),
    /** e.g. `prompt.create`, `label.move`, `key.revoke`, `access.denied`. */
    action: text("action").notNull(),
    targetType: text("target_type").notNull(),
    target: text("target").notNull(),
    before: text("before", { mode: "json" }),
    after: text("after", { mode: "json" }),
    requestId: text("request_id").notNull(),
    ...createdAt,
  },
  (table) => [index("audit_log_project").on(table.projectId, table.id)],
);

/**
 * One row per change to deliver. Written in the same batch as the change; pending until the
 * change is published to KV and its event is on the queue. The cron retries pending rows, and
 * re-sends events that were enqueued but not consumed within a grace period (a lost message).
 */
export const outbox = sqliteTable(
  "outbox",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    /** Stable event id, also the webhook id receivers deduplicate on. */
    eventId: text("event_id").notNull(),
    projectId: text("project_id").notNull(),
    /** The KV projection this change affects: `prompt:{name}`, `key:{id}`, or null. */
    publishTarget: text("publish_target"),
    eventType: text("event_type").notNull(),
    payload: text("payload", { mode: "json" }).notNull(),
    ...createdAt,
    publishedAt: text("published_at"),
    /** When the event was last put on the queue (a re-send by the cron moves it). */
    enqueuedAt: text("enqueued_at"),
    /** When the events consumer finished handling the event; null while it may be lost. */
    consumedAt: text("consumed_at"),
    /** How often the cron re-sent the event because it was not consumed in time. */
    resends: integer("resends").notNull().default(0),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
  },
  (table) => [
    uniqueIndex("outbox_event_id").on(table.eventId),
    index("outbox_pending").on(table.enqueuedAt, table.publishedAt, table.id),
    index("outbox_unconsumed").on(table.consumedAt, table.enqueuedAt),
  ],
);

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id),
    name: text("name").notNull(),
    role: text("role", { enum: ROLES }).notNull(),
    /** The first characters of the key, to recognise it in lists; never enough to use it. */
    prefix: text("prefix").notNull(),
    /** SHA-256 hex of the whole key. The key itself is never stored. */
    hash: text("hash").notNull(),
    createdBy: text("created_by").notNull(),
    ...createdAt,
    expiresAt: text("expires_at"),
    revokedAt: text("revoked_at"),
    lastUsedAt: text("last_used_at"),
    /**
     * May send telemetry (events, scores, traces) through the edge. Keys that existed before
     * this column get true, as new keys do by default; a read key shipped in a browser app is
     * created with false, so a web page cannot poison metrics or experiment results.
     */
    sendTelemetry: integer("send_telemetry", { mode: "boolean" }).notNull().default(true),
    /** A key shipped in a browser app: a reader, edge only, from allowed origins only. */
    browser: integer("browser", { mode: "boolean" }).notNull().default(false),
    /** The key's own origins, narrowing the project's (both must match); null: the project's. */
    allowedOrigins: text("allowed_origins", { mode: "json" }).$type<string[]>(),
  },
  (table) => [uniqueIndex("api_keys_hash").on(table.hash)],
);

/** Browser sessions of the admin UI, opened by signing in with a key. */
export const sessions = sqliteTable(
  "sessions",
  {
    /** SHA-256 hex of the session cookie's value; the value itself is never stored. */
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id),
    keyId: text("key_id").notNull(),
    role: text("role", { enum: ROLES }).notNull(),
    /** Synchronizer token every mutating request of the session must echo. */
    csrfToken: text("csrf_token").notNull(),
    ...createdAt,
    expiresAt: text("expires_at").notNull(),
    revokedAt: text("revoked_at"),
  },
  (table) => [index("sessions_key").on(table.keyId)],
);

/** Where a project's events are delivered. */
export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id),
    url: text("url").notNull(),
    /** `standard` (Standard Webhooks) or `github_dispatch` (repository_dispatch). */
    kind: text("kind", { enum: ["standard", "github_dispatch"] })
      .notNull()
      .default("standard"),
    description: text("description").notNull().default(""),
    /** Subscribed event types; empty means every type. */
    eventTypes: text("event_types", { mode: "json" })
      .$type<string[]>()
      .notNull()
      .default(sql`'[]'`),
    active: integer("active", { mode: "boolean" }).notNull().default(true),
    disabledReason: text("disabled_reason"),
    /** `whsec_…` signing secret. Shown once at creation or rotation; never returned again. */
    secret: text("secret").notNull(),
    /** After a rotation the previous secret also signs until it expires, so receivers can switch. */
    previousSecret: text("previous_secret"),
    previousSecretExpiresAt: text("previous_secret_expires_at"),
    /** Credential for `github_dispatch` endpoints. Never returned. */
    authToken: text("auth_token"),
    createdBy: text("created_by").notNull(),
    ...createdAt,
    updatedAt: text("updated_at").notNull(),
  },
  (table) => [index("webhook_endpoints_project").on(table.projectId)],
);

/**
 * A project's model provider for the playground: an OpenAI-compatible endpoint and its API key.
 * The key is sealed (AES-GCM under the SECRETS_ENCRYPTION_KEY worker secret, bound to the
 * project) and never returned; only its last characters are kept in the clear, as a hint.
 */
export const modelProviders = sqliteTable("model_providers", {
  projectId: text("project_id")
    .primaryKey()
    .references(() => projects.id),
  /** The OpenAI-compatible base URL, e.g. https://api.openai.com/v1. */
  baseUrl: text("base_url").notNull(),
  /** The model a run uses when the version's config names none. */
  defaultModel: text("default_model").notNull(),
  /** `v1.<iv>.<ciphertext>` (workers/core/crypto.ts `sealSecret`). */
  apiKeySealed: text("api_key_sealed").notNull(),
  /** The key's last characters, or null when the key is too short to show any. */
  apiKeyHint: text("api_key_hint"),
  updatedBy: text("updated_by").notNull(),
  updatedAt: text("updated_at").notNull(),
});
export type ModelProviderRow = typeof modelProviders.$inferSelect;

/** One logical delivery of one event to one endpoint, across all its attempts. */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    /** Also the `webhook-id` header: stable across retries so receivers can deduplicate. */
    id: text("id").primaryKey(),
    projectId: text("project_id").notNull(),
    endpointId: text("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id),
    eventId: text("event_id").notNull(),
    eventType: text("event_type").notNull(),
    payload: text("payload", { mode: "json" }).notNull(),
    status: text("status", { enum: ["pending", "retrying", "succeeded", "failed"] })
      .notNull()
      .default("pending"),
    attempts: integer("attempts").notNull().default(0),
    lastStatusCode: integer("last_status_code"),
    lastLatencyMs: integer("last_latency_ms"),
    /** A short, sanitised excerpt of the receiver's response; never the raw body. */
    lastResponseExcerpt: text("last_response_excerpt"),
    lastError: text("last_error"),
    nextRetryAt: text("next_retry_at"),
    /**
     * Set while an attempt is being made, so a duplicate message cannot make a second one at the
     * same time; an attempt that dies leaves it to expire. Not shown to users.
     */
    leaseUntil: text("lease_until"),
    /**
     * Bumped by every redeliver. Queue messages carry the round they were sent for, so the
     * scheduled retries of an earlier round are dropped instead of attempting again.
     */
    round: integer("round").notNull().default(0),
    /** Attempts in the current round: picks the backoff and when to give up. */
    roundAttempts: integer("round_attempts").notNull().default(0),
    ...createdAt,
    updatedAt: text("updated_at").notNull(),
  },
  (table) => [
    uniqueIndex("webhook_deliveries_event_endpoint").on(table.eventId, table.endpointId),
    index("webhook_deliveries_endpoint").on(table.endpointId, table.createdAt),
    index("webhook_deliveries_due").on(table.status, table.nextRetryAt),
  ],
);

export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    deliveryId: text("delivery_id")
      .notNull()
      .references(() => webhookDeliveries.id),
    attempt: integer("attempt").notNull(),
    statusCode: integer("status_code"),
    latencyMs: integer("latency_ms"),
    responseExcerpt: text("response_excerpt"),
    error: text("error"),
    ...createdAt,
  },
  (table) => [index("webhook_attempts_delivery").on(table.deliveryId, table.attempt)],
);

/** A metric an experiment is judged by: the results contract's (telemetry aggregates them). */
export type ExperimentMetric = ExperimentMetricRef;

export interface ExperimentMetrics {
  primary: ExperimentMetric;
  guardrails: { metric: ExperimentMetric; maxRegressionPct: number }[];
}

/**
 * A decision of the rollout schedule: it paused or rolled back a regressing experiment, promoted
 * a winner (autoPromote), or recommends promoting one (a person decides).
 */
export interface ScheduleDecision {
  action: "paused" | "rolled_back" | "promoted" | "recommended";
  /** The variant it is about: the regressing one, or the winner. */
  variant: string;
  reason: string;
  at: string;
}

export interface ExperimentStage {
  /** One per arm, control first; they sum to 1. */
  weights: number[];
  minExposures: number;
  minDurationHours: number;
}

/**
 * Experiments split a label's traffic between versions (see docs/experiments.md). The control is
 * the label's version when the experiment starts (`control_version`, null while a draft). While
 * one runs or is paused its label cannot be moved (trigger in the migration).
 */
export const experiments = sqliteTable(
  "experiments",
  {
    /** `exp_…`; with `bucket_version` the assignment seed, so it never changes. */
    id: text("id").primaryKey(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id),
    promptId: integer("prompt_id")
      .notNull()
      .references(() => prompts.id),
    label: text("label").notNull(),
    key: text("key").notNull(),
    description: text("description").notNull().default(""),
    /** What the app sends as the unit id, as the author describes it ("user id"). */
    unit: text("unit").notNull(),
    state: text("state", { enum: ["draft", "running", "paused", "stopped"] })
      .notNull()
      .default("draft"),
    controlKey: text("control_key").notNull(),
    controlWeight: real("control_weight").notNull(),
    controlVersion: integer("control_version"),
    /** JSON `[{key, version, weight}]`, the arms besides the control. */
    variants: text("variants", { mode: "json" })
      .$type<{ key: string; version: number; weight: number }[]>()
      .notNull(),
    coverage: real("coverage").notNull().default(1),
    bucketVersion: integer("bucket_version").notNull().default(1),
    hashVersion: integer("hash_version").notNull().default(2),
    metrics: text("metrics", { mode: "json" }).$type<ExperimentMetrics>().notNull(),
    stages: text("stages", { mode: "json" })
      .$type<ExperimentStage[]>()
      .notNull()
      .default(sql`'[]'`),
    /** The rollout stage being served (index into `stages`); the arms' weights are its weights. */
    stage: integer("stage").notNull().default(0),
    /** When the current stage began (null before the start: stage 0 begins with `started_at`). */
    stageStartedAt: text("stage_started_at"),
    /** The variant the label was moved to when the experiment stopped. */
    promotedVariant: text("promoted_variant"),
    /**
     * What the rollout schedule does when a guardrail regresses: pause (serve the control to
     * everyone, resumable) or roll back (also stop, the label serving the control version).
     */
    onRegression: text("on_regression", { enum: ["pause", "rollback"] })
      .notNull()
      .default("pause"),
    /** Whether the schedule promotes a winner by itself; otherwise it only recommends one. */
    autoPromote: integer("auto_promote", { mode: "boolean" }).notNull().default(false),
    /** The rollout schedule's latest decision on this experiment and why (null: none yet). */
    decision: text("decision", { mode: "json" }).$type<ScheduleDecision>(),
    /**
     * Bumped on every state change to one more than any experiment's: the KV pointer's
     * `experimentRev`, so a publisher knows its pointer is out of date.
     */
    rev: integer("rev").notNull().default(0),
    createdBy: text("created_by").notNull(),
    ...createdAt,
    updatedAt: text("updated_at").notNull(),
    startedAt: text("started_at"),
    stoppedAt: text("stopped_at"),
  },
  (table) => [
    uniqueIndex("experiments_project_key").on(table.projectId, table.key),
    index("experiments_prompt_label").on(table.promptId, table.label),
    // One experiment per label at a time: a second start fails inside its batch.
    uniqueIndex("experiments_one_active_per_label")
      .on(table.promptId, table.label)
      .where(sql`state IN ('running', 'paused')`),
  ],
);

/**
 * Preconditions of a batch. A guard inserts a row only when its precondition does not hold;
 * the named CHECK then fails the statement, which aborts the whole batch — an UPDATE that
 * matches no row would not. The constraint name reaches the error message, which says why.
 */
export const batchGuards = sqliteTable(
  "batch_guards",
  { reason: text("reason").notNull() },
  (table) => [
    check("stale_revision", sql`${table.reason} <> 'stale_revision'`),
    check("version_not_found", sql`${table.reason} <> 'version_not_found'`),
    check("prompt_archived", sql`${table.reason} <> 'prompt_archived'`),
    check("admin_exists", sql`${table.reason} <> 'admin_exists'`),
    check("experiment_state", sql`${table.reason} <> 'experiment_state'`),
    check("label_not_found", sql`${table.reason} <> 'label_not_found'`),
  ],
);

export type ProjectRow = typeof projects.$inferSelect;
export type PromptRow = typeof prompts.$inferSelect;
export type VersionRow = typeof versions.$inferSelect;
export type LabelRow = typeof labels.$inferSelect;
export type LabelHistoryRow = typeof labelHistory.$inferSelect;
export type AuditRow = typeof auditLog.$inferSelect;
export type OutboxRow = typeof outbox.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type SessionRow = typeof sessions.$inferSelect;
export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type WebhookAttemptRow = typeof webhookAttempts.$inferSelect;
export type ExperimentRow = typeof experiments.$inferSelect;
