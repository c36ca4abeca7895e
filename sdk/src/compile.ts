import type { AssignmentReason, HashVersion } from "@cuecard/core/assignment";
import type { ChatMessage, ModelConfig, PromptContent, VariableSpec } from "@cuecard/core/prompt";
import { deriveVariables, renderPrompt } from "@cuecard/core/template";

/**
 * A prompt as an app uses it: the resolved version plus `compile(variables)`, which renders with
 * the edge's own code (@cuecard/core/template), so a local render and
 * `POST /v1/prompts/{name}/render` give the same output and refuse the same variables
 * (RenderError naming `missing` and `unknown`).
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

interface PromptBase<Content> {
  readonly name: string;
  readonly version: number;
  readonly label: string | null;
  readonly prompt: Content;
  readonly config: ModelConfig;
  readonly variables: readonly VariableSpec[];
  readonly hash: string;
  readonly source: PromptSource;
  /** The variant this prompt is of the label's experiment; null when the label runs none. */
  readonly experiment: PromptExperiment | null;
  /** Renders the template(s). Throws RenderError when variables are missing or unknown. */
  compile(variables?: Variables): Content;
}

export interface TextPrompt extends PromptBase<string> {
  readonly type: "text";
}

export interface ChatPrompt extends PromptBase<ChatMessage[]> {
  readonly type: "chat";
}

/** Narrow with `prompt.type === "chat"`, or ask `getPrompt(name, { type: "chat" })`. */
export type Prompt = TextPrompt | ChatPrompt;
export type PromptOfType<T extends Prompt["type"]> = Extract<Prompt, { type: T }>;

export function toPrompt(
  resolved: ResolvedPrompt,
  source: PromptSource,
  experiment: PromptExperiment | null = resolved.experiment ?? null,
): Prompt {
  const base = {
    name: resolved.name,
    version: resolved.version,
    label: resolved.label,
    config: resolved.config,
    variables: resolved.variables,
    hash: resolved.hash,
    source,
    experiment,
  };
  if (typeof resolved.prompt === "string") {
    const template = resolved.prompt;
    return {
      ...base,
      type: "text",
      prompt: template,
      compile: (variables = {}) => renderPrompt(template, resolved.variables, variables),
    };
  }
  const messages = resolved.prompt;
  return {
    ...base,
    type: "chat",
    prompt: messages,
    compile: (variables = {}) => renderPrompt(messages, resolved.variables, variables),
  };
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
  );
}
