/**
 * `@cuecard/sdk/observe`: the observed LLM client and the telemetry sink. A subpath of its own so
 * the base `@cuecard/sdk` import stays free of it (and of `@opentelemetry/api`).
 */
export {
  type CallLink,
  type LinkedRequestOptions,
  linkPrompt,
  type ObserveOptions,
  type OpenAILike,
  observeOpenAI,
} from "./openai";
export {
  type GenerationInput,
  type GenerationRef,
  generationCost,
  type PendingEvent,
  type PromptLike,
  type ScoreOptions,
  Telemetry,
  type TelemetryOptions,
  type TelemetryStats,
} from "./telemetry";
