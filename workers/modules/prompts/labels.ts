import type { PromptRef } from "@cuecard/core/events";
import { LATEST_LABEL } from "@cuecard/core/names";
import { ProblemError } from "@cuecard/core/problem";
import { and, asc, desc, eq, lt, type SQL, sql } from "drizzle-orm";
import {
  type ChangeAudit,
  type ChangeEvent,
  commitChange,
  commitChangeAndRead,
  type InBatchSource,
  newChangeId,
} from "../../platform/changes";
import type { Actor, MutationContext, ReadContext } from "../../platform/context";
import type { Database } from "../../platform/db/client";
import {
  type LabelHistoryRow,
  type LabelRow,
  labelHistory,
  labels,
  type PromptRow,
  versions,
} from "../../platform/db/schema";
import { archivedGuard, guard } from "../../platform/guards";
import { type Page, readPage, rowsForPage } from "../../platform/pagination";
import { permissionRefusal, requireAccess, requireLabelMove } from "../access/access";
import { promptTarget } from "./publish";
import { referenceMoveEvents, refuseIfIncluded } from "./references";
import type { LabelMoveView, LabelView } from "./schemas";

export type { LabelMoveView, LabelView } from "./schemas";

/**
 * Optimistic concurrency: `expectedRev` is the label's rev as the caller last saw it (null: the
 * label must not exist yet). Checked inside the batch, so of two racing moves exactly one wins.
 */
export interface MoveOptions {
  actor: Actor;
  now: string;
  isRollback: boolean;
  expectedRev?: number | null;
}

function labelExists(promptId: SQL | number, label: string, rev?: number) {
  return rev === undefined
    ? sql`EXISTS (SELECT 1 FROM labels WHERE prompt_id = ${promptId} AND name = ${label})`
    : sql`EXISTS (SELECT 1 FROM labels WHERE prompt_id = ${promptId} AND name = ${label} AND rev = ${rev})`;
}

function revGuard(
  db: Database,
  promptId: SQL | number,
  label: string,
  expectedRev?: number | null,
) {
  if (expectedRev === undefined) return [];
  return [
    guard(
      db,
      "stale_revision",
      expectedRev === null
        ? sql`NOT ${labelExists(promptId, label)}`
        : labelExists(promptId, label, expectedRev),
    ),
  ];
}

/**
 * Statements that point `label` at `toVersion`, recording the move in the label's history.
 * Everything is decided inside the batch: a label that already serves `toVersion` is left as it
 * is, with no history row, so a move that changes nothing records nothing.
 */
export function moveLabelStatements(
  db: Database,
  promptId: SQL | number,
  label: string,
  toVersion: number,
  options: MoveOptions & { changeId: string },
) {
  return [
    ...revGuard(db, promptId, label, options.expectedRev),
    guard(
      db,
      "version_not_found",
      sql`EXISTS (SELECT 1 FROM versions WHERE prompt_id = ${promptId} AND version = ${toVersion})`,
    ),
    db.insert(labelHistory).select(
      sql`SELECT NULL, ${promptId}, ${label},
        (SELECT version FROM labels WHERE prompt_id = ${promptId} AND name = ${label}),
        ${toVersion}, ${options.isRollback ? 1 : 0}, ${options.actor.name}, ${options.now},
        ${options.changeId}
      WHERE NOT EXISTS (SELECT 1 FROM labels
        WHERE prompt_id = ${promptId} AND name = ${label} AND version = ${toVersion})`,
    ),
    db
      .insert(labels)
      .values({
        promptId: promptId as number,
        name: label,
        version: toVersion,
        rev: sql`(SELECT MAX(id) FROM label_history WHERE prompt_id = ${promptId} AND label = ${label})`,
        updatedBy: options.actor.name,
        updatedAt: options.now,
      })
      .onConflictDoUpdate({
        target: [labels.promptId, labels.name],
        set: {
          version: sql`excluded.version`,
          rev: sql`excluded.rev`,
          updatedBy: sql`excluded.updated_by`,
          updatedAt: sql`excluded.updated_at`,
        },
        // Same condition as the history row's: an unchanged label keeps its rev and author.
        setWhere: sql`${labels.version} <> excluded.version`,
      }),
  ];
}

/** The history row a change wrote for `label`, read inside the batch (none: nothing changed). */
function historyRowOf(changeId: string, label: string): InBatchSource {
  return { from: sql`label_history WHERE change_id = ${changeId} AND label = ${label}` };
}

/**
 * The `prompt.reference.moved` events of moving `label` to `version` (none when no prompt
 * includes the label; a 422 when the move would break what includes it).
 */
export function includerEventsOfMove(
  db: Database,
  prompt: PromptRow,
  label: string,
  version: number,
  records: { event: ChangeEvent },
): Promise<ChangeEvent[]> {
  return referenceMoveEvents(db, prompt.projectId, prompt, [
    {
      label,
      version: () =>
        db.query.versions.findFirst({
          where: and(eq(versions.promptId, prompt.id), eq(versions.version, version)),
        }),
      inBatch: records.event.inBatch,
    },
  ]);
}

/** Read from a history row: what the label was before it (its rev is the previous row's id). */
const labelBefore = sql`CASE WHEN from_version IS NULL THEN NULL ELSE json_object(
  'version', from_version,
  'rev', (SELECT MAX(earlier.id) FROM label_history AS earlier
    WHERE earlier.prompt_id = label_history.prompt_id AND earlier.label = label_history.label
      AND earlier.id < label_history.id)) END`;

/**
 * The audit row and `prompt.label.moved` event of a move made by `moveLabelStatements`, both
 * read from its history row in the batch: `from` is what the move really replaced, and a move
 * that changed nothing is neither audited nor announced.
 */
export function labelMoveRecords(
  prompt: PromptRef,
  label: string,
  changeId: string,
  isRollback: boolean,
  publishTarget: string,
): { audit: ChangeAudit; event: ChangeEvent } {
  const inBatch = historyRowOf(changeId, label);
  return {
    audit: {
      action: isRollback ? "label.rollback" : "label.move",
      targetType: "label",
      target: `${prompt.name}@${label}`,
      before: labelBefore,
      after: { version: sql`to_version`, rev: sql`id` },
      inBatch,
    },
    event: {
      type: "prompt.label.moved",
      publishTarget,
      payload: {
        prompt: { name: prompt.name, type: prompt.type },
        label,
        fromVersion: sql`from_version`,
        toVersion: sql`to_version`,
        isRollback,
      },
      inBatch,
    },
  };
}

export async function listLabels(ctx: ReadContext, prompt: PromptRow): Promise<LabelView[]> {
  requireAccess(ctx.actor, prompt.projectId, "prompts:read");
  return labelsOf(ctx.db, prompt.id);
}

/** A prompt's labels, for verbs that have checked the actor's access already (no check here). */
export async function labelsOf(db: Database, promptId: number): Promise<LabelView[]> {
  return db
    .select({
      name: labels.name,
      version: labels.version,
      rev: labels.rev,
      updatedBy: labels.updatedBy,
      updatedAt: labels.updatedAt,
    })
    .from(labels)
    .where(eq(labels.promptId, promptId))
    .orderBy(asc(labels.name));
}

async function findLabel(
  db: Database,
  promptId: number,
  label: string,
): Promise<LabelView | undefined> {
  const row = await db.query.labels.findFirst({
    where: and(eq(labels.promptId, promptId), eq(labels.name, label)),
  });
  return row && toLabelView(row);
}

function toLabelView(row: LabelRow): LabelView {
  return {
    name: row.name,
    version: row.version,
    rev: row.rev,
    updatedBy: row.updatedBy,
    updatedAt: row.updatedAt,
  };
}

function refuseLatest(label: string) {
  if (label === LATEST_LABEL) {
    throw new ProblemError("validation_failed", "The latest label cannot be changed by hand.", {
      errors: [{ field: "path.label", message: "'latest' moves to each new version by itself" }],
    });
  }
}

export async function moveLabel(
  ctx: MutationContext,
  prompt: PromptRow,
  label: string,
  input: { version: number; expectedRev?: number | null; isRollback?: boolean },
): Promise<{ label: LabelView; changed: boolean }> {
  refuseLatest(label);
  await requireLabelMove(ctx.db, ctx.actor, prompt.projectId, label);
  const now = new Date().toISOString();
  const isRollback = input.isRollback ?? false;
  const changeId = newChangeId();
  const records = labelMoveRecords(prompt, label, changeId, isRollback, promptTarget(prompt.name));
  const includerEvents = await includerEventsOfMove(ctx.db, prompt, label, input.version, records);
  const { reads } = await commitChangeAndRead(
    ctx,
    {
      projectId: prompt.projectId,
      statements: [
        archivedGuard(ctx.db, prompt.id),
        ...moveLabelStatements(ctx.db, prompt.id, label, input.version, {
          actor: ctx.actor,
          now,
          isRollback,
          expectedRev: input.expectedRev,
          changeId,
        }),
      ],
      audit: records.audit,
      event: [records.event, ...includerEvents],
    },
    // Read in the batch: whether this move changed anything, and the label as it left it (a
    // later move may already have replaced it by the time the batch returns).
    [
      ctx.db
        .select({ id: labelHistory.id })
        .from(labelHistory)
        .where(eq(labelHistory.changeId, changeId)),
      ctx.db
        .select()
        .from(labels)
        .where(and(eq(labels.promptId, prompt.id), eq(labels.name, label))),
    ],
  );
  const [moved, left] = reads as [{ id: number }[], LabelRow[]];
  const row = left[0];
  if (!row) throw new ProblemError("internal_error", "The label move was not recorded.");
  return { label: toLabelView(row), changed: moved.length > 0 };
}

/** Deleting a label records what it pointed at when the batch ran; a label already gone is 404. */
export async function deleteLabel(
  ctx: MutationContext,
  prompt: PromptRow,
  label: string,
  expectedRev?: number,
): Promise<void> {
  refuseLatest(label);
  await requireLabelMove(ctx.db, ctx.actor, prompt.projectId, label);
  await refuseIfIncluded(ctx.db, prompt.projectId, prompt.name, label);
  const before = await findLabel(ctx.db, prompt.id, label);
  if (!before) {
    throw new ProblemError("not_found", `Prompt '${prompt.name}' has no label '${label}'.`);
  }
  const now = new Date().toISOString();
  const changeId = newChangeId();
  const inBatch = historyRowOf(changeId, label);
  await commitChange(ctx, {
    projectId: prompt.projectId,
    statements: [
      // Without an expectedRev the label must still be the one just read, so a delete racing a
      // move is a 409 rather than deleting a version nobody saw.
      ...revGuard(ctx.db, prompt.id, label, expectedRev ?? before.rev),
      ctx.db.insert(labelHistory).select(
        sql`SELECT NULL, ${prompt.id}, ${label}, version, NULL, 0, ${ctx.actor.name}, ${now},
          ${changeId}
        FROM labels WHERE prompt_id = ${prompt.id} AND name = ${label}`,
      ),
      ctx.db.delete(labels).where(and(eq(labels.promptId, prompt.id), eq(labels.name, label))),
    ],
    audit: {
      action: "label.delete",
      targetType: "label",
      target: `${prompt.name}@${label}`,
      before: labelBefore,
      inBatch,
    },
    event: {
      type: "prompt.label.deleted",
      publishTarget: promptTarget(prompt.name),
      payload: {
        prompt: { name: prompt.name, type: prompt.type },
        label,
        fromVersion: sql`from_version`,
      },
      inBatch,
    },
  });
}

export async function labelHistoryOf(
  ctx: ReadContext,
  prompt: PromptRow,
  label: string,
  page: { limit: number; before?: number } = { limit: 1000 },
): Promise<Page<LabelMoveView, number>> {
  requireAccess(ctx.actor, prompt.projectId, "prompts:read");
  const promptId = prompt.id;
  const rows = await ctx.db
    .select()
    .from(labelHistory)
    .where(
      and(
        eq(labelHistory.promptId, promptId),
        eq(labelHistory.label, label),
        page.before ? lt(labelHistory.id, page.before) : undefined,
      ),
    )
    .orderBy(desc(labelHistory.id))
    .limit(rowsForPage(page.limit));
  const { items, nextCursor } = readPage(rows, page.limit, (row) => row.id);
  return { items: items.map(toMoveView), nextCursor };
}

function toMoveView(row: LabelHistoryRow): LabelMoveView {
  return {
    id: row.id,
    label: row.label,
    fromVersion: row.fromVersion,
    toVersion: row.toVersion,
    isRollback: row.isRollback,
    actor: row.actor,
    createdAt: row.createdAt,
  };
}

/**
 * The version a rollback returns to: the one the label served before its current version went
 * live. History replays as a stack — a move pushes, a rollback pops, a delete clears — so
 * rolling back twice goes two releases back rather than undoing the first rollback.
 */
export function rollbackTarget(historyOldestFirst: LabelMoveView[]): number | undefined {
  const stack: number[] = [];
  for (const move of historyOldestFirst) {
    if (move.toVersion === null) stack.length = 0;
    else if (move.isRollback && stack[stack.length - 2] === move.toVersion) stack.pop();
    else stack.push(move.toVersion);
  }
  return stack[stack.length - 2];
}

/**
 * A rollback as planned: the label as it is now, the version it would serve (the one asked for,
 * or the one served before), and why it would be refused, if it would (what `rollbackLabel`
 * throws).
 */
export type RollbackPlan = { current: LabelView } & (
  | { target: number; blocked?: undefined }
  | { target: number | undefined; blocked: ProblemError }
);

/**
 * What rolling `label` back would do, decided once for the verb and for the page that asks to
 * confirm it: the target version, or why it cannot be done. A label that does not exist is 404.
 * Whatever changes between plan and rollback is caught again inside the batch.
 */
export async function planRollback(
  ctx: ReadContext,
  prompt: PromptRow,
  label: string,
  toVersion?: number,
): Promise<RollbackPlan> {
  refuseLatest(label);
  requireAccess(ctx.actor, prompt.projectId, "prompts:read");
  const current = await findLabel(ctx.db, prompt.id, label);
  if (!current) {
    throw new ProblemError("not_found", `Prompt '${prompt.name}' has no label '${label}'.`);
  }
  const target =
    toVersion ?? rollbackTarget([...(await labelHistoryOf(ctx, prompt, label)).items].reverse());
  const refusal =
    permissionRefusal(ctx.actor, "labels:rollback") ??
    (prompt.archivedAt
      ? new ProblemError(
          "conflict",
          "The prompt is archived. Restore it (PATCH with archived: false) before changing it.",
        )
      : undefined);
  if (target === undefined) {
    const none = `Label '${label}' has no earlier version to roll back to. Name one with toVersion.`;
    return { current, target, blocked: refusal ?? new ProblemError("conflict", none) };
  }
  const blocked =
    refusal ??
    (target > prompt.latestVersion
      ? new ProblemError("not_found", "That version does not exist for this prompt.")
      : target === current.version
        ? new ProblemError("conflict", `Label '${label}' already serves version ${target}.`)
        : undefined);
  return blocked ? { current, target, blocked } : { current, target };
}

export async function rollbackLabel(
  ctx: MutationContext,
  prompt: PromptRow,
  label: string,
  input: { toVersion?: number; expectedRev?: number },
): Promise<{ label: LabelView; changed: boolean }> {
  refuseLatest(label);
  requireAccess(ctx.actor, prompt.projectId, "labels:rollback");
  const plan = await planRollback(ctx, prompt, label, input.toVersion);
  if (plan.blocked) throw plan.blocked;
  return moveLabel(ctx, prompt, label, {
    version: plan.target,
    expectedRev: input.expectedRev ?? plan.current.rev,
    isRollback: true,
  });
}
