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
import { type Untrusted, validInput } from "../../platform/fields";
import { guard } from "../../platform/guards";
import { findProject } from "../projects/projects";
import { requireAccess } from "./access";
import { keyTarget } from "./publish";
import type { KeyView } from "./schemas";

export type { KeyView } from "./schemas";

/** What POST /v1/projects/{project}/keys takes; `createKey` checks it too. */
export const NewKey = z.strictObject({
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
  sendTelemetry: z.boolean().default(true).openapi({
    description:
      "May send telemetry (events, scores, traces) to the edge. Set false for a read key shipped in a browser app, so nobody can poison metrics or experiment results from a web page; it can still read prompts.",
  }),
});

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
    { name: input.keyName, role: "admin", sendTelemetry: true },
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
  input: { name: string; role: Role; expiresAt?: string; sendTelemetry: boolean },
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
