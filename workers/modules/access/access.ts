import { hashKey, isWellFormedKey } from "@cuecard/core/keys";
import { ProblemError } from "@cuecard/core/problem";
import { and, eq, gt, isNull, or } from "drizzle-orm";
import type { Actor } from "../../platform/context";
import type { Database } from "../../platform/db/client";
import { type ApiKeyRow, apiKeys, sessions } from "../../platform/db/schema";
import { getProject } from "../projects/projects";
import { type Permission, roleHas } from "./roles";

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

export function requirePermission(actor: Actor, permission: Permission, what: string) {
  if (!roleHas(actor.role, permission)) {
    throw forbidden(`Your role (${actor.role}) cannot ${what}.`, permission);
  }
}

/** Protected labels (production by default) move only for publishers and admins. */
export async function requireLabelMove(
  db: Database,
  actor: Actor,
  projectId: string,
  label: string,
) {
  const project = await getProject(db, projectId);
  if (project.protectedLabels.includes(label)) {
    requirePermission(
      actor,
      "labels:move-protected",
      `move the protected label '${label}'; ask a publisher`,
    );
  }
}

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
