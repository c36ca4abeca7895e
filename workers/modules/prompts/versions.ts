import type { PromptRef } from "@cuecard/core/events";
import { jsonInputProblems } from "@cuecard/core/input";
import { CONFIG_MAX_BYTES, CONFIG_MAX_DEPTH, TEMPLATE_MAX_BYTES } from "@cuecard/core/limits";
import { type FieldError, ProblemError } from "@cuecard/core/problem";
import {
  contentHash,
  type ModelConfig,
  type PromptContent,
  type PromptType,
  promptTypeOf,
  templatesOf,
  utf8Bytes,
  type VariableDeclaration,
  type VariableSpec,
} from "@cuecard/core/prompt";
import {
  checkRenderLimits,
  deriveVariables,
  RenderLimitError,
  TemplateError,
} from "@cuecard/core/template";
import { and, desc, eq, lt, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { ChangeAudit, ChangeEvent } from "../../platform/changes";
import type { Actor, ReadContext } from "../../platform/context";
import type { Database } from "../../platform/db/client";
import {
  labels,
  type PromptRow,
  prompts,
  type VersionRow,
  versions,
} from "../../platform/db/schema";
import { type Page, readPage, rowsForPage } from "../../platform/pagination";
import { requireAccess } from "../access/access";
import { labelMoveRecords, moveLabelStatements } from "./labels";
import { promptTarget, toPublishedVersion } from "./publish";
import { resolveReferences } from "./references";
import type { VersionView } from "./schemas";

export type { VersionView } from "./schemas";

export interface VersionInput {
  prompt: PromptContent;
  config?: ModelConfig;
  commitMessage?: string;
  /** Labels to point at the new version in the same batch (`latest` always moves). */
  labels?: string[];
  variables?: Record<string, VariableDeclaration>;
}

export interface PreparedVersion {
  type: PromptType;
  prompt: PromptContent;
  config: ModelConfig;
  variables: VariableSpec[];
  commitMessage: string | null;
  hash: string;
}

/**
 * A default is rendered as if given, so it must pass the render limits: a default over them
 * would make every render of the version fail.
 */
function defaultProblems(declared: Record<string, VariableDeclaration>): FieldError[] {
  const problems: FieldError[] = [];
  for (const [name, declaration] of Object.entries(declared)) {
    if (declaration.default === undefined) continue;
    try {
      checkRenderLimits({ [name]: declaration.default });
    } catch (error) {
      if (!(error instanceof RenderLimitError)) throw error;
      problems.push({
        field: `body.variables.${name}.default`,
        message: `${error.message}: over the render limit, every render using this default would be refused`,
      });
    }
  }
  return problems;
}

/** Validates and derives everything a version stores. Every refusal is a 422 naming the field. */
export async function prepareVersion(
  input: VersionInput,
  expectedType?: PromptType,
): Promise<PreparedVersion> {
  const type = promptTypeOf(input.prompt);
  if (expectedType && type !== expectedType) {
    throw new ProblemError("validation_failed", `This is a ${expectedType} prompt.`, {
      errors: [
        {
          field: "body.prompt",
          message:
            expectedType === "text"
              ? "must be a template string for a text prompt"
              : "must be a list of {role, content} messages for a chat prompt",
        },
      ],
    });
  }
  const bytes = templatesOf(input.prompt).reduce((sum, template) => sum + utf8Bytes(template), 0);
  if (bytes > TEMPLATE_MAX_BYTES) {
    throw new ProblemError("validation_failed", "The prompt is too large.", {
      errors: [
        {
          field: "body.prompt",
          message: `templates total ${bytes} bytes (UTF-8); the limit is ${TEMPLATE_MAX_BYTES}`,
        },
      ],
    });
  }
  const config = input.config ?? {};
  // Before anything walks the config (JSON.stringify, the hash): both recurse.
  const shapeErrors = jsonInputProblems(config, "body.config", CONFIG_MAX_DEPTH);
  if (shapeErrors.length === 0) shapeErrors.push(...jsonInputProblems(input, "body"));
  shapeErrors.push(...defaultProblems(input.variables ?? {}));
  if (shapeErrors.length > 0) {
    throw new ProblemError("validation_failed", "Some fields are not valid; see errors.", {
      errors: shapeErrors,
    });
  }
  const configBytes = utf8Bytes(JSON.stringify(config));
  if (configBytes > CONFIG_MAX_BYTES) {
    throw new ProblemError("validation_failed", "The model config is too large.", {
      errors: [
        {
          field: "body.config",
          message: `is ${configBytes} bytes as JSON; the limit is ${CONFIG_MAX_BYTES}`,
        },
      ],
    });
  }
  let variables: VariableSpec[];
  try {
    variables = deriveVariables(input.prompt, input.variables);
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    const field =
      error.messageIndex !== undefined
        ? `body.prompt.${error.messageIndex}.content`
        : error.message.includes("declared")
          ? "body.variables"
          : "body.prompt";
    throw new ProblemError("validation_failed", "The template is not valid.", {
      errors: [{ field, message: error.message }],
    });
  }
  const hash = await contentHash({ type, prompt: input.prompt, config, variables });
  return {
    type,
    prompt: input.prompt,
    config,
    variables,
    commitMessage: input.commitMessage ?? null,
    hash,
  };
}

/** The labels a new version takes: `latest`, then the ones asked for. */
export function labelsOfNewVersion(labelsToSet: string[]): string[] {
  return [...new Set(["latest", ...labelsToSet])];
}

/**
 * The statements that add version `version` to a prompt and move `latest` plus `labels` to it.
 * Each move is recorded under `changeId`; see `newVersionLabelRecords` for its audit and event.
 */
export function createVersionStatements(
  db: Database,
  promptId: SQL | number,
  version: number,
  prepared: PreparedVersion,
  labelsToSet: string[],
  actor: Actor,
  now: string,
  changeId: string,
) {
  const statements: BatchItem<"sqlite">[] = [
    db.insert(versions).values({
      promptId: promptId as number,
      version,
      prompt: prepared.prompt,
      config: prepared.config,
      variables: prepared.variables,
      commitMessage: prepared.commitMessage,
      author: actor.name,
      hash: prepared.hash,
      createdAt: now,
    }),
    db
      .update(prompts)
      .set({ latestVersion: version, updatedAt: now })
      .where(eq(prompts.id, promptId as number)),
  ];
  for (const label of labelsOfNewVersion(labelsToSet)) {
    statements.push(
      ...moveLabelStatements(db, promptId, label, version, {
        actor,
        now,
        isRollback: false,
        changeId,
      }),
    );
  }
  return statements;
}

/**
 * A new version moves labels like any move does, so each move (the automatic `latest` one too:
 * every real pointer change is announced) gets its `label.move` audit row and its
 * `prompt.label.moved` event, with `fromVersion` read in the batch.
 */
export function newVersionLabelRecords(
  prompt: PromptRef,
  version: number,
  labelsToSet: string[],
  changeId: string,
): { audits: ChangeAudit[]; events: ChangeEvent[] } {
  const records = labelsOfNewVersion(labelsToSet).map((label) =>
    labelMoveRecords(prompt, label, changeId, false, promptTarget(prompt.name, version)),
  );
  return {
    audits: records.map((record) => record.audit),
    events: records.map((record) => record.event),
  };
}

export async function versionLabels(
  db: Database,
  promptId: number,
): Promise<Map<number, string[]>> {
  const rows = await db
    .select({ name: labels.name, version: labels.version })
    .from(labels)
    .where(eq(labels.promptId, promptId));
  const byVersion = new Map<number, string[]>();
  for (const row of rows.sort((a, b) => a.name.localeCompare(b.name))) {
    byVersion.set(row.version, [...(byVersion.get(row.version) ?? []), row.name]);
  }
  return byVersion;
}

export function toVersionView(
  prompt: PromptRow,
  row: VersionRow,
  labelNames: string[],
): VersionView {
  return { ...toPublishedVersion(prompt, row), author: row.author, labels: labelNames };
}

export async function listVersions(
  ctx: ReadContext,
  prompt: PromptRow,
  page: { limit: number; before?: number },
): Promise<Page<VersionView, number>> {
  requireAccess(ctx.actor, prompt.projectId, "prompts:read");
  const db = ctx.db;
  const rows = await db
    .select()
    .from(versions)
    .where(
      and(
        eq(versions.promptId, prompt.id),
        page.before ? lt(versions.version, page.before) : undefined,
      ),
    )
    .orderBy(desc(versions.version))
    .limit(rowsForPage(page.limit));
  const byVersion = await versionLabels(db, prompt.id);
  const { items, nextCursor } = readPage(rows, page.limit, (row) => row.version);
  return {
    items: items.map((row) => toVersionView(prompt, row, byVersion.get(row.version) ?? [])),
    nextCursor,
  };
}

export async function getVersion(
  ctx: ReadContext,
  prompt: PromptRow,
  version: number,
): Promise<VersionView> {
  requireAccess(ctx.actor, prompt.projectId, "prompts:read");
  const db = ctx.db;
  const row = await db.query.versions.findFirst({
    where: and(eq(versions.promptId, prompt.id), eq(versions.version, version)),
  });
  if (!row) {
    throw new ProblemError(
      "not_found",
      `Prompt '${prompt.name}' has no version ${version}; its latest is ${prompt.latestVersion}.`,
    );
  }
  const byVersion = await versionLabels(db, prompt.id);
  const resolution = await resolveReferences(db, prompt.projectId, prompt, row);
  return {
    ...toVersionView(prompt, row, byVersion.get(version) ?? []),
    resolved: resolution && {
      prompt: resolution.prompt,
      variables: resolution.variables,
      graph: resolution.graph,
      followsLabels: resolution.followsLabels,
    },
  };
}
