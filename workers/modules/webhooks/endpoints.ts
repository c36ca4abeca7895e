import { newId } from "@cuecard/core/ids";
import {
  WEBHOOK_AUTH_TOKEN_MAX,
  WEBHOOK_DESCRIPTION_MAX,
  WEBHOOK_URL_MAX,
} from "@cuecard/core/limits";
import { ProblemError } from "@cuecard/core/problem";
import { z } from "@hono/zod-openapi";
import { and, desc, eq, inArray, lt, sql } from "drizzle-orm";
import { commitChange } from "../../platform/changes";
import type { MutationContext, ReadContext } from "../../platform/context";
import type { Database } from "../../platform/db/client";
import {
  type WebhookAttemptRow,
  type WebhookDeliveryRow,
  type WebhookEndpointRow,
  webhookAttempts,
  webhookDeliveries,
  webhookEndpoints,
} from "../../platform/db/schema";
import { type Untrusted, validInput } from "../../platform/fields";
import { type Page, readPage, rowsForPage } from "../../platform/pagination";
import { requireAccess } from "../access/access";
import { findProject } from "../projects/projects";
import { REDELIVERY_EVENT_TYPE, TEST_EVENT_TYPE, WEBHOOK_EVENT_TYPES } from "./events";
import {
  type AttemptView,
  type DeliveryDetailView,
  type DeliveryView,
  ENDPOINT_KINDS,
  type EndpointKind,
  type EndpointView,
} from "./schemas";
import { generateSigningSecret } from "./signer";
import { checkWebhookUrl, type UrlGuardOptions } from "./url-guard";

/**
 * Webhook endpoints of a project: the verbs the API and the UI call. Each checks the actor may
 * manage webhooks and validates its input with the schema the API route declares. Every change
 * is one audited batch through commitChange; secrets are returned only by create and rotate.
 */

export type { AttemptView, DeliveryView, EndpointKind, EndpointView } from "./schemas";
export { ENDPOINT_KINDS };

/** How long a rotated-out secret keeps signing unless the caller says otherwise. */
export const DEFAULT_ROTATION_OVERLAP_HOURS = 24;

const eventTypes = z
  .array(z.enum(WEBHOOK_EVENT_TYPES))
  .max(WEBHOOK_EVENT_TYPES.length)
  .openapi({ description: "Subscribed event types; empty or absent means all" });
const url = z
  .string()
  .max(WEBHOOK_URL_MAX)
  .openapi({ example: "https://ci.example.com/hooks/cuecard" });
const description = z.string().max(WEBHOOK_DESCRIPTION_MAX);
const authToken = z
  .string()
  .min(1)
  .max(WEBHOOK_AUTH_TOKEN_MAX)
  .openapi({ description: "github_dispatch only: a token allowed to dispatch; never returned" });

/** What POST /v1/projects/{project}/webhooks takes; `createEndpoint` checks it too. */
export const NewEndpoint = z.strictObject({
  url,
  kind: z.enum(ENDPOINT_KINDS).default("standard"),
  description: description.optional(),
  eventTypes: eventTypes.optional(),
  active: z.boolean().optional(),
  authToken: authToken.optional(),
});

/** What PATCH /v1/projects/{project}/webhooks/{webhookId} takes; `updateEndpoint` checks it too. */
export const EndpointPatch = z.strictObject({
  url: url.optional(),
  description: description.optional(),
  eventTypes: eventTypes.optional(),
  active: z.boolean().optional(),
  authToken: authToken.optional(),
});

/** What POST …/rotate-secret takes; `rotateSecret` checks it too. */
export const SecretRotation = z.strictObject({
  overlapHours: z.number().int().min(0).max(168).default(DEFAULT_ROTATION_OVERLAP_HOURS),
});

const GITHUB_DISPATCH_URL = /^https:\/\/api\.github\.com\/repos\/[\w.-]+\/[\w.-]+\/dispatches$/;

export function toEndpointView(row: WebhookEndpointRow, now = new Date()): EndpointView {
  const overlapOpen =
    row.previousSecret !== null &&
    row.previousSecretExpiresAt !== null &&
    new Date(row.previousSecretExpiresAt) > now;
  return {
    id: row.id,
    url: row.url,
    kind: row.kind,
    description: row.description,
    eventTypes: row.eventTypes,
    active: row.active,
    disabledReason: row.disabledReason,
    previousSecretExpiresAt: overlapOpen ? row.previousSecretExpiresAt : null,
    hasAuthToken: row.authToken !== null,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/**
 * The URL as the audit log keeps it. Publishers can read the audit log but not webhooks, and
 * receivers often put credentials in the path or query, so only the origin and the first path
 * segment are kept; any further path becomes `/…` and any query `?…` (the fragment is dropped):
 * `https://hooks.example.com/services/T0/B0/XYZ?token=abc` → `https://hooks.example.com/services/…?…`.
 */
export function auditUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "(unreadable URL)";
  }
  const [first = "", ...rest] = url.pathname.replace(/^\//, "").split("/");
  const more = rest.some((segment) => segment !== "") ? "/…" : rest.length > 0 ? "/" : "";
  return `${url.origin}/${first}${more}${url.search ? "?…" : ""}`;
}

/** A bearer token as HTTP allows it in a header: visible ASCII only. */
const AUTH_TOKEN_PATTERN = /^[\x21-\x7e]+$/;

function invalidField(field: string, message: string): ProblemError {
  return new ProblemError("validation_failed", `The ${field} is not accepted: ${message}.`, {
    errors: [{ field: `body.${field}`, message }],
  });
}

/** The SSRF rules, plus what a GitHub dispatch endpoint needs. */
function assertTarget(
  url: string,
  kind: EndpointKind,
  authToken: string | null | undefined,
  guard: UrlGuardOptions,
) {
  const verdict = checkWebhookUrl(url, guard);
  if (!verdict.ok) throw invalidField("url", verdict.reason);
  // Sent as `Authorization: Bearer <token>`: a line break or control character would make
  // every delivery fail (or, where a client allows it, inject a header).
  if (authToken && !AUTH_TOKEN_PATTERN.test(authToken)) {
    throw invalidField(
      "authToken",
      "must be the token alone: visible ASCII characters, no spaces, line breaks or control characters",
    );
  }
  if (kind === "github_dispatch") {
    if (!GITHUB_DISPATCH_URL.test(url)) {
      throw invalidField("url", "must be https://api.github.com/repos/{owner}/{repo}/dispatches");
    }
    if (!authToken) {
      throw invalidField(
        "authToken",
        "is required: a GitHub token allowed to dispatch to the repository",
      );
    }
  }
}

/** The endpoint row, for verbs that have checked the actor's access already (no check here). */
async function loadEndpoint(
  db: Database,
  projectId: string,
  endpointId: string,
): Promise<WebhookEndpointRow> {
  const row = await db.query.webhookEndpoints.findFirst({
    where: and(eq(webhookEndpoints.id, endpointId), eq(webhookEndpoints.projectId, projectId)),
  });
  if (!row)
    throw new ProblemError("not_found", `Webhook '${endpointId}' does not exist in this project.`);
  return row;
}

export async function getEndpoint(
  ctx: ReadContext,
  projectId: string,
  endpointId: string,
): Promise<EndpointView> {
  requireAccess(ctx.actor, projectId, "webhooks:manage");
  return toEndpointView(await loadEndpoint(ctx.db, projectId, endpointId));
}

export async function listEndpoints(ctx: ReadContext, projectId: string): Promise<EndpointView[]> {
  requireAccess(ctx.actor, projectId, "webhooks:manage");
  await findProject(ctx.db, projectId);
  const rows = await ctx.db
    .select()
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.projectId, projectId))
    .orderBy(webhookEndpoints.createdAt);
  return rows.map((row) => toEndpointView(row));
}

/** What a new endpoint is unless told otherwise, e.g. to fill in an empty new-webhook form. */
export function newEndpointDefaults(ctx: ReadContext, projectId: string) {
  requireAccess(ctx.actor, projectId, "webhooks:manage");
  const { kind } = NewEndpoint.parse({ url: "" });
  return { kind, description: "", eventTypes: [] as string[], active: true };
}

/** Creates an endpoint; its signing secret is returned here once and never again. */
export async function createEndpoint(
  ctx: MutationContext,
  projectId: string,
  fields: Untrusted<typeof NewEndpoint>,
  guard: UrlGuardOptions,
): Promise<{ endpoint: EndpointView; secret: string }> {
  requireAccess(ctx.actor, projectId, "webhooks:manage");
  const input = validInput(NewEndpoint, fields);
  await findProject(ctx.db, projectId);
  const kind = input.kind;
  assertTarget(input.url, kind, input.authToken, guard);
  const id = newId("webhook");
  const secret = generateSigningSecret();
  const now = new Date().toISOString();
  const row = {
    id,
    projectId,
    url: input.url,
    kind,
    description: input.description ?? "",
    eventTypes: input.eventTypes ?? [],
    active: input.active ?? true,
    secret,
    authToken: input.authToken ?? null,
    createdBy: ctx.actor.name,
    createdAt: now,
    updatedAt: now,
  };
  await commitChange(ctx, {
    projectId,
    statements: [ctx.db.insert(webhookEndpoints).values(row)],
    audit: {
      action: "webhook.create",
      targetType: "webhook",
      target: id,
      after: { url: auditUrl(row.url), kind, eventTypes: row.eventTypes, active: row.active },
    },
    event: { type: "webhook.created", publishTarget: null, payload: { endpointId: id } },
  });
  return { endpoint: toEndpointView(await loadEndpoint(ctx.db, projectId, id)), secret };
}

export async function updateEndpoint(
  ctx: MutationContext,
  projectId: string,
  endpointId: string,
  fields: Untrusted<typeof EndpointPatch>,
  guard: UrlGuardOptions,
): Promise<EndpointView> {
  requireAccess(ctx.actor, projectId, "webhooks:manage");
  const patch = validInput(EndpointPatch, fields);
  const current = await loadEndpoint(ctx.db, projectId, endpointId);
  if (patch.url !== undefined || patch.authToken !== undefined) {
    assertTarget(
      patch.url ?? current.url,
      current.kind,
      patch.authToken ?? current.authToken,
      guard,
    );
  }
  // Only the fields in the patch are written: `current` may be stale (the delivery consumer can
  // disable the endpoint after a 410 meanwhile), and a description edit must not undo that.
  const next: Partial<typeof webhookEndpoints.$inferInsert> = {
    updatedAt: new Date().toISOString(),
  };
  if (patch.url !== undefined) next.url = patch.url;
  if (patch.description !== undefined) next.description = patch.description;
  if (patch.eventTypes !== undefined) next.eventTypes = patch.eventTypes;
  if (patch.authToken !== undefined) next.authToken = patch.authToken;
  if (patch.active !== undefined) {
    next.active = patch.active;
    // Re-enabling (e.g. after a 410) clears why it was disabled; disabling keeps any reason.
    if (patch.active) next.disabledReason = null;
  }
  const audited = (row: {
    url: string;
    description: string;
    eventTypes: string[];
    active: boolean;
  }) => ({
    ...(patch.url !== undefined ? { url: auditUrl(row.url) } : {}),
    ...(patch.description !== undefined ? { description: row.description } : {}),
    ...(patch.eventTypes !== undefined ? { eventTypes: row.eventTypes } : {}),
    ...(patch.active !== undefined ? { active: row.active } : {}),
  });
  await commitChange(ctx, {
    projectId,
    statements: [
      ctx.db.update(webhookEndpoints).set(next).where(eq(webhookEndpoints.id, endpointId)),
    ],
    audit: {
      action: "webhook.update",
      targetType: "webhook",
      target: endpointId,
      before: audited(current),
      after: audited({
        url: patch.url ?? current.url,
        description: patch.description ?? current.description,
        eventTypes: patch.eventTypes ?? current.eventTypes,
        active: patch.active ?? current.active,
      }),
    },
    event: { type: "webhook.updated", publishTarget: null, payload: { endpointId } },
  });
  return toEndpointView(await loadEndpoint(ctx.db, projectId, endpointId));
}

/** Deletes an endpoint with its delivery log (the audit log keeps the record of it). */
export async function deleteEndpoint(ctx: MutationContext, projectId: string, endpointId: string) {
  requireAccess(ctx.actor, projectId, "webhooks:manage");
  const current = await loadEndpoint(ctx.db, projectId, endpointId);
  const deliveryIds = ctx.db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.endpointId, endpointId));
  await commitChange(ctx, {
    projectId,
    statements: [
      ctx.db.delete(webhookAttempts).where(inArray(webhookAttempts.deliveryId, deliveryIds)),
      ctx.db.delete(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpointId)),
      ctx.db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, endpointId)),
    ],
    audit: {
      action: "webhook.delete",
      targetType: "webhook",
      target: endpointId,
      before: {
        url: auditUrl(current.url),
        eventTypes: current.eventTypes,
        active: current.active,
      },
    },
    event: { type: "webhook.deleted", publishTarget: null, payload: { endpointId } },
  });
}

/**
 * Replaces the signing secret. The previous one keeps signing (as a second signature) for
 * `overlapHours`, so receivers can deploy the new secret without rejecting deliveries.
 */
export async function rotateSecret(
  ctx: MutationContext,
  projectId: string,
  endpointId: string,
  fields: Untrusted<typeof SecretRotation> = {},
): Promise<{ endpoint: EndpointView; secret: string }> {
  requireAccess(ctx.actor, projectId, "webhooks:manage");
  const { overlapHours } = validInput(SecretRotation, fields);
  const current = await loadEndpoint(ctx.db, projectId, endpointId);
  const secret = generateSigningSecret();
  const now = new Date();
  const expiresAt = new Date(now.getTime() + overlapHours * 3_600_000).toISOString();
  await commitChange(ctx, {
    projectId,
    statements: [
      ctx.db
        .update(webhookEndpoints)
        .set({
          secret,
          previousSecret: overlapHours > 0 ? current.secret : null,
          previousSecretExpiresAt: overlapHours > 0 ? expiresAt : null,
          updatedAt: now.toISOString(),
        })
        .where(eq(webhookEndpoints.id, endpointId)),
    ],
    audit: {
      action: "webhook.rotate_secret",
      targetType: "webhook",
      target: endpointId,
      after: { previousSecretExpiresAt: overlapHours > 0 ? expiresAt : null },
    },
    event: { type: "webhook.secret.rotated", publishTarget: null, payload: { endpointId } },
  });
  return { endpoint: toEndpointView(await loadEndpoint(ctx.db, projectId, endpointId)), secret };
}

/** "Send test event": a `webhook.test` event for this endpoint only, through the normal path. */
export async function sendTestEvent(
  ctx: MutationContext,
  projectId: string,
  endpointId: string,
): Promise<{ eventId: string }> {
  requireAccess(ctx.actor, projectId, "webhooks:manage");
  const endpoint = await loadEndpoint(ctx.db, projectId, endpointId);
  if (!endpoint.active) {
    throw new ProblemError(
      "conflict",
      "The webhook is disabled. Enable it (PATCH active: true) first.",
    );
  }
  const eventId = await commitChange(ctx, {
    projectId,
    statements: [],
    audit: { action: "webhook.test", targetType: "webhook", target: endpointId },
    event: {
      type: TEST_EVENT_TYPE,
      publishTarget: null,
      payload: { endpointId, message: "A test event sent from Cuecard." },
    },
  });
  return { eventId };
}

function toDeliveryView(row: WebhookDeliveryRow): DeliveryView {
  return {
    id: row.id,
    endpointId: row.endpointId,
    eventId: row.eventId,
    eventType: row.eventType,
    status: row.status,
    attempts: row.attempts,
    lastStatusCode: row.lastStatusCode,
    lastLatencyMs: row.lastLatencyMs,
    lastResponseExcerpt: row.lastResponseExcerpt,
    lastError: row.lastError,
    nextRetryAt: row.nextRetryAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function toAttemptView(row: WebhookAttemptRow): AttemptView {
  return {
    attempt: row.attempt,
    statusCode: row.statusCode,
    latencyMs: row.latencyMs,
    responseExcerpt: row.responseExcerpt,
    error: row.error,
    createdAt: row.createdAt,
  };
}

export async function listDeliveries(
  ctx: ReadContext,
  projectId: string,
  endpointId: string,
  filter: { status?: WebhookDeliveryRow["status"]; limit: number; before?: string },
): Promise<Page<DeliveryView, string>> {
  requireAccess(ctx.actor, projectId, "webhooks:manage");
  await loadEndpoint(ctx.db, projectId, endpointId);
  const rows = await ctx.db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.endpointId, endpointId),
        filter.status ? eq(webhookDeliveries.status, filter.status) : undefined,
        filter.before ? lt(webhookDeliveries.createdAt, filter.before) : undefined,
      ),
    )
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(rowsForPage(filter.limit));
  const { items, nextCursor } = readPage(rows, filter.limit, (row) => row.createdAt);
  return { items: items.map(toDeliveryView), nextCursor };
}

async function findDelivery(db: Database, endpointId: string, deliveryId: string) {
  const row = await db.query.webhookDeliveries.findFirst({
    where: and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.endpointId, endpointId)),
  });
  if (!row)
    throw new ProblemError(
      "not_found",
      `Delivery '${deliveryId}' does not exist for this webhook.`,
    );
  return row;
}

/** One delivery with the JSON that was sent and every attempt, oldest first. */
export async function getDelivery(
  ctx: ReadContext,
  projectId: string,
  endpointId: string,
  deliveryId: string,
): Promise<DeliveryDetailView> {
  requireAccess(ctx.actor, projectId, "webhooks:manage");
  await loadEndpoint(ctx.db, projectId, endpointId);
  const row = await findDelivery(ctx.db, endpointId, deliveryId);
  const attempts = await ctx.db
    .select()
    .from(webhookAttempts)
    .where(eq(webhookAttempts.deliveryId, deliveryId))
    .orderBy(webhookAttempts.attempt);
  return { ...toDeliveryView(row), payload: row.payload, attemptLog: attempts.map(toAttemptView) };
}

/**
 * Sends a delivery again now with the same `webhook-id` and body (a receiver that already
 * processed it can recognise the duplicate), whatever its status, like Stripe's and GitHub's
 * resend: a failed or succeeded one is replayed, and a pending or retrying one (e.g. stuck after
 * a lost message) is attempted now with a fresh retry schedule. The new round makes the consumer
 * drop the messages of the earlier one, so it is not attempted twice. Refused only while an
 * attempt is being made. The request goes through the outbox like any change, so a failing
 * queue cannot lose it.
 */
export async function redeliver(
  ctx: MutationContext,
  projectId: string,
  endpointId: string,
  deliveryId: string,
): Promise<DeliveryView> {
  requireAccess(ctx.actor, projectId, "webhooks:manage");
  const endpoint = await loadEndpoint(ctx.db, projectId, endpointId);
  if (!endpoint.active) {
    throw new ProblemError(
      "conflict",
      "The webhook is disabled. Enable it (PATCH active: true) first.",
    );
  }
  const delivery = await findDelivery(ctx.db, endpointId, deliveryId);
  if (delivery.leaseUntil && new Date(delivery.leaseUntil) > new Date()) {
    throw new ProblemError(
      "conflict",
      "An attempt of this delivery is being made right now; redeliver once it has finished (within about 30 s).",
    );
  }
  await commitChange(ctx, {
    projectId,
    statements: [
      ctx.db
        .update(webhookDeliveries)
        .set({
          status: "pending",
          nextRetryAt: null,
          lastError: null,
          round: sql`${webhookDeliveries.round} + 1`,
          roundAttempts: 0,
          updatedAt: new Date().toISOString(),
        })
        .where(eq(webhookDeliveries.id, deliveryId)),
    ],
    audit: {
      action: "webhook.redeliver",
      targetType: "webhook_delivery",
      target: deliveryId,
      before: { status: delivery.status },
      after: { status: "pending" },
    },
    event: {
      type: REDELIVERY_EVENT_TYPE,
      publishTarget: null,
      payload: { endpointId, deliveryId },
    },
  });
  return toDeliveryView(await findDelivery(ctx.db, endpointId, deliveryId));
}
