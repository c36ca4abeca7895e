import { hashKey, isWellFormedKey } from "@cuecard/core/keys";
import { LATEST_LABEL } from "@cuecard/core/names";
import { ProblemError } from "@cuecard/core/problem";
import { and, eq, gt, isNull, or } from "drizzle-orm";
import type { Actor } from "../../platform/context";
import type { Database } from "../../platform/db/client";
import { type ApiKeyRow, apiKeys, sessions } from "../../platform/db/schema";
import { findProject } from "../projects/projects";
import { PERMISSION_ACTIONS, type Permission, roleHas } from "./roles";

/** Rules about who may act, used by the HTTP layer and by domain verbs alike. */

export function actorOfKey(key: ApiKeyRow, via: Actor["via"] = "key"): Actor {
  return { id: key.id, name: key.name, role: key.role, projectId: key.projectId, via };
}

function usable(now: string) {
  return and(isNull(apiKeys.revokedAt), or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now)));
}

/** The active key with this plaintext, or undefined. Malformed keys never reach the database. */
export async function findActiveKey(db: Database, plaintext: string) {
  if (!isWellFormedKey(plaintext)) return undefined;
  const hash = await hashKey(plaintext);
  return db.query.apiKeys.findFirst({
    where: and(eq(apiKeys.hash, hash), usable(new Date().toISOString())),
  });
}

/** Records that a key was used, at most once a minute per key to keep writes cheap. */
export async function touchKey(db: Database, key: ApiKeyRow) {
  const now = Date.now();
  if (key.lastUsedAt && now - Date.parse(key.lastUsedAt) < 60_000) return;
  await db
    .update(apiKeys)
    .set({ lastUsedAt: new Date(now).toISOString() })
    .where(eq(apiKeys.id, key.id));
}

export function forbidden(detail: string, permission?: Permission): ProblemError {
  return new ProblemError("forbidden", detail, permission ? { extensions: { permission } } : {});
}

/** The refusal an actor without `permission` gets, or undefined when the role has it. */
export function permissionRefusal(
  actor: Actor,
  permission: Permission,
  what = PERMISSION_ACTIONS[permission],
): ProblemError | undefined {
  return roleHas(actor.role, permission)
    ? undefined
    : forbidden(`Your role (${actor.role}) cannot ${what}.`, permission);
}

export function requirePermission(actor: Actor, permission: Permission, what?: string) {
  const refusal = permissionRefusal(actor, permission, what);
  if (refusal) throw refusal;
}

/**
 * The check every domain verb makes before it reads or changes a project's data, whoever calls
 * it (an API route, a UI page): another project answers 404 as if it did not exist, and a role
 * without the permission is refused with 403.
 */
export function requireAccess(actor: Actor, projectId: string, permission: Permission) {
  if (actor.projectId !== projectId) {
    throw new ProblemError("not_found", `Project '${projectId}' does not exist.`);
  }
  requirePermission(actor, permission);
}

/** Protected labels (production by default) move only for publishers and admins. */
export function labelMovePermission(
  project: { protectedLabels: string[] } | undefined,
  label: string,
): Permission {
  return project?.protectedLabels.includes(label) ? "labels:move-protected" : "labels:move";
}

/** A label move, deletion or rollback's permission check, protected labels included. */
export async function requireLabelMove(
  db: Database,
  actor: Actor,
  projectId: string,
  label: string,
) {
  requireAccess(actor, projectId, "labels:move");
  const project = await findProject(db, projectId);
  if (labelMovePermission(project, label) === "labels:move-protected") {
    requirePermission(
      actor,
      "labels:move-protected",
      `move the protected label '${label}'; ask a publisher`,
    );
  }
}

/**
 * What the actor may do, so that a page offers only what the verbs would accept. The same rules
 * the verbs check: the role's permissions, protected labels, and that an archived prompt takes no
 * new versions and no label moves.
 */
export function capabilitiesOf(
  actor: Actor,
  project?: { protectedLabels: string[] },
  prompt?: { archivedAt: string | null },
) {
  const has = (permission: Permission) => roleHas(actor.role, permission);
  const live = !prompt?.archivedAt;
  return {
    readPrompts: has("prompts:read"),
    /** Create prompts; on a prompt: save new versions. */
    writePrompts: has("prompts:write") && live,
    archivePrompt: has("prompts:archive") && live,
    readAudit: has("audit:read"),
    manageKeys: has("keys:manage"),
    manageWebhooks: has("webhooks:manage"),
    manageProject: has("project:manage"),
    /** Create drafts of experiments; starting one needs `moveLabel` of its label. */
    draftExperiments: has("labels:move") && live,
    /** Move some label (the unprotected ones at least): whether to offer "Promote". */
    promote: live && has("labels:move"),
    moveLabel: (label: string) =>
      live && label !== LATEST_LABEL && has(labelMovePermission(project, label)),
    rollbackLabel: (label: string) => live && label !== LATEST_LABEL && has("labels:rollback"),
  };
}

export type Capabilities = ReturnType<typeof capabilitiesOf>;

export async function findActiveSession(db: Database, token: string) {
  const id = await hashKey(token);
  const now = new Date().toISOString();
  const session = await db.query.sessions.findFirst({
    where: and(eq(sessions.id, id), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)),
  });
  if (!session) return undefined;
  // A session lives only as long as the key it was opened with.
  const key = await db.query.apiKeys.findFirst({
    where: and(eq(apiKeys.id, session.keyId), usable(now)),
  });
  return key ? { session, key } : undefined;
}
