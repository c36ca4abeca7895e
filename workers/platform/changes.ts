import { newId } from "@cuecard/core/ids";
import { ProblemError } from "@cuecard/core/problem";
import type { BatchItem } from "drizzle-orm/batch";
import type { MutationContext } from "./context";
import { auditLog, outbox } from "./db/schema";
import { dispatchOutboxRow } from "./outbox";

/**
 * Every mutation is one D1 batch (atomic): the change itself, an audit row and an outbox row.
 * After the commit the outbox row is dispatched (publish to KV, enqueue the event); if that
 * fails the row stays pending and the cron retries it, so the commit never depends on KV.
 */
export interface Change {
  projectId: string;
  statements: BatchItem<"sqlite">[];
  audit: {
    action: string;
    targetType: string;
    target: string;
    before?: unknown;
    after?: unknown;
  };
  event: {
    type: string;
    /** `prompt:{name}` or `key:{id}`: the KV projection to refresh. */
    publishTarget: string | null;
    payload: Record<string, unknown>;
  };
}

export async function commitChange(ctx: MutationContext, change: Change): Promise<string> {
  const eventId = newId("event");
  const createdAt = new Date().toISOString();
  const auditRow = ctx.db.insert(auditLog).values({
    projectId: change.projectId,
    actor: ctx.actor.id,
    actorRole: ctx.actor.role,
    action: change.audit.action,
    targetType: change.audit.targetType,
    target: change.audit.target,
    before: change.audit.before ?? null,
    after: change.audit.after ?? null,
    requestId: ctx.requestId,
    createdAt,
  });
  const outboxRow = ctx.db.insert(outbox).values({
    eventId,
    projectId: change.projectId,
    publishTarget: change.event.publishTarget,
    eventType: change.event.type,
    payload: {
      ...change.event.payload,
      actor: { id: ctx.actor.id, name: ctx.actor.name, role: ctx.actor.role },
      requestId: ctx.requestId,
    },
    createdAt,
  });

  try {
    await ctx.db.batch([...change.statements, auditRow, outboxRow] as unknown as [
      BatchItem<"sqlite">,
      ...BatchItem<"sqlite">[],
    ]);
  } catch (error) {
    throw batchProblem(error);
  }

  // Publishing right away gives read-your-write at the edge; a failure is only logged because
  // the outbox row stays pending and the cron and the queue consumer converge KV later.
  await dispatchOutboxRow(ctx, eventId).catch((error) =>
    console.error("dispatch after commit failed", eventId, String(error)),
  );
  return eventId;
}

/**
 * Maps a failed batch to the problem the user can act on. Guard rows (see `batch_guards`) name
 * the precondition that failed; unique indexes name the conflict. Anything else is a 500 and
 * its message (which may contain SQL) is logged, never returned.
 */
export function batchProblem(error: unknown): ProblemError {
  const message = error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : "";
  if (message.includes("stale_revision")) {
    return new ProblemError(
      "stale_revision",
      "The label was moved by someone else since you read it. Reload it and retry with its current rev.",
    );
  }
  if (message.includes("version_not_found")) {
    return new ProblemError("not_found", "That version does not exist for this prompt.");
  }
  if (message.includes("admin_exists")) {
    return new ProblemError(
      "conflict",
      "This project already has an admin key; ask its admin for a key instead.",
    );
  }
  if (message.includes("prompt_archived")) {
    return new ProblemError(
      "conflict",
      "The prompt is archived. Restore it (PATCH with archived: false) before changing it.",
    );
  }
  if (
    message.includes("prompts.project_id, prompts.name") ||
    message.includes("prompts_project_name")
  ) {
    return new ProblemError("conflict", "A prompt with this name already exists in the project.");
  }
  if (message.includes("versions.prompt_id, versions.version")) {
    return new ProblemError(
      "conflict",
      "Another version of this prompt was created at the same moment. Retry the request.",
    );
  }
  if (message.includes("projects.id")) {
    return new ProblemError("conflict", "A project with this id already exists.");
  }
  console.error("batch failed", message);
  return new ProblemError(
    "internal_error",
    "The change could not be saved and nothing was written. Retry; if it persists, report the request id.",
  );
}
