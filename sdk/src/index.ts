/**
 * `@cuecard/sdk`: fetch prompts from the Cuecard edge and render them exactly as the edge does.
 * Runs wherever `fetch` does: Node ≥ 20, browsers, Cloudflare Workers.
 */
export type {
  ChatItem,
  ChatMessage,
  ChatPlaceholder,
  ModelConfig,
  VariableSpec,
} from "@cuecard/core/prompt";
export { type PlaceholderFills, RenderError } from "@cuecard/core/template";
export {
  CuecardClient,
  type CuecardClientOptions,
  type ExposureRecorder,
  type FallbackReason,
  type GetPromptOptions,
  type PrefetchResult,
} from "./client";
export {
  type ChatPrompt,
  type CompileOptions,
  type ExperimentDefinition,
  type FallbackPrompt,
  type Prompt,
  type PromptExperiment,
  type PromptOfType,
  type PromptSource,
  type ResolvedPrompt,
  type TextPrompt,
  toPrompt,
  type Variables,
} from "./compile";
export {
  CuecardError,
  CuecardRequestError,
  CuecardUnavailableError,
  type Problem,
  PromptNotFoundError,
  PromptTypeError,
} from "./errors";
export { type OpenAIChatMessage, type OpenAIContentRole, openAIMessages } from "./messages";
