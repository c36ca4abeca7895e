import { generateKey, hashKey } from "@cuecard/core/keys";
import { ProblemError } from "@cuecard/core/problem";
import { eq } from "drizzle-orm";
import type { Actor } from "../../platform/context";
import type { Database } from "../../platform/db/client";
import { type ApiKeyRow, sessions } from "../../platform/db/schema";
import { actorOfKey, findActiveKey } from "./access";
import { roleHas } from "./roles";

export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

function randomToken(): string {
  // Reuses the key generator's unbiased alphabet; the role part is dropped.
  return (
    generateKey("admin").slice("cc_admin_".length) + generateKey("admin").slice("cc_admin_".length)
  );
}

export interface OpenedSession {
  /** The cookie value. Only its hash is stored. */
  token: string;
  csrfToken: string;
  actor: Actor;
  expiresAt: string;
}

/** A refused sign-in; `key` is the key that was tried, when it exists (for the audit log). */
export class SignInRefused extends ProblemError {
  constructor(
    code: "unauthorized" | "forbidden",
    detail: string,
    readonly key?: ApiKeyRow,
  ) {
    super(code, detail);
  }
}

/** Signs in with an API key: the browser gets a session instead of keeping the key. */
export async function openSession(db: Database, plaintextKey: string): Promise<OpenedSession> {
  const key = await findActiveKey(db, plaintextKey.trim());
  if (!key) {
    throw new SignInRefused(
      "unauthorized",
      "That key is not valid. Check it, or ask an admin for a new one.",
    );
  }
  if (!roleHas(key.role, "prompts:read")) {
    throw new SignInRefused(
      "forbidden",
      "Reader keys are for applications fetching prompts; sign in with an editor, publisher or admin key.",
      key,
    );
  }
  const token = randomToken();
  const csrfToken = randomToken();
  const expiresAt = new Date(Date.now() + SESSION_TTL_MS).toISOString();
  await db.insert(sessions).values({
    id: await hashKey(token),
    projectId: key.projectId,
    keyId: key.id,
    role: key.role,
    csrfToken,
    expiresAt,
  });
  return { token, csrfToken, actor: actorOfKey(key, "session"), expiresAt };
}

export async function closeSession(db: Database, token: string) {
  await db
    .update(sessions)
    .set({ revokedAt: new Date().toISOString() })
    .where(eq(sessions.id, await hashKey(token)));
}
