import type { AssignmentReason, HashVersion } from "@cuecard/core/assignment";
import { RESERVED_VARIABLES } from "@cuecard/core/names";
import {
  type ChatItem,
  type ModelConfig,
  type PromptContent,
  placeholdersOf,
  type VariableSpec,
} from "@cuecard/core/prompt";
import { deriveVariables, type PlaceholderFills, renderPrompt } from "@cuecard/core/template";

/**
 * A prompt as an app uses it: the resolved version plus `compile(variables)`, which renders with
 * the edge's own code (@cuecard/core/template), so a local render and
 * `POST /v1/prompts/{name}/render` give the same output and refuse the same variables
 * (RenderError naming `missing` and `unknown`). `compile(variables, { strict: false })` renders
 * whatever it is given instead, as Langfuse's SDKs do: missing variables become a placeholder,
 * unknown ones are ignored.
 *
 * A chat prompt's placeholders (`{type: "placeholder", name}`) are filled with
 * `compile(variables, { placeholders: { history: [...] } })`: the messages given replace it, as
 * given. An unfilled placeholder stays in the output as it is, as with Langfuse's compile (the
 * edge's render refuses one instead, since its caller cannot fill it afterwards).
 */

/** Where a prompt came from: `edge` just now, the client `cache`, a `stale` copy kept because
 * the edge could not be reached, or the caller's `fallback`. */
export type PromptSource = "edge" | "cache" | "stale" | "fallback";

/** The JSON the edge returns for one resolved prompt. */
export interface ResolvedPrompt {
  name: string;
  type: "text" | "chat";
  version: number;
  /** The label asked for; null for a pinned version. */
  label: string | null;
  prompt: PromptContent;
  config: ModelConfig;
  variables: VariableSpec[];
  hash: string;
  commitMessage?: string | null;
  createdAt?: string;
  /** Every label the version carries, when the edge says (on a label's read, not a pinned one). */
  labels?: string[];
  /** The prompt's tags, when the edge says (on a label's read, not a pinned one). */
  tags?: string[];
  /** What the edge did about the label's experiment; null when the label runs none. */
  experiment?: PromptExperiment | null;
  /** With `?definition=1`, while the label runs an experiment: what the SDK assigns from. */
  definition?: ExperimentDefinition;
}

/** Which variant of the label's experiment a prompt is (the edge's `experiment`, same shape). */
export interface PromptExperiment {
  readonly id: string;
  readonly key: string;
  readonly variant: string;
  /** The unit's hash in [0, 1); null without a unit id. */
  readonly bucket: number | null;
  /** `assigned`; or the control, because the unit is `not_in_coverage` or there is `no_unit`. */
  readonly reason: AssignmentReason;
}

/** A running experiment as the edge hands it to the SDK: every arm with its version. */
export interface ExperimentDefinition {
  id: string;
  key: string;
  seed: string;
  hashVersion: HashVersion;
  coverage: number;
  /** Control first. */
  variants: { key: string; weight: number; prompt: ResolvedPrompt }[];
}

export type Variables = Record<string, unknown>;

/** How `compile()` treats variables the prompt does not expect. */
export interface CompileOptions {
  /**
   * `true` (the default): a missing required variable or an unknown one is a RenderError, the
   * same refusal as the edge's render route. `false`: render anyway; unknown variables are
   * ignored and missing required ones are filled with `placeholder`.
   */
  strict?: boolean;
  /**
   * What a missing required variable renders as when `strict` is false. Default `""`. A section
   * (`{{#vip}}…{{/vip}}`) given a non-empty placeholder renders once, as with any string.
   */
  placeholder?: string;
  /**
   * Messages for the chat prompt's placeholders, by name (what Langfuse's
   * `compile(variables, placeholders)` takes second). A name the prompt does not have is a
   * RenderError unless `strict` is false; an unfilled placeholder is kept in the output.
   */
  placeholders?: PlaceholderFills;
}

interface PromptBase<Content> {
  readonly name: string;
  readonly version: number;
  readonly label: string | null;
  readonly prompt: Content;
  readonly config: ModelConfig;
  readonly variables: readonly VariableSpec[];
  readonly hash: string;
  /**
   * Every label the version carries, as the edge tells them when it resolves a label (as of the
   * label's last publish). A pinned version, read from its immutable record, says only `[]`; a
   * fallback, only the label asked for.
   */
  readonly labels: readonly string[];
  /** The prompt's tags as the edge tells them on a label's read; `[]` for a pinned version. */
  readonly tags: readonly string[];
  readonly source: PromptSource;
  /** The variant this prompt is of the label's experiment; null when the label runs none. */
  readonly experiment: PromptExperiment | null;
  /**
   * Renders the template(s). Throws RenderError when variables are missing or unknown, unless
   * `options.strict` is false (or the client's `compile` default says so). Size limits always
   * apply (RenderLimitError).
   */
  compile(variables?: Variables, options?: CompileOptions): Content;
}

export interface TextPrompt extends PromptBase<string> {
  readonly type: "text";
}

/** Messages, and any placeholder `compile()` was not given messages for. */
export interface ChatPrompt extends PromptBase<ChatItem[]> {
  readonly type: "chat";
}

/** Narrow with `prompt.type === "chat"`, or ask `getPrompt(name, { type: "chat" })`. */
export type Prompt = TextPrompt | ChatPrompt;
export type PromptOfType<T extends Prompt["type"]> = Extract<Prompt, { type: T }>;

const NO_NAMES: readonly string[] = Object.freeze([]);

/**
 * A lenient render's variables: only the prompt's own (unknown names dropped), a placeholder for
 * each missing required one, so the strict check that follows has nothing left to refuse.
 */
function lenientVariables(
  specs: readonly VariableSpec[],
  given: Variables,
  placeholder: string,
): Variables {
  const view: Variables = Object.create(null);
  for (const spec of specs) {
    if (RESERVED_VARIABLES.has(spec.name)) continue;
    const value = Object.hasOwn(given, spec.name) ? given[spec.name] : undefined;
    if (value !== undefined) view[spec.name] = value;
    else if (spec.required) view[spec.name] = placeholder;
  }
  return view;
}

/** A lenient render's placeholders: only the prompt's own. */
function lenientPlaceholders(content: PromptContent, given: PlaceholderFills): PlaceholderFills {
  const fills: PlaceholderFills = Object.create(null);
  for (const name of placeholdersOf(content)) {
    if (Object.hasOwn(given, name)) fills[name] = given[name] as PlaceholderFills[string];
  }
  return fills;
}

function render<T extends PromptContent>(
  content: T,
  specs: VariableSpec[],
  variables: Variables,
  options: CompileOptions,
): T {
  const placeholders = options.placeholders ?? {};
  if (options.strict !== false) {
    return renderPrompt(content, specs, variables, placeholders, "keep");
  }
  return renderPrompt(
    content,
    specs,
    lenientVariables(specs, variables, options.placeholder ?? ""),
    lenientPlaceholders(content, placeholders),
    "keep",
  );
}

/**
 * The prompt an app gets. Frozen: the client hands the same object to every cache hit.
 * `compileDefaults` is the client's `compile` option; a call's own options override it.
 */
export function toPrompt(
  resolved: ResolvedPrompt,
  source: PromptSource,
  experiment: PromptExperiment | null = resolved.experiment ?? null,
  compileDefaults: CompileOptions = {},
): Prompt {
  const base = {
    name: resolved.name,
    version: resolved.version,
    label: resolved.label,
    config: resolved.config,
    variables: resolved.variables,
    hash: resolved.hash,
    labels: resolved.labels
      ? Object.freeze(resolved.labels.slice())
      : resolved.label === null
        ? NO_NAMES
        : Object.freeze([resolved.label]),
    tags: resolved.tags ? Object.freeze(resolved.tags.slice()) : NO_NAMES,
    source,
    experiment,
  };
  const optionsOf = (options: CompileOptions | undefined) =>
    options === undefined ? compileDefaults : { ...compileDefaults, ...options };
  if (typeof resolved.prompt === "string") {
    const template = resolved.prompt;
    return Object.freeze({
      ...base,
      type: "text",
      prompt: template,
      compile: (variables: Variables = {}, options?: CompileOptions) =>
        render(template, resolved.variables, variables, optionsOf(options)),
    });
  }
  const messages = resolved.prompt;
  return Object.freeze({
    ...base,
    type: "chat",
    prompt: messages,
    compile: (variables: Variables = {}, options?: CompileOptions) =>
      render(messages, resolved.variables, variables, optionsOf(options)),
  });
}

/** What a caller may give as a fallback: the template(s), optionally with a model config. */
export type FallbackPrompt = PromptContent | { prompt: PromptContent; config?: ModelConfig };

/**
 * A prompt built from the caller's fallback. Version 0 and an empty hash say it never came from
 * Cuecard; its variables are derived from its template exactly as the admin derives them.
 */
export function fallbackPrompt(
  name: string,
  label: string | null,
  fallback: FallbackPrompt,
  compileDefaults: CompileOptions = {},
): Prompt {
  const content =
    typeof fallback === "string" || Array.isArray(fallback) ? fallback : fallback.prompt;
  const config =
    typeof fallback === "string" || Array.isArray(fallback) ? {} : (fallback.config ?? {});
  return toPrompt(
    {
      name,
      type: typeof content === "string" ? "text" : "chat",
      version: 0,
      label,
      prompt: content,
      config,
      variables: deriveVariables(content),
      hash: "",
    },
    "fallback",
    null,
    compileDefaults,
  );
}
