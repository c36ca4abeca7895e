import { LATEST_LABEL } from "@cuecard/core/names";
import { ProblemError } from "@cuecard/core/problem";
import { and, asc, desc, eq, lt, type SQL, sql } from "drizzle-orm";
import { commitChange } from "../../platform/changes";
import type { Actor, MutationContext } from "../../platform/context";
import type { Database } from "../../platform/db/client";
import {
  type LabelHistoryRow,
  labelHistory,
  labels,
  type PromptRow,
} from "../../platform/db/schema";
import { archivedGuard, guard } from "../../platform/guards";
import { requireLabelMove, requirePermission } from "../access/access";
import { promptTarget } from "./publish";

export interface LabelView {
  name: string;
  version: number;
  /** Pass back as `expectedRev` to move the label only if nobody moved it since. */
  rev: number;
  updatedBy: string;
  updatedAt: string;
}

export interface LabelMoveView {
  id: number;
  label: string;
  fromVersion: number | null;
  toVersion: number | null;
  isRollback: boolean;
  actor: string;
  createdAt: string;
}

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

/** Statements that point `label` at `toVersion`, recording the move in the label's history. */
export function moveLabelStatements(
  db: Database,
  promptId: SQL | number,
  label: string,
  toVersion: number,
  options: MoveOptions,
) {
  return [
    ...revGuard(db, promptId, label, options.expectedRev),
    guard(
      db,
      "version_not_found",
      sql`EXISTS (SELECT 1 FROM versions WHERE prompt_id = ${promptId} AND version = ${toVersion})`,
    ),
    db.insert(labelHistory).values({
      promptId: promptId as number,
      label,
      fromVersion: sql`(SELECT version FROM labels WHERE prompt_id = ${promptId} AND name = ${label})`,
      toVersion,
      isRollback: options.isRollback,
      actor: options.actor.name,
      createdAt: options.now,
    }),
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
      }),
  ];
}

export async function listLabels(db: Database, promptId: number): Promise<LabelView[]> {
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
  return (
    row && {
      name: row.name,
      version: row.version,
      rev: row.rev,
      updatedBy: row.updatedBy,
      updatedAt: row.updatedAt,
    }
  );
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
  const before = await findLabel(ctx.db, prompt.id, label);
  const stale = input.expectedRev !== undefined && (before?.rev ?? null) !== input.expectedRev;
  if (!stale && before && before.version === input.version && !input.isRollback) {
    return { label: before, changed: false };
  }
  const now = new Date().toISOString();
  const isRollback = input.isRollback ?? false;
  await commitChange(ctx, {
    projectId: prompt.projectId,
    statements: [
      archivedGuard(ctx.db, prompt.id),
      ...moveLabelStatements(ctx.db, prompt.id, label, input.version, {
        actor: ctx.actor,
        now,
        isRollback,
        expectedRev: input.expectedRev,
      }),
    ],
    audit: {
      action: isRollback ? "label.rollback" : "label.move",
      targetType: "label",
      target: `${prompt.name}@${label}`,
      before: before ? { version: before.version, rev: before.rev } : null,
      after: { version: input.version },
    },
    event: {
      type: "prompt.label.moved",
      publishTarget: promptTarget(prompt.name),
      payload: {
        prompt: { name: prompt.name, type: prompt.type },
        label,
        fromVersion: before?.version ?? null,
        toVersion: input.version,
        isRollback,
      },
    },
  });
  const after = await findLabel(ctx.db, prompt.id, label);
  if (!after) throw new ProblemError("internal_error", "The label move was not recorded.");
  return { label: after, changed: true };
}

export async function deleteLabel(
  ctx: MutationContext,
  prompt: PromptRow,
  label: string,
  expectedRev?: number,
): Promise<void> {
  refuseLatest(label);
  await requireLabelMove(ctx.db, ctx.actor, prompt.projectId, label);
  const before = await findLabel(ctx.db, prompt.id, label);
  if (!before) {
    throw new ProblemError("not_found", `Prompt '${prompt.name}' has no label '${label}'.`);
  }
  const now = new Date().toISOString();
  await commitChange(ctx, {
    projectId: prompt.projectId,
    statements: [
      ...revGuard(ctx.db, prompt.id, label, expectedRev ?? before.rev),
      ctx.db.insert(labelHistory).values({
        promptId: prompt.id,
        label,
        fromVersion: before.version,
        toVersion: null,
        actor: ctx.actor.name,
        createdAt: now,
      }),
      ctx.db.delete(labels).where(and(eq(labels.promptId, prompt.id), eq(labels.name, label))),
    ],
    audit: {
      action: "label.delete",
      targetType: "label",
      target: `${prompt.name}@${label}`,
      before: { version: before.version, rev: before.rev },
    },
    event: {
      type: "prompt.label.deleted",
      publishTarget: promptTarget(prompt.name),
      payload: {
        prompt: { name: prompt.name, type: prompt.type },
        label,
        fromVersion: before.version,
      },
    },
  });
}

export async function labelHistoryOf(
  db: Database,
  promptId: number,
  label: string,
  page: { limit: number; before?: number } = { limit: 1000 },
): Promise<{ items: LabelMoveView[]; nextCursor: number | null }> {
  const rows = await db
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
    .limit(page.limit + 1);
  const items = rows.slice(0, page.limit).map(toMoveView);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > page.limit && last ? last.id : null };
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

export async function rollbackLabel(
  ctx: MutationContext,
  prompt: PromptRow,
  label: string,
  input: { toVersion?: number; expectedRev?: number },
): Promise<{ label: LabelView; changed: boolean }> {
  refuseLatest(label);
  requirePermission(ctx.actor, "labels:rollback", "roll labels back; ask a publisher");
  const current = await findLabel(ctx.db, prompt.id, label);
  if (!current) {
    throw new ProblemError("not_found", `Prompt '${prompt.name}' has no label '${label}'.`);
  }
  let target = input.toVersion;
  if (target === undefined) {
    const history = await labelHistoryOf(ctx.db, prompt.id, label);
    target = rollbackTarget([...history.items].reverse());
    if (target === undefined) {
      throw new ProblemError(
        "conflict",
        `Label '${label}' has no earlier version to roll back to. Name one with toVersion.`,
      );
    }
  }
  if (target === current.version) {
    throw new ProblemError("conflict", `Label '${label}' already serves version ${target}.`);
  }
  return moveLabel(ctx, prompt, label, {
    version: target,
    expectedRev: input.expectedRev ?? current.rev,
    isRollback: true,
  });
}
