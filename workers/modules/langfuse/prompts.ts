import { LATEST_LABEL } from "@cuecard/core/names";
import { ProblemError } from "@cuecard/core/problem";
import type { MutationContext, ReadContext } from "../../platform/context";
import { labelName, validInput } from "../../platform/fields";
import { requireAccess, requireLabelMove } from "../access/access";
import { deleteLabel, moveLabel } from "../prompts/labels";
import {
  createPrompt,
  createVersion,
  findPrompt,
  listPrompts,
  PromptPatch,
  type PromptRow,
  type PromptView,
  updatePrompt,
} from "../prompts/prompts";
import { getVersion, type VersionView } from "../prompts/versions";
import type { LangfuseCreatePrompt, LangfuseDeleteQuery, LangfuseListQuery } from "./schemas";

/**
 * The Langfuse prompt API as the prompts module's verbs: every write is one of them (with its
 * validation, permissions, audit, outbox and publishing), so nothing here decides a rule.
 */

/** Langfuse's prompt shape of one version; the same fields the edge serves for it. */
export function langfusePrompt(
  projectId: string,
  tags: string[],
  version: VersionView,
): Record<string, unknown> {
  return {
    id: `${version.hash}.v${version.version}`,
    name: version.name,
    version: version.version,
    type: version.type,
    prompt: version.prompt,
    config: version.config,
    labels: version.labels,
    tags,
    commitMessage: version.commitMessage,
    resolutionGraph: null,
    createdAt: version.createdAt,
    updatedAt: version.createdAt,
    projectId,
    createdBy: version.author,
    isActive: version.labels.includes("production"),
  };
}

function promptNotFound(name: string): ProblemError {
  return new ProblemError("not_found", `Prompt not found: '${name}'`);
}

/** The prompt, or Langfuse's 404 (a name Cuecard cannot hold does not exist either). */
async function langfuseFindPrompt(ctx: ReadContext, projectId: string, name: string) {
  try {
    return await findPrompt(ctx, projectId, name);
  } catch (error) {
    if (error instanceof ProblemError && error.code === "not_found") throw promptNotFound(name);
    throw error;
  }
}

/** The content as Cuecard stores it (the schema already dropped `type: "chatmessage"`). */
function contentOf(input: LangfuseCreatePrompt) {
  const { prompt } = input;
  const type = input.type ?? "text";
  if ((type === "chat") !== Array.isArray(prompt)) {
    throw new ProblemError(
      "bad_request",
      type === "chat"
        ? "A chat prompt is a list of {role, content} messages and {type: 'placeholder', name} placeholders."
        : "A text prompt is a string; send type 'chat' for messages.",
    );
  }
  return prompt;
}

/**
 * POST /api/public/v2/prompts: a new prompt, or a new version of an existing one (`latest` + 1).
 * `labels` move to it (`latest` always does, so it is not sent on); `tags`, when given, replace
 * the prompt's after the version is saved, checked before anything is written.
 */
export async function createLangfusePrompt(
  ctx: MutationContext,
  projectId: string,
  input: LangfuseCreatePrompt,
): Promise<Record<string, unknown>> {
  const prompt = contentOf(input);
  const version = {
    prompt,
    config: input.config ?? undefined,
    commitMessage: input.commitMessage ?? undefined,
    labels: (input.labels ?? []).filter((label) => label !== LATEST_LABEL),
  };
  const tags = input.tags ?? undefined;
  if (tags !== undefined) validInput(PromptPatch, { tags });
  let existing: PromptRow | undefined;
  try {
    existing = await findPrompt(ctx, projectId, input.name);
  } catch (error) {
    if (!(error instanceof ProblemError && error.code === "not_found")) throw error;
  }
  if (!existing) {
    const created = await createPrompt(ctx, projectId, {
      name: input.name,
      type: input.type ?? "text",
      tags,
      version,
    });
    if (!created.version) throw new ProblemError("internal_error", "No version was created.");
    return langfusePrompt(projectId, created.prompt.tags, created.version);
  }
  if (existing.type !== (input.type ?? "text")) {
    throw new ProblemError(
      "bad_request",
      `Prompt '${input.name}' is a ${existing.type} prompt; a new version cannot change its type.`,
    );
  }
  const created = await createVersion(ctx, existing, version);
  const view =
    tags !== undefined && tags.join() !== existing.tags.join()
      ? await updatePrompt(ctx, existing, { tags })
      : undefined;
  return langfusePrompt(projectId, view?.tags ?? existing.tags, created);
}

/**
 * PATCH /api/public/v2/prompts/{name}/versions/{version}: adds labels to the version, moving them
 * off others (Langfuse cannot remove a label this way). Every label is checked (syntax, `latest`,
 * protected labels) before the first moves, so a refused request moves none.
 */
export async function setLangfuseLabels(
  ctx: MutationContext,
  projectId: string,
  name: string,
  versionNumber: number,
  newLabels: string[],
): Promise<Record<string, unknown>> {
  const prompt = await langfuseFindPrompt(ctx, projectId, name);
  await getVersion(ctx, prompt, versionNumber);
  for (const label of newLabels) {
    if (label === LATEST_LABEL) {
      throw new ProblemError(
        "bad_request",
        "The 'latest' label moves by itself; it cannot be set.",
      );
    }
    const problem = labelName.safeParse(label).error?.issues[0]?.message;
    if (problem) throw new ProblemError("bad_request", `Label '${label}': ${problem}.`);
    await requireLabelMove(ctx.db, ctx.actor, projectId, label);
  }
  for (const label of new Set(newLabels)) {
    await moveLabel(ctx, prompt, label, { version: versionNumber });
  }
  return langfusePrompt(projectId, prompt.tags, await getVersion(ctx, prompt, versionNumber));
}

/**
 * DELETE /api/public/v2/prompts/{name}: Cuecard never deletes versions. With `label`, that label
 * is removed; with `version`, every label on that version is (`latest` stays); with neither, the
 * prompt is archived: the edge stops serving it, and it can be restored in the admin.
 */
export async function deleteLangfusePrompt(
  ctx: MutationContext,
  projectId: string,
  name: string,
  query: LangfuseDeleteQuery,
): Promise<void> {
  if (query.label !== undefined && query.version !== undefined) {
    throw new ProblemError("bad_request", "Cannot specify both version and label");
  }
  const prompt = await langfuseFindPrompt(ctx, projectId, name);
  if (query.label !== undefined) {
    await deleteLabel(ctx, prompt, query.label);
    return;
  }
  if (query.version !== undefined) {
    const version = await getVersion(ctx, prompt, query.version);
    const labels = version.labels.filter((label) => label !== LATEST_LABEL);
    for (const label of labels) await requireLabelMove(ctx.db, ctx.actor, projectId, label);
    for (const label of labels) await deleteLabel(ctx, prompt, label);
    return;
  }
  await updatePrompt(ctx, prompt, { archived: true });
}

/** One prompt of Langfuse's list: versions are 1…latest, as Cuecard never deletes one. */
async function listedPrompt(ctx: ReadContext, projectId: string, view: PromptView) {
  const row = await findPrompt(ctx, projectId, view.name);
  const latest = await getVersion(ctx, row, view.latestVersion);
  return {
    name: view.name,
    type: view.type,
    versions: Array.from({ length: view.latestVersion }, (_, index) => index + 1),
    labels: view.labels.map((label) => label.name),
    tags: view.tags,
    lastUpdatedAt: view.updatedAt,
    lastConfig: latest.config,
  };
}

/**
 * GET /api/public/v2/prompts: Langfuse's numbered pages over the prompts module's list (which
 * pages by name), filtered as Langfuse filters. Archived prompts are not listed.
 */
export async function listLangfusePrompts(
  ctx: ReadContext,
  projectId: string,
  query: LangfuseListQuery,
) {
  requireAccess(ctx.actor, projectId, "prompts:read");
  const matching: PromptView[] = [];
  let after: string | undefined;
  do {
    const page = await listPrompts(ctx, projectId, {
      q: query.name,
      tag: query.tag,
      label: query.label,
      limit: 100,
      after,
    });
    for (const view of page.items) {
      if (query.name !== undefined && view.name !== query.name) continue;
      if (query.fromUpdatedAt && Date.parse(view.updatedAt) < Date.parse(query.fromUpdatedAt)) {
        continue;
      }
      if (query.toUpdatedAt && Date.parse(view.updatedAt) >= Date.parse(query.toUpdatedAt)) {
        continue;
      }
      matching.push(view);
    }
    after = page.nextCursor ?? undefined;
  } while (after !== undefined);
  const start = (query.page - 1) * query.limit;
  const data = [];
  for (const view of matching.slice(start, start + query.limit)) {
    data.push(await listedPrompt(ctx, projectId, view));
  }
  return {
    data,
    meta: {
      page: query.page,
      limit: query.limit,
      totalItems: matching.length,
      totalPages: Math.ceil(matching.length / query.limit),
    },
  };
}
