import { newId } from "@cuecard/core/ids";
import { ProblemError } from "@cuecard/core/problem";
import { is, SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { MutationContext } from "./context";
import { auditLog, outbox } from "./db/schema";
import { dispatchOutboxRow } from "./outbox";

/**
 * Every mutation is one D1 batch (atomic): the change itself, its audit rows and one outbox row
 * per event. After the commit the outbox rows are dispatched (publish to KV, enqueue the event);
 * if that fails the rows stay pending and the cron retries them, so the commit never depends on KV.
 *
 * What a change replaced is only known inside the batch (a concurrent change may land between
 * any read before it and the commit). So an audit row or an event may be `inBatch`: its values
 * (any `SQL` inside `before`, `after` or `payload`) are read from the row `inBatch.from` selects
 * when the batch runs, after the change's statements; when that selects no row the change
 * changed nothing and the record is not written at all.
 */
export interface InBatchSource {
  /** A `FROM … WHERE …` clause (without the keyword) yielding at most one row. */
  from: SQL;
}

export interface ChangeAudit {
  action: string;
  targetType: string;
  target: string;
  before?: unknown;
  after?: unknown;
  inBatch?: InBatchSource;
}

export interface ChangeEvent {
  type: string;
  /** `prompt:{name}` or `key:{id}`: the KV projection to refresh. */
  publishTarget: string | null;
  payload: Record<string, unknown>;
  inBatch?: InBatchSource;
}

export interface Change {
  projectId: string;
  statements: BatchItem<"sqlite">[];
  audit: ChangeAudit | ChangeAudit[];
  /** One outbox row (and event id) per event, dispatched in this order. */
  event: ChangeEvent | ChangeEvent[];
}

/** Identifies one change's rows (e.g. `label_history.change_id`) so its records can find them. */
export function newChangeId(): string {
  return newId("change");
}

/** A JSON value as SQL; `SQL` leaves are evaluated in the batch, undefined members dropped. */
function jsonSql(value: unknown): SQL {
  if (is(value, SQL)) return value;
  if (Array.isArray(value)) {
    return value.length === 0
      ? sql`json_array()`
      : sql`json_array(${sql.join(value.map(jsonSql), sql`, `)})`;
  }
  if (value !== null && typeof value === "object") {
    const members = Object.entries(value).filter(([, member]) => member !== undefined);
    if (members.length === 0) return sql`json_object()`;
    return sql`json_object(${sql.join(
      members.map(([key, member]) => sql`${key}, ${jsonSql(member)}`),
      sql`, `,
    )})`;
  }
  return sql`json(${JSON.stringify(value ?? null)})`;
}

/** A JSON column's value: SQL NULL for none, like a plain insert of null. */
const jsonColumn = (value: unknown) =>
  value === undefined || value === null ? sql`NULL` : jsonSql(value);

const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

export async function commitChange(ctx: MutationContext, change: Change): Promise<string> {
  return (await commitChangeAndRead(ctx, change, [])).eventId;
}

/**
 * Commits like `commitChange`, then runs `reads` at the end of the same batch and returns their
 * results: the state the change left, before any later change (e.g. the label a move left).
 */
export async function commitChangeAndRead(
  ctx: MutationContext,
  change: Change,
  reads: BatchItem<"sqlite">[],
): Promise<{ eventId: string; reads: unknown[] }> {
  const createdAt = new Date().toISOString();
  const records: BatchItem<"sqlite">[] = [];
  for (const audit of asList(change.audit)) {
    if (!audit.inBatch) {
      records.push(
        ctx.db.insert(auditLog).values({
          projectId: change.projectId,
          actor: ctx.actor.id,
          actorRole: ctx.actor.role,
          action: audit.action,
          targetType: audit.targetType,
          target: audit.target,
          before: audit.before ?? null,
          after: audit.after ?? null,
          requestId: ctx.requestId,
          createdAt,
        }),
      );
      continue;
    }
    // Every column in table order, as `insert … select` requires.
    records.push(
      ctx.db.insert(auditLog).select(
        sql`SELECT NULL, ${change.projectId}, ${ctx.actor.id}, ${ctx.actor.role}, ${audit.action},
          ${audit.targetType}, ${audit.target}, ${jsonColumn(audit.before)},
          ${jsonColumn(audit.after)}, ${ctx.requestId}, ${createdAt}
        FROM ${audit.inBatch.from}`,
      ),
    );
  }
  const eventIds: string[] = [];
  for (const event of asList(change.event)) {
    const eventId = newId("event");
    eventIds.push(eventId);
    const payload = {
      ...event.payload,
      actor: { id: ctx.actor.id, name: ctx.actor.name, role: ctx.actor.role },
      requestId: ctx.requestId,
    };
    if (!event.inBatch) {
      records.push(
        ctx.db.insert(outbox).values({
          eventId,
          projectId: change.projectId,
          publishTarget: event.publishTarget,
          eventType: event.type,
          payload,
          createdAt,
        }),
      );
      continue;
    }
    records.push(
      ctx.db.insert(outbox).select(
        sql`SELECT NULL, ${eventId}, ${change.projectId}, ${event.publishTarget}, ${event.type},
          ${jsonSql(payload)}, ${createdAt}, NULL, NULL, NULL, 0, 0, NULL
        FROM ${event.inBatch.from}`,
      ),
    );
  }

  let results: unknown[];
  try {
    results = await ctx.db.batch([...change.statements, ...records, ...reads] as unknown as [
      BatchItem<"sqlite">,
      ...BatchItem<"sqlite">[],
    ]);
  } catch (error) {
    throw batchProblem(error);
  }

  // Publishing right away gives read-your-write at the edge; a failure is only logged because
  // the outbox row stays pending and the cron and the queue consumer converge KV later. A row
  // an in-batch event did not write (nothing changed) is simply not found.
  const published = new Set<string>();
  for (const eventId of eventIds) {
    await dispatchOutboxRow(ctx, eventId, published).catch((error) =>
      console.error("dispatch after commit failed", eventId, String(error)),
    );
  }
  return { eventId: eventIds[0] ?? "", reads: results.slice(results.length - reads.length) };
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
