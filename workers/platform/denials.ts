import type { Actor } from "./context";
import type { Database } from "./db/client";
import { auditLog } from "./db/schema";

/** Denials are audited too: who tried what, and why it was refused. */
export async function auditDenial(
  db: Database,
  actor: Actor,
  input: { projectId: string; requestId: string; action: string; detail: string },
) {
  await db.insert(auditLog).values({
    projectId: input.projectId,
    actor: actor.id,
    actorRole: actor.role,
    action: "access.denied",
    targetType: "route",
    target: input.action,
    after: { detail: input.detail },
    requestId: input.requestId,
  });
}
