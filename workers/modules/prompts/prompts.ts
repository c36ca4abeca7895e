import { PROMPT_DESCRIPTION_MAX, TAGS_MAX } from "@cuecard/core/limits";
import { ProblemError } from "@cuecard/core/problem";
import { z } from "@hono/zod-openapi";
import { and, asc, eq, gt, isNotNull, isNull, like, type SQL, sql } from "drizzle-orm";
import { commitChange, newChangeId } from "../../platform/changes";
import type { MutationContext, ReadContext } from "../../platform/context";
import type { Database } from "../../platform/db/client";
import { labels, type PromptRow, prompts } from "../../platform/db/schema";
import { promptName, type Untrusted, validInput } from "../../platform/fields";
import { archivedGuard } from "../../platform/guards";
import { type Page, readPage, rowsForPage } from "../../platform/pagination";
import { requireAccess, requireLabelMove } from "../access/access";
import { findProject } from "../projects/projects";
import { labelsOf } from "./labels";
import { promptTarget } from "./publish";
import {
  checkNewVersion,
  referenceMoveEvents,
  referenceStatements,
  refuseIfIncluded,
} from "./references";
import { type PromptView, tag, VersionInput } from "./schemas";
import {
  createVersionStatements,
  getVersion,
  labelsOfNewVersion,
  newVersionLabelRecords,
  prepareVersion,
  type VersionView,
} from "./versions";

/** A prompt as the verbs of this module take it (read with `findPrompt`). */
export type { PromptRow } from "../../platform/db/schema";
export type { PromptView } from "./schemas";

/** What POST /v1/projects/{project}/prompts takes; `createPrompt` checks it too. */
export const NewPrompt = z.strictObject({
  name: promptName,
  type: z.enum(["text", "chat"]).optional(),
  description: z.string().max(PROMPT_DESCRIPTION_MAX).optional(),
  tags: z.array(tag).max(TAGS_MAX).optional(),
  version: VersionInput.optional(),
});

/** What PATCH /v1/projects/{project}/prompts/{name} takes; `updatePrompt` checks it too. */
export const PromptPatch = z.strictObject({
  description: z.string().max(PROMPT_DESCRIPTION_MAX).optional(),
  tags: z.array(tag).max(TAGS_MAX).optional(),
  archived: z.boolean().optional(),
});

/** The prompt, for verbs that have checked the actor's access already (no check here). */
export async function loadPrompt(
  db: Database,
  projectId: string,
  name: string,
): Promise<PromptRow> {
  const prompt = await db.query.prompts.findFirst({
    where: and(eq(prompts.projectId, projectId), eq(prompts.name, name)),
  });
  if (!prompt) {
    throw new ProblemError(
      "not_found",
      `Prompt '${name}' does not exist in project '${projectId}'.`,
    );
  }
  return prompt;
}

/** The prompt the verbs on it take (the actor must be able to read the project's prompts). */
export async function findPrompt(
  ctx: ReadContext,
  projectId: string,
  name: string,
): Promise<PromptRow> {
  requireAccess(ctx.actor, projectId, "prompts:read");
  return loadPrompt(ctx.db, projectId, name);
}

export async function toPromptView(ctx: ReadContext, prompt: PromptRow): Promise<PromptView> {
  requireAccess(ctx.actor, prompt.projectId, "prompts:read");
  return promptViewOf(ctx.db, prompt);
}

async function promptViewOf(db: Database, prompt: PromptRow): Promise<PromptView> {
  return {
    name: prompt.name,
    type: prompt.type,
    description: prompt.description,
    tags: prompt.tags,
    latestVersion: prompt.latestVersion,
    labels: await labelsOf(db, prompt.id),
    createdBy: prompt.createdBy,
    createdAt: prompt.createdAt,
    updatedAt: prompt.updatedAt,
    archivedAt: prompt.archivedAt,
  };
}

export interface PromptFilter {
  /** Substring of the name. */
  q?: string;
  tag?: string;
  /** Only prompts that have this label. */
  label?: string;
  archived?: boolean;
  limit: number;
  /** The last name of the previous page. */
  after?: string;
}

export async function listPrompts(
  ctx: ReadContext,
  projectId: string,
  filter: PromptFilter,
): Promise<Page<PromptView, string>> {
  requireAccess(ctx.actor, projectId, "prompts:read");
  const db = ctx.db;
  await findProject(db, projectId);
  const escaped = filter.q?.replace(/[\\%_]/g, (char) => `\\${char}`);
  const rows = await db
    .select()
    .from(prompts)
    .where(
      and(
        eq(prompts.projectId, projectId),
        filter.archived ? isNotNull(prompts.archivedAt) : isNull(prompts.archivedAt),
        escaped ? like(prompts.name, `%${escaped}%`) : undefined,
        filter.tag
          ? sql`EXISTS (SELECT 1 FROM json_each(${prompts.tags}) WHERE value = ${filter.tag})`
          : undefined,
        filter.label
          ? sql`EXISTS (SELECT 1 FROM ${labels} WHERE ${labels.promptId} = ${prompts.id} AND ${labels.name} = ${filter.label})`
          : undefined,
        filter.after ? gt(prompts.name, filter.after) : undefined,
      ),
    )
    .orderBy(asc(prompts.name))
    .limit(rowsForPage(filter.limit));
  const { items, nextCursor } = readPage(rows, filter.limit, (row) => row.name);
  return { items: await Promise.all(items.map((row) => promptViewOf(db, row))), nextCursor };
}

export async function createPrompt(
  ctx: MutationContext,
  projectId: string,
  fields: Untrusted<typeof NewPrompt>,
): Promise<{ prompt: PromptView; version: VersionView | null }> {
  requireAccess(ctx.actor, projectId, "prompts:write");
  const input = validInput(NewPrompt, fields);
  await findProject(ctx.db, projectId);
  for (const label of input.version?.labels ?? []) {
    await requireLabelMove(ctx.db, ctx.actor, projectId, label);
  }
  const prepared = input.version ? await prepareVersion(input.version, input.type) : undefined;
  const references = prepared
    ? await checkNewVersion(
        ctx.db,
        projectId,
        { name: input.name, type: prepared.type },
        { version: 1, ...prepared },
        labelsOfNewVersion(input.version?.labels ?? []),
      )
    : [];
  const type = input.type ?? prepared?.type;
  if (!type) {
    throw new ProblemError("validation_failed", "Say what kind of prompt this is.", {
      errors: [{ field: "body.type", message: "give 'text' or 'chat', or a first version" }],
    });
  }
  const now = new Date().toISOString();
  const changeId = newChangeId();
  const promptId = sql`(SELECT id FROM prompts WHERE project_id = ${projectId} AND name = ${input.name})`;
  const statements = [
    ctx.db.insert(prompts).values({
      projectId,
      name: input.name,
      type,
      description: input.description ?? "",
      tags: input.tags ?? [],
      createdBy: ctx.actor.name,
      createdAt: now,
      updatedAt: now,
    }),
    ...(prepared && input.version
      ? createVersionStatements(
          ctx.db,
          promptId,
          1,
          prepared,
          input.version.labels ?? [],
          ctx.actor,
          now,
          changeId,
        )
      : []),
    ...referenceStatements(ctx.db, promptId, 1, references),
  ];
  const moves = prepared
    ? newVersionLabelRecords({ name: input.name, type }, 1, input.version?.labels ?? [], changeId)
    : { audits: [], events: [] };
  await commitChange(ctx, {
    projectId,
    statements,
    audit: [
      {
        action: "prompt.create",
        targetType: "prompt",
        target: input.name,
        after: {
          type,
          description: input.description ?? "",
          tags: input.tags ?? [],
          version: prepared
            ? { version: 1, hash: prepared.hash, labels: input.version?.labels ?? [] }
            : null,
        },
      },
      ...moves.audits,
    ],
    event: [
      {
        type: "prompt.created",
        publishTarget: prepared ? promptTarget(input.name, 1) : null,
        payload: {
          prompt: { name: input.name, type },
          version: prepared ? 1 : null,
          labels: prepared ? ["latest", ...(input.version?.labels ?? [])] : [],
        },
      },
      ...moves.events,
    ],
  });
  const prompt = await loadPrompt(ctx.db, projectId, input.name);
  return {
    prompt: await promptViewOf(ctx.db, prompt),
    version: prepared ? await getVersion(ctx, prompt, 1) : null,
  };
}

export async function createVersion(
  ctx: MutationContext,
  prompt: PromptRow,
  fields: Untrusted<typeof VersionInput>,
): Promise<VersionView> {
  requireAccess(ctx.actor, prompt.projectId, "prompts:write");
  const input = validInput(VersionInput, fields);
  for (const label of input.labels ?? []) {
    await requireLabelMove(ctx.db, ctx.actor, prompt.projectId, label);
  }
  const prepared = await prepareVersion(input, prompt.type);
  const version = prompt.latestVersion + 1;
  const references = await checkNewVersion(
    ctx.db,
    prompt.projectId,
    prompt,
    { version, ...prepared },
    labelsOfNewVersion(input.labels ?? []),
  );
  const now = new Date().toISOString();
  const labelsToSet = input.labels ?? [];
  const changeId = newChangeId();
  const moves = newVersionLabelRecords(prompt, version, labelsToSet, changeId);
  // Prompts that include a label this version takes are republished with it.
  const includerEvents = await referenceMoveEvents(
    ctx.db,
    prompt.projectId,
    prompt,
    labelsOfNewVersion(labelsToSet).map((label, index) => ({
      label,
      version: async () => ({ version, ...prepared }),
      inBatch: moves.events[index]?.inBatch,
    })),
  );
  await commitChange(ctx, {
    projectId: prompt.projectId,
    statements: [
      archivedGuard(ctx.db, prompt.id),
      ...createVersionStatements(
        ctx.db,
        prompt.id,
        version,
        prepared,
        labelsToSet,
        ctx.actor,
        now,
        changeId,
      ),
      ...referenceStatements(ctx.db, prompt.id, version, references),
    ],
    audit: [
      {
        action: "version.create",
        targetType: "version",
        target: `${prompt.name}#${version}`,
        after: {
          version,
          hash: prepared.hash,
          commitMessage: prepared.commitMessage,
          labels: labelsToSet,
        },
      },
      ...moves.audits,
    ],
    event: [
      {
        type: "prompt.version.created",
        publishTarget: promptTarget(prompt.name, version),
        payload: {
          prompt: { name: prompt.name, type: prompt.type },
          version,
          hash: prepared.hash,
          commitMessage: prepared.commitMessage,
          labels: ["latest", ...labelsToSet],
        },
      },
      ...moves.events,
      ...includerEvents,
    ],
  });
  return getVersion(ctx, { ...prompt, latestVersion: version }, version);
}

export async function updatePrompt(
  ctx: MutationContext,
  prompt: PromptRow,
  fields: Untrusted<typeof PromptPatch>,
): Promise<PromptView> {
  requireAccess(ctx.actor, prompt.projectId, "prompts:write");
  const patch = validInput(PromptPatch, fields);
  if (patch.archived !== undefined && patch.archived !== (prompt.archivedAt !== null)) {
    requireAccess(ctx.actor, prompt.projectId, "prompts:archive");
  }
  const now = new Date().toISOString();
  // Only the fields in the patch are written, so concurrent edits of other fields (or an
  // archive by someone else) are never undone by a stale read. Archiving keeps the first time.
  const changes: {
    updatedAt: string;
    description?: string;
    tags?: string[];
    archivedAt?: SQL | null;
  } = {
    updatedAt: now,
  };
  if (patch.description !== undefined) changes.description = patch.description;
  if (patch.tags !== undefined) changes.tags = patch.tags;
  if (patch.archived !== undefined) {
    changes.archivedAt = patch.archived ? sql`COALESCE(${prompts.archivedAt}, ${now})` : null;
  }
  const archiving = patch.archived === true && !prompt.archivedAt;
  if (archiving) await refuseIfIncluded(ctx.db, prompt.projectId, prompt.name);
  const restoring = patch.archived === false && prompt.archivedAt !== null;
  const after = { ...patch };
  const payload = { prompt: { name: prompt.name, type: prompt.type }, ...after };
  await commitChange(ctx, {
    projectId: prompt.projectId,
    statements: [ctx.db.update(prompts).set(changes).where(eq(prompts.id, prompt.id))],
    audit: {
      action: archiving ? "prompt.archive" : restoring ? "prompt.restore" : "prompt.update",
      targetType: "prompt",
      target: prompt.name,
      before: { description: prompt.description, tags: prompt.tags, archivedAt: prompt.archivedAt },
      after,
    },
    // Archiving withdraws the prompt's labels and versions from the edge; restoring publishes
    // all of them again. The publisher reads D1's current state, so it converges whatever the
    // pre-read said.
    event: archiving
      ? {
          type: "prompt.archived",
          publishTarget: promptTarget(prompt.name),
          payload: { ...payload, archivedAt: now },
        }
      : {
          type: restoring ? "prompt.restored" : "prompt.updated",
          // Label pointers carry the prompt's tags (the Langfuse shape serves them): a change of
          // tags rewrites them; a description alone publishes nothing.
          publishTarget:
            patch.archived !== undefined
              ? promptTarget(prompt.name, patch.archived ? undefined : "all")
              : patch.tags !== undefined
                ? promptTarget(prompt.name)
                : null,
          payload,
        },
  });
  return promptViewOf(ctx.db, await loadPrompt(ctx.db, prompt.projectId, prompt.name));
}
