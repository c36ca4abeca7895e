import { newId } from "@cuecard/core/ids";
import { generateKey, hashKey } from "@cuecard/core/keys";
import { KEY_EXPIRES_MAX, KEY_NAME_MAX } from "@cuecard/core/limits";
import { ProblemError } from "@cuecard/core/problem";
import { ROLES, type Role } from "@cuecard/core/roles";
import { z } from "@hono/zod-openapi";
import { and, asc, eq, isNull, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { commitChange } from "../../platform/changes";
import type { MutationContext, ReadContext } from "../../platform/context";
import { type ApiKeyRow, apiKeys, projects } from "../../platform/db/schema";
import { originPatterns, type Untrusted, validInput } from "../../platform/fields";
import { guard } from "../../platform/guards";
import { findProject } from "../projects/projects";
import { requireAccess } from "./access";
import { keyTarget } from "./publish";
import type { KeyView } from "./schemas";

export type { KeyView } from "./schemas";

/** A key's own origins: narrower than its project's (an origin must match both), or null. */
const keyOrigins = originPatterns.nullable().openapi({
  description:
    "The key's own browser origins, narrowing the project's `allowedOrigins`: a browser request is served only from an origin both lists allow. null (the default): the project's list alone. Patterns are scheme://host[:port] or scheme://host:* (any port), no path.",
  example: ["https://app.example.com", "http://localhost:*"],
});

/** What POST /v1/projects/{project}/keys takes; `createKey` checks it too. */
export const NewKey = z
  .strictObject({
    name: z.string().min(1, "give the key a name").max(KEY_NAME_MAX),
    role: z.enum(ROLES),
    expiresAt: z.iso
      .datetime({ offset: true })
      // Stored as UTC ISO text, so expiry compares correctly as text in D1 and at the edge.
      .transform((value) => new Date(value).toISOString())
      .refine((value) => Date.parse(value) > Date.now(), "must be in the future")
      .refine(
        (value) => Date.parse(value) <= Date.parse(KEY_EXPIRES_MAX),
        `must be at most ${KEY_EXPIRES_MAX} (the end of year 9999, UTC); omit it for a key that never expires`,
      )
      .optional(),
    sendTelemetry: z.boolean().optional().openapi({
      description:
        "May send telemetry to the edge: events, scores and traces, or for a browser key scores only. Default true, or false for a browser key. Set false for a key whose holders should only read prompts, so nobody can poison metrics or experiment results with it.",
    }),
    browser: z.boolean().default(false).openapi({
      description:
        "A public key for a browser app: it must be a reader, the admin API refuses it, the edge serves it only to requests from an allowed origin (the project's, narrowed by `allowedOrigins`), and it can never send events or traces — scores only, and only with `sendTelemetry: true`.",
    }),
    allowedOrigins: keyOrigins.optional(),
  })
  .superRefine((key, ctx) => {
    if (key.browser && key.role !== "reader") {
      ctx.addIssue({
        code: "custom",
        path: ["role"],
        message:
          "a browser key is public (anyone can read it from the page), so it must be a reader",
      });
    }
  })
  .transform(({ sendTelemetry, ...key }) => ({
    ...key,
    sendTelemetry: sendTelemetry ?? !key.browser,
    allowedOrigins: key.allowedOrigins ?? null,
  }));

/** What PATCH /v1/projects/{project}/keys/{keyId} takes: today the key's own origins. */
export const KeyPatch = z.strictObject({ allowedOrigins: keyOrigins });

/** Field by field, so a column added later (a secret, say) is never sent by accident. */
function toKeyView(row: ApiKeyRow): KeyView {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    prefix: row.prefix,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
    lastUsedAt: row.lastUsedAt,
    sendTelemetry: row.sendTelemetry,
    browser: row.browser,
    allowedOrigins: row.allowedOrigins,
  };
}

/**
 * The deployment's bootstrap token can do one thing: give a project (created here if needed) its
 * first admin key. Once the project has an active admin key it is refused.
 */
export async function bootstrapProject(
  ctx: MutationContext,
  input: { project: string; projectName?: string; keyName: string },
): Promise<{ key: KeyView; secret: string }> {
  const now = new Date().toISOString();
  // One batch: the project (if new), a guard that no usable admin key exists — checked inside
  // the batch, so two racing bootstraps cannot both succeed — and the key.
  return insertKey(
    ctx,
    input.project,
    {
      name: input.keyName,
      role: "admin",
      sendTelemetry: true,
      browser: false,
      allowedOrigins: null,
    },
    [
      ctx.db
        .insert(projects)
        .values({ id: input.project, name: input.projectName ?? input.project })
        .onConflictDoNothing(),
      guard(
        ctx.db,
        "admin_exists",
        sql`NOT EXISTS (SELECT 1 FROM api_keys WHERE project_id = ${input.project} AND role = 'admin'
        AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ${now}))`,
      ),
    ],
  );
}

/** The roles the actor may give a new key (the choices of the new-key form). */
export function assignableRoles(ctx: ReadContext, projectId: string): readonly Role[] {
  requireAccess(ctx.actor, projectId, "keys:manage");
  return ROLES;
}

/** Creates a key; its plaintext is returned here once and never again. */
export async function createKey(
  ctx: MutationContext,
  projectId: string,
  input: Untrusted<typeof NewKey>,
): Promise<{ key: KeyView; secret: string }> {
  requireAccess(ctx.actor, projectId, "keys:manage");
  const key = validInput(NewKey, input);
  await findProject(ctx.db, projectId);
  return insertKey(ctx, projectId, key, []);
}

async function insertKey(
  ctx: MutationContext,
  projectId: string,
  input: {
    name: string;
    role: Role;
    expiresAt?: string;
    sendTelemetry: boolean;
    browser: boolean;
    allowedOrigins: string[] | null;
  },
  preconditions: BatchItem<"sqlite">[],
): Promise<{ key: KeyView; secret: string }> {
  const secret = generateKey(input.role);
  const id = newId("key");
  const row = {
    id,
    projectId,
    name: input.name,
    role: input.role,
    prefix: secret.slice(0, secret.lastIndexOf("_") + 5),
    hash: await hashKey(secret),
    createdBy: ctx.actor.name,
    createdAt: new Date().toISOString(),
    expiresAt: input.expiresAt ?? null,
    sendTelemetry: input.sendTelemetry,
    browser: input.browser,
    allowedOrigins: input.allowedOrigins,
  };
  await commitChange(ctx, {
    projectId,
    statements: [...preconditions, ctx.db.insert(apiKeys).values(row)],
    audit: {
      action: "key.create",
      targetType: "key",
      target: id,
      after: {
        name: row.name,
        role: row.role,
        prefix: row.prefix,
        expiresAt: row.expiresAt,
        sendTelemetry: row.sendTelemetry,
        browser: row.browser,
        allowedOrigins: row.allowedOrigins,
      },
    },
    event: {
      type: "key.created",
      publishTarget: keyTarget(id),
      payload: { keyId: id, role: row.role },
    },
  });
  const stored = await ctx.db.query.apiKeys.findFirst({ where: eq(apiKeys.id, id) });
  if (!stored) throw new ProblemError("internal_error", "The key was not recorded.");
  return { key: toKeyView(stored), secret };
}

export async function listKeys(ctx: ReadContext, projectId: string): Promise<KeyView[]> {
  requireAccess(ctx.actor, projectId, "keys:manage");
  await findProject(ctx.db, projectId);
  const rows = await ctx.db
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.projectId, projectId))
    .orderBy(asc(apiKeys.createdAt));
  return rows.map(toKeyView);
}

/** Sets a key's own allowed origins (null: the project's); its edge record is republished. */
export async function updateKey(
  ctx: MutationContext,
  projectId: string,
  keyId: string,
  input: Untrusted<typeof KeyPatch>,
): Promise<KeyView> {
  requireAccess(ctx.actor, projectId, "keys:manage");
  const patch = validInput(KeyPatch, input);
  const key = await findKey(ctx, projectId, keyId);
  if (key.revokedAt) {
    throw new ProblemError("conflict", `Key '${keyId}' is revoked; create a new key instead.`);
  }
  await commitChange(ctx, {
    projectId,
    statements: [
      ctx.db
        .update(apiKeys)
        .set({ allowedOrigins: patch.allowedOrigins })
        .where(and(eq(apiKeys.id, keyId), eq(apiKeys.projectId, projectId))),
    ],
    audit: {
      action: "key.update",
      targetType: "key",
      target: keyId,
      before: { allowedOrigins: key.allowedOrigins },
      after: { allowedOrigins: patch.allowedOrigins },
    },
    event: {
      type: "key.updated",
      publishTarget: keyTarget(keyId),
      payload: { keyId, allowedOrigins: patch.allowedOrigins },
    },
  });
  return toKeyView(await findKey(ctx, projectId, keyId));
}

async function findKey(ctx: ReadContext, projectId: string, keyId: string): Promise<ApiKeyRow> {
  const key = await ctx.db.query.apiKeys.findFirst({
    where: and(eq(apiKeys.id, keyId), eq(apiKeys.projectId, projectId)),
  });
  if (!key) throw new ProblemError("not_found", `Key '${keyId}' does not exist in this project.`);
  return key;
}

export async function revokeKey(ctx: MutationContext, projectId: string, keyId: string) {
  requireAccess(ctx.actor, projectId, "keys:manage");
  const key = await ctx.db.query.apiKeys.findFirst({
    where: and(eq(apiKeys.id, keyId), eq(apiKeys.projectId, projectId)),
  });
  if (!key) throw new ProblemError("not_found", `Key '${keyId}' does not exist in this project.`);
  if (key.revokedAt) return;
  const now = new Date().toISOString();
  await commitChange(ctx, {
    projectId,
    statements: [
      ctx.db
        .update(apiKeys)
        .set({ revokedAt: now })
        .where(and(eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt))),
    ],
    audit: {
      action: "key.revoke",
      targetType: "key",
      target: keyId,
      before: { revokedAt: null },
      after: { revokedAt: now },
    },
    event: { type: "key.revoked", publishTarget: keyTarget(keyId), payload: { keyId } },
  });
}
