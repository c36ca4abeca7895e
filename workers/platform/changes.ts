import type { EventPayloads, EventType } from "@cuecard/core/events";
import { newId } from "@cuecard/core/ids";
import { ProblemError } from "@cuecard/core/problem";
import { getTableColumns, is, SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { MutationContext } from "./context";
import type { Database } from "./db/client";
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

/** A payload whose top-level values may be read in the batch (`inBatch`) instead of given. */
type MaybeInBatch<T> = { [K in keyof T]: T[K] | SQL };

/** An event of the catalog (`@cuecard/core/events`), as a change emits it. */
export type ChangeEvent = {
  [T in EventType]: {
    type: T;
    /** `prompt:{name}` or `key:{id}`: the KV projection to refresh. */
    publishTarget: string | null;
    payload: MaybeInBatch<EventPayloads[T]>;
    inBatch?: InBatchSource;
  };
}[EventType];

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

/**
 * `INSERT INTO table SELECT values FROM source`: one row per row of `source`, none when it is
 * empty. drizzle's insert-select takes every column in table order, so the list is built from the
 * table: named values where given, each other column's declared default (or NULL), so a column
 * added later needs no change here.
 */
function insertSelect<T extends SQLiteTable>(
  db: Database,
  table: T,
  values: Partial<Record<keyof T["$inferInsert"], SQL>>,
  from: SQL,
) {
  const given = values as Record<string, SQL | undefined>;
  const columns = Object.entries(getTableColumns(table)).map(([key, column]) => {
    const value = given[key];
    if (value) return value;
    const fallback = (column as { default?: unknown }).default;
    return fallback === undefined || fallback === null
      ? sql`NULL`
      : is(fallback, SQL)
        ? fallback
        : sql`${fallback}`;
  });
  return db.insert(table).select(sql`SELECT ${sql.join(columns, sql`, `)} FROM ${from}`);
}

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
    records.push(
      insertSelect(
        ctx.db,
        auditLog,
        {
          projectId: sql`${change.projectId}`,
          actor: sql`${ctx.actor.id}`,
          actorRole: sql`${ctx.actor.role}`,
          action: sql`${audit.action}`,
          targetType: sql`${audit.targetType}`,
          target: sql`${audit.target}`,
          before: jsonColumn(audit.before),
          after: jsonColumn(audit.after),
          requestId: sql`${ctx.requestId}`,
          createdAt: sql`${createdAt}`,
        },
        audit.inBatch.from,
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
      insertSelect(
        ctx.db,
        outbox,
        {
          eventId: sql`${eventId}`,
          projectId: sql`${change.projectId}`,
          publishTarget: sql`${event.publishTarget}`,
          eventType: sql`${event.type}`,
          payload: jsonSql(payload),
          createdAt: sql`${createdAt}`,
        },
        event.inBatch.from,
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
  if (message.includes("label_in_experiment")) {
    return new ProblemError(
      "conflict",
      "An experiment is running (or paused) on this label, so it cannot be moved or deleted. Stop the experiment first (POST …/experiments/{id}/stop, optionally promoting a variant).",
    );
  }
  if (message.includes("experiments.prompt_id, experiments.label")) {
    return new ProblemError(
      "conflict",
      "Another experiment is already running or paused on this label; stop it before starting this one.",
    );
  }
  if (message.includes("experiments.project_id, experiments.key")) {
    return new ProblemError(
      "conflict",
      "An experiment with this key already exists in the project.",
    );
  }
  if (message.includes("experiment_state")) {
    return new ProblemError(
      "conflict",
      "The experiment changed state since it was read; reload it and retry.",
    );
  }
  if (message.includes("label_not_found")) {
    return new ProblemError(
      "conflict",
      "The experiment's label does not exist, so it has no version to use as the control. Create the label first.",
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
