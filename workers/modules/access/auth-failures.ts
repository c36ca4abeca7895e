import { ProblemError } from "@cuecard/core/problem";
import { type Database, openDatabase } from "../../platform/db/client";
import { type ApiKeyRow, auditLog } from "../../platform/db/schema";
import { type OpenedSession, openSession, SignInRefused } from "./sessions";

/** The FAILED_AUTH_LIMITER period in wrangler.toml: how long a client waits once over the limit. */
export const FAILED_AUTH_WINDOW_SECONDS = 60;

interface Limiter {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}

/** The client's address as Cloudflare reports it; requests without one (local dev) share a bucket. */
export function clientAddress(header: (name: string) => string | undefined): string {
  return header("cf-connecting-ip") ?? "unknown";
}

/**
 * Counts a failed credential (sign-in key, API key, bootstrap token) against the client's address,
 * one budget for every door so switching doors buys no guesses. Within the budget the refusal
 * stands; past it the answer is 429 with Retry-After. Only failures are counted: a working key is
 * never slowed down by the limiter. If the limiter itself fails, the refusal stands.
 */
export async function countFailedAuth(
  limiter: Limiter,
  address: string,
  refusal: ProblemError,
): Promise<{ limited: boolean; error: ProblemError }> {
  let success = true;
  try {
    ({ success } = await limiter.limit({ key: address }));
  } catch (error) {
    console.error("failed-auth limiter unavailable", String(error));
  }
  if (success) return { limited: false, error: refusal };
  return {
    limited: true,
    error: new ProblemError(
      "rate_limited",
      `Too many failed keys from your address. Wait ${FAILED_AUTH_WINDOW_SECONDS} seconds, then try again with a valid key.`,
      { headers: { "retry-after": String(FAILED_AUTH_WINDOW_SECONDS) } },
    ),
  };
}

/**
 * A refused sign-in, for the audit log: never the key that was tried. A key that exists (a reader
 * key, say) is recorded in its project; an unknown key names no project, so it is recorded under
 * `-`, as denials without a project are.
 */
export async function auditFailedSignIn(
  db: Database,
  input: {
    key?: ApiKeyRow;
    address: string;
    via: "ui" | "api";
    refusal: ProblemError;
    requestId: string;
  },
) {
  await db.insert(auditLog).values({
    projectId: input.key?.projectId ?? "-",
    actor: input.key?.id ?? "anonymous",
    actorRole: input.key?.role ?? "anonymous",
    action: "session.sign_in_failed",
    targetType: "client",
    target: input.address,
    after: { reason: input.refusal.code, detail: input.refusal.message, via: input.via },
    requestId: input.requestId,
  });
}

/**
 * Sign-in for the UI and the API alike. A refused key is audited and counted; past the limit the
 * answer is 429 and nothing is written, so a flood of guesses cannot flood the audit log.
 */
export async function signInWithKey(
  env: AdminEnv,
  request: { header: (name: string) => string | undefined; requestId: string; via: "ui" | "api" },
  plaintextKey: string,
): Promise<OpenedSession> {
  const db = openDatabase(env.DB);
  try {
    return await openSession(db, plaintextKey);
  } catch (error) {
    if (!(error instanceof SignInRefused)) throw error;
    const address = clientAddress(request.header);
    const counted = await countFailedAuth(env.FAILED_AUTH_LIMITER, address, error);
    if (!counted.limited) {
      await auditFailedSignIn(db, {
        key: error.key,
        address,
        via: request.via,
        refusal: error,
        requestId: request.requestId,
      });
    }
    throw counted.error;
  }
}
