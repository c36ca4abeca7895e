import type { EventType } from "@cuecard/core/events";
import { newId } from "@cuecard/core/ids";
import { type FieldError, ProblemError } from "@cuecard/core/problem";
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import {
  type ChangeAudit,
  type ChangeEvent,
  commitChange,
  newChangeId,
} from "../../platform/changes";
import type { MutationContext, ReadContext } from "../../platform/context";
import type { Database } from "../../platform/db/client";
import {
  type ExperimentRow,
  experiments,
  labels,
  type PromptRow,
  prompts,
  type ScheduleDecision,
  versions,
} from "../../platform/db/schema";
import { type Untrusted, validInput } from "../../platform/fields";
import { archivedGuard, guard } from "../../platform/guards";
import { type Page, readPage, rowsForPage } from "../../platform/pagination";
import { requireAccess, requireLabelMove } from "../access/access";
import type { ExposureCounts, TelemetryReader } from "../metrics/reader";
import { includerEventsOfMove, labelMoveRecords, moveLabelStatements } from "../prompts/labels";
import { promptTarget } from "../prompts/publish";
import { seedOf } from "./publish";
import {
  DraftFields,
  type EXPERIMENT_STATES,
  ExperimentPatch,
  type ExperimentView,
  type ExperimentWithExposuresView,
  NewExperiment,
  StopInput,
} from "./schemas";

export type { ExperimentView } from "./schemas";

type ExperimentState = (typeof EXPERIMENT_STATES)[number];

/**
 * Experiments on a label: a draft is edited freely; starting it fixes the control (the label's
 * version at that moment) and publishes the split with the label's KV pointer; pausing serves the
 * control to everyone; stopping ends it, optionally promoting a variant with an ordinary label
 * move in the same batch. While one runs or is paused its label cannot be moved (a trigger).
 *
 * Drafts need `labels:move`; every state change needs the rights a move of the label needs
 * (protected labels: `labels:move-protected`), because it changes what the label serves.
 */

interface Loaded {
  row: ExperimentRow;
  prompt: PromptRow;
}

export function toExperimentView(row: ExperimentRow, promptName: string): ExperimentView {
  return {
    id: row.id,
    key: row.key,
    prompt: promptName,
    label: row.label,
    description: row.description,
    unit: row.unit,
    state: row.state,
    control: { key: row.controlKey, weight: row.controlWeight, version: row.controlVersion },
    variants: row.variants.map(({ key, version, weight }) => ({ key, version, weight })),
    coverage: row.coverage,
    seed: seedOf(row),
    hashVersion: row.hashVersion,
    bucketVersion: row.bucketVersion,
    metrics: row.metrics,
    stages: row.stages,
    promotedVariant: row.promotedVariant,
    onRegression: row.onRegression,
    autoPromote: row.autoPromote,
    decision: row.decision,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    startedAt: row.startedAt,
    stoppedAt: row.stoppedAt,
  };
}

async function loadExperiment(db: Database, projectId: string, id: string): Promise<Loaded> {
  const [found] = await db
    .select()
    .from(experiments)
    .innerJoin(prompts, eq(prompts.id, experiments.promptId))
    .where(and(eq(experiments.projectId, projectId), eq(experiments.id, id)));
  if (!found) {
    throw new ProblemError(
      "not_found",
      `Experiment '${id}' does not exist in project '${projectId}'.`,
    );
  }
  return { row: found.experiments, prompt: found.prompts };
}

export async function getExperiment(
  ctx: ReadContext,
  projectId: string,
  id: string,
): Promise<ExperimentView> {
  requireAccess(ctx.actor, projectId, "prompts:read");
  const { row, prompt } = await loadExperiment(ctx.db, projectId, id);
  return toExperimentView(row, prompt.name);
}

/** What reading exposures needs besides a read context: this deployment's telemetry reader. */
export interface ExposuresContext extends ReadContext {
  telemetry: TelemetryReader;
}

/**
 * The experiment with its exposure counts: distinct units per arm, as telemetry rolled them up.
 * A draft has served nobody, so telemetry is not asked. Telemetry being down is told in the
 * answer (`telemetry: "unavailable"`), not as an error: the experiment itself is still readable.
 */
export async function getExperimentWithExposures(
  ctx: ExposuresContext,
  projectId: string,
  id: string,
): Promise<ExperimentWithExposuresView> {
  const experiment = await getExperiment(ctx, projectId, id);
  if (!ctx.telemetry.deployed) {
    return { ...experiment, exposures: null, telemetry: "not_deployed" };
  }
  const arms = [experiment.control.key, ...experiment.variants.map((variant) => variant.key)];
  let counted: ExposureCounts | null = {};
  if (experiment.state !== "draft") {
    try {
      counted = await ctx.telemetry.experimentExposures(projectId, id);
    } catch (error) {
      if (error instanceof ProblemError && error.status >= 500) {
        return { ...experiment, exposures: null, telemetry: "unavailable" };
      }
      throw error;
    }
  }
  // Every arm is listed, in the experiment's order; a key telemetry knows that is no arm (it
  // cannot happen through the edge) is kept rather than hidden.
  const exposures = Object.fromEntries(arms.map((arm) => [arm, counted?.[arm] ?? 0]));
  for (const [variant, units] of Object.entries(counted ?? {})) exposures[variant] ??= units;
  return { ...experiment, exposures, telemetry: "deployed" };
}

export interface ExperimentFilter {
  state?: ExperimentState;
  prompt?: string;
  limit: number;
  /** The id of the last experiment of the previous page. */
  after?: string;
}

/** Newest first; the cursor is the last experiment's id. */
export async function listExperiments(
  ctx: ReadContext,
  projectId: string,
  filter: ExperimentFilter,
): Promise<Page<ExperimentView, string>> {
  requireAccess(ctx.actor, projectId, "prompts:read");
  const rows = await ctx.db
    .select()
    .from(experiments)
    .innerJoin(prompts, eq(prompts.id, experiments.promptId))
    .where(
      and(
        eq(experiments.projectId, projectId),
        filter.state ? eq(experiments.state, filter.state) : undefined,
        filter.prompt ? eq(prompts.name, filter.prompt) : undefined,
        filter.after
          ? sql`(${experiments.createdAt}, ${experiments.id}) < (SELECT created_at, id FROM experiments WHERE id = ${filter.after})`
          : undefined,
      ),
    )
    .orderBy(desc(experiments.createdAt), desc(experiments.id))
    .limit(rowsForPage(filter.limit));
  const { items, nextCursor } = readPage(rows, filter.limit, (row) => row.experiments.id);
  return {
    items: items.map((row) => toExperimentView(row.experiments, row.prompts.name)),
    nextCursor,
  };
}

/** 422 naming every variant whose version the prompt does not have. */
async function requireVersions(
  db: Database,
  prompt: PromptRow,
  variants: { version: number }[],
): Promise<void> {
  const wanted = [...new Set(variants.map((variant) => variant.version))];
  const found = await db
    .select({ version: versions.version })
    .from(versions)
    .where(and(eq(versions.promptId, prompt.id), inArray(versions.version, wanted)));
  const existing = new Set(found.map((row) => row.version));
  const errors: FieldError[] = variants.flatMap((variant, index) =>
    existing.has(variant.version)
      ? []
      : [
          {
            field: `body.variants.${index}.version`,
            message: `prompt '${prompt.name}' has no version ${variant.version}`,
          },
        ],
  );
  if (errors.length > 0) {
    throw new ProblemError("validation_failed", "Some variants name versions that do not exist.", {
      errors,
    });
  }
}

function archivedConflict(prompt: PromptRow) {
  return new ProblemError(
    "conflict",
    `Prompt '${prompt.name}' is archived. Restore it (PATCH with archived: false) first.`,
  );
}

const draftOf = (row: ExperimentRow) => ({
  label: row.label,
  key: row.key,
  description: row.description,
  unit: row.unit,
  control: { key: row.controlKey, weight: row.controlWeight },
  variants: row.variants,
  coverage: row.coverage,
  metrics: row.metrics,
  stages: row.stages,
  onRegression: row.onRegression,
  autoPromote: row.autoPromote,
});

const columnsOf = (fields: ReturnType<typeof draftOf>) => ({
  label: fields.label,
  key: fields.key,
  description: fields.description,
  unit: fields.unit,
  controlKey: fields.control.key,
  controlWeight: fields.control.weight,
  variants: fields.variants,
  coverage: fields.coverage,
  metrics: fields.metrics,
  stages: fields.stages,
  onRegression: fields.onRegression,
  autoPromote: fields.autoPromote,
});

const refOf = (row: ExperimentRow, prompt: PromptRow) => ({
  experiment: { id: row.id, key: row.key },
  prompt: { name: prompt.name, type: prompt.type },
  label: row.label,
});

export async function createExperiment(
  ctx: MutationContext,
  projectId: string,
  input: Untrusted<typeof NewExperiment>,
): Promise<ExperimentView> {
  requireAccess(ctx.actor, projectId, "labels:move");
  const fields = validInput(NewExperiment, input);
  const prompt = await ctx.db.query.prompts.findFirst({
    where: and(eq(prompts.projectId, projectId), eq(prompts.name, fields.prompt)),
  });
  if (!prompt) {
    throw new ProblemError("validation_failed", `Prompt '${fields.prompt}' does not exist.`, {
      errors: [{ field: "body.prompt", message: "no prompt of this name in the project" }],
    });
  }
  if (prompt.archivedAt) throw archivedConflict(prompt);
  await requireVersions(ctx.db, prompt, fields.variants);
  const id = newId("experiment");
  const now = new Date().toISOString();
  const { prompt: _name, ...draft } = fields;
  const row = {
    id,
    projectId,
    promptId: prompt.id,
    ...columnsOf(draft),
    createdBy: ctx.actor.name,
    createdAt: now,
    updatedAt: now,
  };
  await commitChange(ctx, {
    projectId,
    statements: [archivedGuard(ctx.db, prompt.id), ctx.db.insert(experiments).values(row)],
    audit: {
      action: "experiment.create",
      targetType: "experiment",
      target: id,
      after: { prompt: prompt.name, ...draft },
    },
    event: {
      type: "experiment.created",
      publishTarget: null,
      payload: {
        experiment: { id, key: draft.key },
        prompt: { name: prompt.name, type: prompt.type },
        label: draft.label,
      },
    },
  });
  return getExperiment(ctx, projectId, id);
}

function wrongState(row: ExperimentRow, action: string, allowed: readonly ExperimentState[]) {
  return new ProblemError(
    "conflict",
    `Experiment '${row.key}' is ${row.state}; only ${allowed.map((s) => `a ${s}`).join(" or ")} experiment can be ${action}.`,
  );
}

export async function updateExperiment(
  ctx: MutationContext,
  projectId: string,
  id: string,
  input: Untrusted<typeof ExperimentPatch>,
): Promise<ExperimentView> {
  requireAccess(ctx.actor, projectId, "labels:move");
  const patch = validInput(ExperimentPatch, input);
  const { row, prompt } = await loadExperiment(ctx.db, projectId, id);
  if (row.state !== "draft") throw wrongState(row, "edited", ["draft"]);
  const before = draftOf(row);
  const merged = validInput(DraftFields, {
    ...before,
    ...Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined)),
  });
  await requireVersions(ctx.db, prompt, merged.variants);
  await commitChange(ctx, {
    projectId,
    statements: [
      guard(
        ctx.db,
        "experiment_state",
        sql`EXISTS (SELECT 1 FROM experiments WHERE id = ${id} AND state = 'draft')`,
      ),
      ctx.db
        .update(experiments)
        .set({ ...columnsOf(merged), updatedAt: new Date().toISOString() })
        .where(eq(experiments.id, id)),
    ],
    audit: {
      action: "experiment.update",
      targetType: "experiment",
      target: id,
      before,
      after: merged,
    },
    event: {
      type: "experiment.updated",
      publishTarget: null,
      payload: {
        experiment: { id, key: merged.key },
        prompt: { name: prompt.name, type: prompt.type },
        label: merged.label,
      },
    },
  });
  return getExperiment(ctx, projectId, id);
}

/** The experiment's row as the batch left it: what its audit row and event read. */
const experimentRowOf = (id: string) => ({ from: sql`experiments WHERE id = ${id}` });

interface Transition {
  to: ExperimentState;
  action: string;
  event: Extract<
    EventType,
    "experiment.started" | "experiment.paused" | "experiment.resumed" | "experiment.stopped"
  >;
  /** Columns set besides the state. */
  set?: Record<string, unknown>;
  /** Statements after the state change (a promotion's label move). */
  afterChange?: BatchItem<"sqlite">[];
  audit?: ChangeAudit[];
  events?: ChangeEvent[];
  payload?: Record<string, unknown>;
  /** Why (the rollout schedule's decisions): in the audit row and the event. */
  reason?: string;
}

async function transition(
  ctx: MutationContext,
  loaded: Loaded,
  step: Transition,
  before: BatchItem<"sqlite">[] = [],
): Promise<void> {
  const { row, prompt } = loaded;
  const now = new Date().toISOString();
  const inBatch = experimentRowOf(row.id);
  await commitChange(ctx, {
    projectId: row.projectId,
    statements: [
      // Still in the state it was read in (which `from` allowed), checked inside the batch: a
      // concurrent change is a 409, and the audit row's `before` is exact.
      guard(
        ctx.db,
        "experiment_state",
        sql`EXISTS (SELECT 1 FROM experiments WHERE id = ${row.id} AND state = ${row.state})`,
      ),
      ...before,
      ctx.db
        .update(experiments)
        .set({
          state: step.to,
          // One more than any experiment's: the pointer's experimentRev only ever grows.
          rev: sql`(SELECT COALESCE(MAX(rev), 0) + 1 FROM experiments)`,
          updatedAt: now,
          ...step.set,
        })
        .where(eq(experiments.id, row.id)),
      ...(step.afterChange ?? []),
    ],
    audit: [
      {
        action: step.action,
        targetType: "experiment",
        target: row.id,
        before: { state: row.state },
        after: {
          state: sql`state`,
          controlVersion: sql`control_version`,
          ...(step.reason === undefined ? {} : { reason: step.reason }),
        },
        inBatch,
      },
      ...(step.audit ?? []),
    ],
    event: [
      {
        type: step.event,
        publishTarget: promptTarget(prompt.name),
        payload: {
          ...refOf(row, prompt),
          controlVersion: sql`control_version`,
          ...step.payload,
          ...(step.reason === undefined ? {} : { reason: step.reason }),
        },
        inBatch,
      } as ChangeEvent,
      ...(step.events ?? []),
    ],
  });
}

async function loadForChange(ctx: MutationContext, projectId: string, id: string) {
  requireAccess(ctx.actor, projectId, "labels:move");
  const loaded = await loadExperiment(ctx.db, projectId, id);
  await requireLabelMove(ctx.db, ctx.actor, projectId, loaded.row.label);
  return loaded;
}

function requireState(row: ExperimentRow, done: string, allowed: readonly ExperimentState[]) {
  if (!allowed.includes(row.state)) throw wrongState(row, done, allowed);
}

export async function startExperiment(
  ctx: MutationContext,
  projectId: string,
  id: string,
): Promise<ExperimentView> {
  const loaded = await loadForChange(ctx, projectId, id);
  const { row, prompt } = loaded;
  requireState(row, "started", ["draft"]);
  if (prompt.archivedAt) throw archivedConflict(prompt);
  const label = await ctx.db.query.labels.findFirst({
    where: and(eq(labels.promptId, prompt.id), eq(labels.name, row.label)),
  });
  if (!label) {
    throw new ProblemError(
      "conflict",
      `Prompt '${prompt.name}' has no label '${row.label}', so there is no control version. Create the label first.`,
    );
  }
  const active = await ctx.db.query.experiments.findFirst({
    where: and(
      eq(experiments.promptId, prompt.id),
      eq(experiments.label, row.label),
      inArray(experiments.state, ["running", "paused"]),
    ),
  });
  if (active) {
    throw new ProblemError(
      "conflict",
      `Experiment '${active.key}' (${active.id}) is ${active.state} on label '${row.label}'; stop it before starting another one.`,
    );
  }
  await transition(
    ctx,
    loaded,
    {
      to: "running",
      action: "experiment.start",
      event: "experiment.started",
      set: {
        controlVersion: sql`(SELECT version FROM labels WHERE prompt_id = ${prompt.id} AND name = ${row.label})`,
        startedAt: new Date().toISOString(),
      },
    },
    [
      archivedGuard(ctx.db, prompt.id),
      guard(
        ctx.db,
        "label_not_found",
        sql`EXISTS (SELECT 1 FROM labels WHERE prompt_id = ${prompt.id} AND name = ${row.label})`,
      ),
    ],
  );
  return getExperiment(ctx, projectId, id);
}

export async function pauseExperiment(
  ctx: MutationContext,
  projectId: string,
  id: string,
): Promise<ExperimentView> {
  const loaded = await loadForChange(ctx, projectId, id);
  requireState(loaded.row, "paused", ["running"]);
  await transition(ctx, loaded, {
    to: "paused",
    action: "experiment.pause",
    event: "experiment.paused",
  });
  return getExperiment(ctx, projectId, id);
}

export async function resumeExperiment(
  ctx: MutationContext,
  projectId: string,
  id: string,
): Promise<ExperimentView> {
  const loaded = await loadForChange(ctx, projectId, id);
  requireState(loaded.row, "resumed", ["paused"]);
  if (loaded.prompt.archivedAt) throw archivedConflict(loaded.prompt);
  await transition(
    ctx,
    loaded,
    {
      to: "running",
      action: "experiment.resume",
      event: "experiment.resumed",
    },
    [archivedGuard(ctx.db, loaded.prompt.id)],
  );
  return getExperiment(ctx, projectId, id);
}

/**
 * Stops a running or paused experiment. With `promote`, the label moves to that variant's
 * version in the same batch, after the state change (so the label is free to move): an ordinary
 * label move with its own history row, audit row and `prompt.label.moved` event.
 */
export async function stopExperiment(
  ctx: MutationContext,
  projectId: string,
  id: string,
  input: Untrusted<typeof StopInput> = {},
): Promise<ExperimentView> {
  const { promote } = validInput(StopInput, input);
  const loaded = await loadForChange(ctx, projectId, id);
  const { row, prompt } = loaded;
  requireState(row, "stopped", ["running", "paused"]);
  const arms = [{ key: row.controlKey, version: row.controlVersion as number }, ...row.variants];
  const promoted = promote === undefined ? undefined : arms.find((arm) => arm.key === promote);
  if (promote !== undefined && !promoted) {
    throw new ProblemError(
      "validation_failed",
      `Experiment '${row.key}' has no arm '${promote}'.`,
      {
        errors: [
          {
            field: "body.promote",
            message: `must be one of ${arms.map((arm) => arm.key).join(", ")}`,
          },
        ],
      },
    );
  }
  if (promoted && prompt.archivedAt) throw archivedConflict(prompt);
  await stopTransition(ctx, loaded, promoted);
  return getExperiment(ctx, projectId, id);
}

/**
 * The stop, optionally with the label moved to an arm's version in the same batch (after the
 * state change, so the label is free to move): an ordinary label move with its history row,
 * audit row and `prompt.label.moved` event, recorded only when it changes the label.
 */
async function stopTransition(
  ctx: MutationContext,
  loaded: Loaded,
  promoted: { key: string; version: number } | undefined,
  options: {
    reason?: string;
    decision?: ScheduleDecision;
    /** A rollback: the label goes back to the control version (its history row says so). */
    rollback?: { variant: string };
  } = {},
): Promise<void> {
  const { row, prompt } = loaded;
  const now = new Date().toISOString();
  const changeId = newChangeId();
  const isRollback = options.rollback !== undefined;
  const move = promoted
    ? labelMoveRecords(prompt, row.label, changeId, isRollback, promptTarget(prompt.name))
    : undefined;
  const includerEvents =
    promoted && move
      ? await includerEventsOfMove(ctx.db, prompt, row.label, promoted.version, move)
      : [];
  await transition(ctx, loaded, {
    to: "stopped",
    action: isRollback ? "experiment.rollback" : "experiment.stop",
    event: "experiment.stopped",
    set: {
      stoppedAt: now,
      // A rollback promotes nothing: the label keeps (or gets back) the control's version.
      promotedVariant: isRollback ? null : (promoted?.key ?? null),
      ...(options.decision ? { decision: options.decision } : {}),
    },
    payload: {
      promoted:
        promoted && !isRollback ? { variant: promoted.key, version: promoted.version } : null,
    },
    reason: options.reason,
    afterChange: promoted
      ? [
          archivedGuard(ctx.db, prompt.id),
          ...moveLabelStatements(ctx.db, prompt.id, row.label, promoted.version, {
            actor: ctx.actor,
            now,
            isRollback,
            changeId,
          }),
        ]
      : [],
    audit: move ? [move.audit] : [],
    events: [
      ...(move ? [move.event] : []),
      ...includerEvents,
      ...(options.rollback && promoted
        ? [
            {
              type: "experiment.rolled_back",
              publishTarget: promptTarget(prompt.name),
              payload: {
                ...refOf(row, prompt),
                controlVersion: row.controlVersion,
                variant: options.rollback.variant,
                toVersion: promoted.version,
                reason: options.reason ?? "",
              },
            } satisfies ChangeEvent,
          ]
        : []),
    ],
  });
}

/**
 * What the rollout schedule decided about an experiment (see rollout.ts): pause or roll back a
 * regressing variant, promote a winner (the experiment's `autoPromote`), or recommend one.
 */
export interface ScheduleVerdict {
  action: ScheduleDecision["action"];
  variant: string;
  reason: string;
}

/**
 * Applies the rollout schedule's decision as the schedule's actor. The experiment's own
 * settings (its guardrails, `onRegression`, `autoPromote`) are the authority, so no role is
 * checked; every change is guarded in its batch on the state it read, audited with its reason,
 * and announced like the same change made by a person. A rollback is a pause (the regression
 * stops reaching units at once, `experiment.paused` with the reason), then a stop moving the
 * label to the control version (`experiment.stopped`, `experiment.rolled_back`).
 */
export async function applyScheduleVerdict(
  ctx: MutationContext,
  projectId: string,
  id: string,
  verdict: ScheduleVerdict,
): Promise<void> {
  const decision: ScheduleDecision = { ...verdict, at: new Date().toISOString() };
  let loaded = await loadExperiment(ctx.db, projectId, id);
  const { row, prompt } = loaded;
  if (row.state !== "running") return;
  switch (verdict.action) {
    case "paused":
    case "rolled_back": {
      await transition(ctx, loaded, {
        to: "paused",
        action: "experiment.pause",
        event: "experiment.paused",
        set: { decision: { ...decision, action: "paused" } },
        reason: verdict.reason,
      });
      if (verdict.action === "paused") return;
      loaded = await loadExperiment(ctx.db, projectId, id);
      await stopTransition(
        ctx,
        loaded,
        { key: row.controlKey, version: row.controlVersion as number },
        { reason: verdict.reason, decision, rollback: { variant: verdict.variant } },
      );
      return;
    }
    case "promoted": {
      const arm = row.variants.find((variant) => variant.key === verdict.variant);
      if (!arm || prompt.archivedAt) return;
      await stopTransition(ctx, loaded, arm, { reason: verdict.reason, decision });
      return;
    }
    case "recommended": {
      await commitChange(ctx, {
        projectId,
        statements: [
          guard(
            ctx.db,
            "experiment_state",
            sql`EXISTS (SELECT 1 FROM experiments WHERE id = ${id} AND state = 'running')`,
          ),
          ctx.db.update(experiments).set({ decision }).where(eq(experiments.id, id)),
        ],
        audit: {
          action: "experiment.recommend",
          targetType: "experiment",
          target: id,
          before: { decision: row.decision },
          after: { decision },
        },
        event: [],
      });
      return;
    }
  }
}
