import type { PromptRef } from "@cuecard/core/events";
import type { PublishedVersion, ResolutionGraph } from "@cuecard/core/kv-records";
import { TEMPLATE_MAX_BYTES, VERSION_MAX } from "@cuecard/core/limits";
import { labelProblem, promptNameProblem } from "@cuecard/core/names";
import { type FieldError, ProblemError } from "@cuecard/core/problem";
import {
  contentHash,
  type PromptContent,
  templatesOf,
  utf8Bytes,
  type VariableDeclaration,
  type VariableSpec,
} from "@cuecard/core/prompt";
import { deriveVariables, TemplateError } from "@cuecard/core/template";
import { and, eq, inArray, isNull, or, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { ChangeEvent, InBatchSource } from "../../platform/changes";
import type { Database } from "../../platform/db/client";
import {
  labels,
  type PromptRow,
  promptReferences,
  prompts,
  type VersionRow,
  versions,
} from "../../platform/db/schema";

/**
 * Prompt references (composition): a version includes another prompt by label or by version
 * with Langfuse's tag, `@@@langfusePrompt:name=NAME|label=LABEL@@@` or `…|version=N@@@`, in its
 * text or in any chat message. A version stores what its author wrote; the tags are replaced by
 * the included prompt's text when the version is published, so the edge still serves a version
 * with one read. When a label that some prompt includes moves, the prompts that include it are
 * republished through the outbox and announced (`prompt.reference.moved`).
 *
 * The rules, each checked when a version is saved and when a label moves, so what is published
 * always resolves:
 * - only text prompts can be included (as in Langfuse);
 * - at most `PROMPT_REFERENCE_MAX_DEPTH` levels (Langfuse's limit);
 * - no version includes itself, directly or through others (a cycle); a version may include an
 *   earlier version of its own prompt;
 * - the prompt, label or version named must exist, and the prompt must not be archived;
 * - a label or prompt that others include cannot be deleted or archived.
 */

export const PROMPT_REFERENCE_MAX_DEPTH = 5;

/** Langfuse's tag; `|`, `@` and `#` never occur in prompt names or labels (core/names.ts). */
const TAG = /@@@langfusePrompt:(.*?)@@@/g;

export type PromptReference =
  | { name: string; label: string; version?: undefined }
  | { name: string; version: number; label?: undefined };

/** `support/tone@production` or `support/tone#3`: how references are named in messages. */
export function referenceText(reference: PromptReference): string {
  return reference.label !== undefined
    ? `${reference.name}@${reference.label}`
    : `${reference.name}#${reference.version}`;
}

function parseTag(inner: string): PromptReference | string {
  const params = new Map<string, string>();
  for (const part of inner.split("|")) {
    const at = part.indexOf("=");
    const key = at < 0 ? part : part.slice(0, at);
    if (!["name", "label", "version"].includes(key) || at < 0) {
      return `'${part}' is not name=…, label=… or version=…`;
    }
    if (params.has(key)) return `gives ${key} twice`;
    params.set(key, part.slice(at + 1));
  }
  const name = params.get("name");
  if (name === undefined) return "names no prompt: give name=…";
  const nameProblem = promptNameProblem(name);
  if (nameProblem) return `name '${name}': ${nameProblem}`;
  const label = params.get("label");
  const version = params.get("version");
  if ((label === undefined) === (version === undefined)) {
    return "give exactly one of label=… and version=…";
  }
  if (label !== undefined) {
    const problem = labelProblem(label);
    return problem ? `label '${label}': ${problem}` : { name, label };
  }
  if (!/^[1-9][0-9]{0,9}$/.test(version ?? "") || Number(version) > VERSION_MAX) {
    return `version '${version}' is not a version number`;
  }
  return { name, version: Number(version) };
}

/** The references of a version's content, each once, and the tags that cannot be read. */
export function parseReferences(content: PromptContent): {
  references: PromptReference[];
  problems: FieldError[];
} {
  const found = new Map<string, PromptReference>();
  const problems: FieldError[] = [];
  const templates =
    typeof content === "string"
      ? [{ text: content, field: "body.prompt" }]
      : content.flatMap((item, index) =>
          "content" in item ? [{ text: item.content, field: `body.prompt.${index}.content` }] : [],
        );
  for (const { text, field } of templates) {
    for (const match of text.matchAll(TAG)) {
      const parsed = parseTag(match[1] ?? "");
      if (typeof parsed === "string") {
        problems.push({ field, message: `the prompt reference ${match[0]} ${parsed}` });
      } else {
        found.set(referenceText(parsed), parsed);
      }
    }
  }
  return { references: [...found.values()], problems };
}

/** A reference that does not resolve: `chain` is the path to it, from the including version. */
export class ReferenceProblem extends Error {
  constructor(
    readonly reason: string,
    readonly chain: string[],
  ) {
    super(`${chain.join(" → ")}: ${reason}`);
  }
}

interface Node {
  prompt: Pick<PromptRow, "name" | "type">;
  version: Pick<VersionRow, "version" | "prompt" | "variables">;
}

interface Resolved {
  content: PromptContent;
  declarations: Record<string, VariableDeclaration>;
  /** True when a label anywhere below was followed: the result changes when that label moves. */
  followsLabels: boolean;
}

function declarationsOf(variables: VariableSpec[]): Record<string, VariableDeclaration> {
  return Object.fromEntries(variables.map(({ name, ...declaration }) => [name, declaration]));
}

/**
 * Labels as they will be after a change (`name@label` → the version it will serve), so a save or
 * a move is checked against the state it makes.
 */
export type LabelOverrides = Map<string, Node>;

async function loadIncluded(
  db: Database,
  projectId: string,
  reference: PromptReference,
  chain: string[],
  overrides: LabelOverrides,
): Promise<Node> {
  const override =
    reference.label !== undefined
      ? overrides.get(`${reference.name}@${reference.label}`)
      : undefined;
  if (override) return override;
  const prompt = await db.query.prompts.findFirst({
    where: and(eq(prompts.projectId, projectId), eq(prompts.name, reference.name)),
  });
  if (!prompt) throw new ReferenceProblem(`there is no prompt '${reference.name}'`, chain);
  if (prompt.archivedAt) {
    throw new ReferenceProblem(`'${reference.name}' is archived; restore it first`, chain);
  }
  if (prompt.type !== "text") {
    throw new ReferenceProblem(
      `'${reference.name}' is a chat prompt; only text prompts can be included`,
      chain,
    );
  }
  let number = reference.version;
  if (reference.label !== undefined) {
    const label = await db.query.labels.findFirst({
      where: and(eq(labels.promptId, prompt.id), eq(labels.name, reference.label)),
    });
    if (!label) {
      throw new ReferenceProblem(`'${reference.name}' has no label '${reference.label}'`, chain);
    }
    number = label.version;
  }
  const version = await db.query.versions.findFirst({
    where: and(eq(versions.promptId, prompt.id), eq(versions.version, number ?? 0)),
  });
  if (!version) {
    throw new ReferenceProblem(`'${reference.name}' has no version ${number}`, chain);
  }
  return { prompt, version };
}

const nodeKey = (node: Node) => `${node.prompt.name}#${node.version.version}`;

async function resolveNode(
  db: Database,
  projectId: string,
  node: Node,
  chain: string[],
  path: string[],
  graph: ResolutionGraph,
  overrides: LabelOverrides,
): Promise<Resolved> {
  const { references, problems } = parseReferences(node.version.prompt);
  const own = declarationsOf(node.version.variables);
  if (problems.length > 0) throw new ReferenceProblem(problems[0]?.message ?? "", chain);
  if (references.length === 0) {
    return { content: node.version.prompt, declarations: own, followsLabels: false };
  }
  if (chain.length > PROMPT_REFERENCE_MAX_DEPTH) {
    throw new ReferenceProblem(
      `prompts may be included at most ${PROMPT_REFERENCE_MAX_DEPTH} levels deep`,
      chain,
    );
  }
  const texts = new Map<string, string>();
  const declarations: Record<string, VariableDeclaration> = {};
  let followsLabels = false;
  const edges: ResolutionGraph["dependencies"][string] = [];
  for (const reference of references) {
    const link = [...chain, referenceText(reference)];
    const included = await loadIncluded(db, projectId, reference, link, overrides);
    if (path.includes(nodeKey(included))) {
      throw new ReferenceProblem(
        "a version cannot include itself, directly or through others",
        link,
      );
    }
    const child = await resolveNode(
      db,
      projectId,
      included,
      link,
      [...path, nodeKey(included)],
      graph,
      overrides,
    );
    texts.set(referenceText(reference), child.content as string);
    Object.assign(declarations, child.declarations);
    followsLabels ||= reference.label !== undefined || child.followsLabels;
    edges.push({
      name: reference.name,
      version: included.version.version,
      ...(reference.label !== undefined ? { label: reference.label } : {}),
    });
  }
  graph.dependencies[nodeKey(node)] = edges;
  const substitute = (template: string) =>
    template.replace(TAG, (tag, inner: string) => {
      const parsed = parseTag(inner);
      return typeof parsed === "string" ? tag : (texts.get(referenceText(parsed)) ?? tag);
    });
  const content =
    typeof node.version.prompt === "string"
      ? substitute(node.version.prompt)
      : node.version.prompt.map((item) =>
          "content" in item ? { ...item, content: substitute(item.content) } : item,
        );
  // The including version's own declarations win over those of what it includes.
  return { content, declarations: { ...declarations, ...own }, followsLabels };
}

/** A version as published: its references replaced, and what the result's variables are. */
export interface Resolution {
  prompt: PromptContent;
  variables: VariableSpec[];
  hash: string;
  graph: ResolutionGraph;
  followsLabels: boolean;
}

/**
 * Resolves one version's references against D1 as it is now; null when it has none. Throws
 * `ReferenceProblem` when one does not resolve.
 */
export async function resolveReferences(
  db: Database,
  projectId: string,
  prompt: Pick<PromptRow, "name" | "type">,
  version: Pick<VersionRow, "version" | "prompt" | "variables" | "config">,
  overrides: LabelOverrides = new Map(),
): Promise<Resolution | null> {
  if (parseReferences(version.prompt).references.length === 0) return null;
  const graph: ResolutionGraph = {
    root: { name: prompt.name, version: version.version },
    dependencies: {},
  };
  const root = { prompt, version };
  const resolved = await resolveNode(
    db,
    projectId,
    root,
    [prompt.name],
    [nodeKey(root)],
    graph,
    overrides,
  );
  let variables: VariableSpec[];
  try {
    // Only declarations of variables the result uses (a tag inside a comment includes none).
    const used = new Set(deriveVariables(resolved.content).map((v) => v.name));
    const declared = Object.fromEntries(
      Object.entries(resolved.declarations).filter(([name]) => used.has(name)),
    );
    variables = deriveVariables(resolved.content, declared);
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    throw new ReferenceProblem(`the prompt with its references is not valid: ${error.message}`, [
      prompt.name,
    ]);
  }
  const hash = await contentHash({
    type: prompt.type,
    prompt: resolved.content,
    config: version.config,
    variables,
  });
  return {
    prompt: resolved.content,
    variables,
    hash,
    graph,
    followsLabels: resolved.followsLabels,
  };
}

/** A published version with its references resolved (unchanged when it has none). */
export async function withReferencesResolved(
  db: Database,
  projectId: string,
  prompt: PromptRow,
  version: VersionRow,
  published: PublishedVersion,
): Promise<PublishedVersion> {
  const resolution = await resolveReferences(db, projectId, prompt, version);
  if (!resolution) return published;
  return {
    ...published,
    prompt: resolution.prompt,
    variables: resolution.variables,
    hash: resolution.hash,
    resolution: {
      authored: version.prompt,
      graph: resolution.graph,
      followsLabels: resolution.followsLabels,
    },
  };
}

function overridesOf(
  prompt: Node["prompt"],
  version: Node["version"],
  labelsTaken: string[],
): LabelOverrides {
  return new Map(labelsTaken.map((label) => [`${prompt.name}@${label}`, { prompt, version }]));
}

/** A refused reference as the 422 a save or a move answers. */
function referenceRefusal(problem: ReferenceProblem, field: string): ProblemError {
  return new ProblemError("validation_failed", "A prompt reference does not resolve.", {
    errors: [{ field, message: problem.message }],
  });
}

/**
 * Checks a version about to be saved: its tags parse, and it resolves against D1 now (within
 * the size limit). Throws a 422 naming the chain; returns the references to record.
 */
export async function checkNewVersion(
  db: Database,
  projectId: string,
  prompt: Pick<PromptRow, "name" | "type">,
  version: Pick<VersionRow, "version" | "prompt" | "variables" | "config">,
  labelsTaken: string[],
): Promise<PromptReference[]> {
  const { references, problems } = parseReferences(version.prompt);
  if (problems.length > 0) {
    throw new ProblemError("validation_failed", "A prompt reference cannot be read.", {
      errors: problems,
    });
  }
  if (references.length === 0) return [];
  let resolution: Resolution | null;
  try {
    resolution = await resolveReferences(
      db,
      projectId,
      prompt,
      version,
      overridesOf(prompt, version, labelsTaken),
    );
  } catch (error) {
    if (error instanceof ReferenceProblem) throw referenceRefusal(error, "body.prompt");
    throw error;
  }
  const bytes = templatesOf(resolution?.prompt ?? "").reduce((n, t) => n + utf8Bytes(t), 0);
  if (bytes > TEMPLATE_MAX_BYTES) {
    throw new ProblemError("validation_failed", "The prompt is too large with its references.", {
      errors: [
        {
          field: "body.prompt",
          message: `with its references resolved, templates total ${bytes} bytes (UTF-8); the limit is ${TEMPLATE_MAX_BYTES}`,
        },
      ],
    });
  }
  return references;
}

/** The rows recording what a new version includes (written in its batch). */
export function referenceStatements(
  db: Database,
  promptId: SQL | number,
  version: number,
  references: PromptReference[],
): BatchItem<"sqlite">[] {
  if (references.length === 0) return [];
  return [
    db.insert(promptReferences).values(
      references.map((reference) => ({
        promptId: promptId as number,
        version,
        targetName: reference.name,
        targetLabel: reference.label ?? null,
        targetVersion: reference.version ?? null,
      })),
    ),
  ];
}

/** References to `name` from the live (not archived) prompts of the project, joined to them. */
const liveReferencesTo = (projectId: string, name: string) =>
  and(
    eq(prompts.projectId, projectId),
    isNull(prompts.archivedAt),
    eq(promptReferences.targetName, name),
  );

/** A live prompt whose versions include a moved label, directly or through others. */
export interface Includer {
  prompt: PromptRef & { id: number };
  /** Its versions whose published content changes. */
  versions: number[];
  /** Its labels that point at one of them. */
  labels: string[];
  /** What it includes that moved (a label, or a version of a prompt that includes it). */
  via: PromptReference;
  /** 1: includes the label itself; 2: includes a prompt that does; … */
  level: number;
}

/**
 * Every live prompt that includes `name@label`, directly or through others, level by level:
 * what a move of that label republishes.
 */
export async function includersOf(
  db: Database,
  projectId: string,
  name: string,
  label: string,
): Promise<Includer[]> {
  const found: Includer[] = [];
  const seen = new Set<string>();
  let frontier: { name: string; labels: string[]; versions: number[] }[] = [
    { name, labels: [label], versions: [] },
  ];
  for (let level = 1; frontier.length > 0 && level <= PROMPT_REFERENCE_MAX_DEPTH + 1; level++) {
    const next: typeof frontier = [];
    for (const target of frontier) {
      const rows = await db
        .select({
          promptId: promptReferences.promptId,
          version: promptReferences.version,
          name: prompts.name,
          type: prompts.type,
          targetLabel: promptReferences.targetLabel,
          targetVersion: promptReferences.targetVersion,
        })
        .from(promptReferences)
        .innerJoin(prompts, eq(prompts.id, promptReferences.promptId))
        .where(
          and(
            liveReferencesTo(projectId, target.name),
            or(
              target.labels.length
                ? inArray(promptReferences.targetLabel, target.labels)
                : undefined,
              target.versions.length
                ? inArray(promptReferences.targetVersion, target.versions)
                : undefined,
            ),
          ),
        );
      const byPrompt = new Map<number, typeof rows>();
      for (const row of rows) {
        if (seen.has(`${row.promptId}#${row.version}`)) continue;
        seen.add(`${row.promptId}#${row.version}`);
        byPrompt.set(row.promptId, [...(byPrompt.get(row.promptId) ?? []), row]);
      }
      for (const [promptId, group] of byPrompt) {
        const first = group[0];
        if (!first) continue;
        const versionNumbers = [...new Set(group.map((row) => row.version))].sort((a, b) => a - b);
        const labelRows = await db
          .select({ name: labels.name })
          .from(labels)
          .where(and(eq(labels.promptId, promptId), inArray(labels.version, versionNumbers)));
        const labelNames = labelRows.map((row) => row.name).sort();
        found.push({
          prompt: { id: promptId, name: first.name, type: first.type },
          versions: versionNumbers,
          labels: labelNames,
          via:
            first.targetLabel !== null
              ? { name: target.name, label: first.targetLabel }
              : { name: target.name, version: first.targetVersion ?? 0 },
          level,
        });
        next.push({ name: first.name, labels: labelNames, versions: versionNumbers });
      }
    }
    frontier = next;
  }
  return found;
}

/**
 * What moving `name@label` to `version` does to the prompts that include it: refused (422
 * naming the chain) when the version does not resolve, would include the label's own prompt, or
 * would nest them too deep; otherwise the `prompt.reference.moved` events that republish and
 * announce every includer, emitted only when the move changes the label (`inBatch`).
 */
export async function referenceMoveEvents(
  db: Database,
  projectId: string,
  prompt: PromptRow,
  moves: {
    label: string;
    /** The version the label moves to; read only when something includes the label. */
    version: () => Promise<(Node["version"] & Pick<VersionRow, "config">) | undefined>;
    inBatch?: InBatchSource;
  }[],
): Promise<ChangeEvent[]> {
  const events: ChangeEvent[] = [];
  for (const move of moves) {
    const includers = await includersOf(db, projectId, prompt.name, move.label);
    if (includers.length === 0) continue;
    // A version that does not exist is left to the move's own statements to refuse.
    const version = await move.version();
    if (!version) continue;
    let height = 0;
    try {
      const resolution = await resolveReferences(
        db,
        projectId,
        prompt,
        version,
        overridesOf(prompt, version, [move.label]),
      );
      height = resolution ? heightOf(resolution.graph) : 0;
    } catch (error) {
      if (error instanceof ReferenceProblem) throw referenceRefusal(error, "body.version");
      throw error;
    }
    const deepest = Math.max(...includers.map((includer) => includer.level));
    if (deepest + height > PROMPT_REFERENCE_MAX_DEPTH) {
      const top = includers.find((includer) => includer.level === deepest);
      throw new ProblemError(
        "validation_failed",
        "The move would nest prompt references too deep.",
        {
          errors: [
            {
              field: "body.version",
              message: `'${top?.prompt.name}' includes ${prompt.name}@${move.label} ${deepest} level(s) down, and version ${version.version} includes prompts ${height} level(s) deep: at most ${PROMPT_REFERENCE_MAX_DEPTH} in all`,
            },
          ],
        },
      );
    }
    for (const includer of includers) {
      events.push({
        type: "prompt.reference.moved",
        publishTarget: `prompt:${includer.prompt.name}#${includer.versions.join(",")}`,
        payload: {
          prompt: { name: includer.prompt.name, type: includer.prompt.type },
          versions: includer.versions,
          labels: includer.labels,
          moved: { name: prompt.name, label: move.label },
        },
        inBatch: move.inBatch,
      });
    }
  }
  return events;
}

/** Levels of inclusion below a graph's root (1: it includes prompts that include none). */
export function heightOf(graph: ResolutionGraph): number {
  const below = (key: string, seen: number): number => {
    const edges = graph.dependencies[key] ?? [];
    if (edges.length === 0 || seen > PROMPT_REFERENCE_MAX_DEPTH) return 0;
    return 1 + Math.max(...edges.map((edge) => below(`${edge.name}#${edge.version}`, seen + 1)));
  };
  return below(`${graph.root.name}#${graph.root.version}`, 0);
}

/**
 * Refuses (409) deleting a label, or archiving a prompt (`label` undefined), that a live prompt
 * includes: the including prompts would serve a tag that no longer resolves.
 */
export async function refuseIfIncluded(
  db: Database,
  projectId: string,
  name: string,
  label?: string,
): Promise<void> {
  const rows = await db
    .selectDistinct({ name: prompts.name, version: promptReferences.version })
    .from(promptReferences)
    .innerJoin(prompts, eq(prompts.id, promptReferences.promptId))
    .where(
      and(
        liveReferencesTo(projectId, name),
        label !== undefined ? eq(promptReferences.targetLabel, label) : undefined,
      ),
    )
    .limit(5);
  if (rows.length === 0) return;
  const list = rows.map((row) => `${row.name}#${row.version}`).join(", ");
  throw new ProblemError(
    "conflict",
    label !== undefined
      ? `Label '${label}' of '${name}' is included by ${list}. Change those prompts first.`
      : `Prompt '${name}' is included by ${list}. Change those prompts first.`,
  );
}
