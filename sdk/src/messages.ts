import { type ChatItem, isPlaceholder } from "@cuecard/core/prompt";

/** The roles whose OpenAI chat message is just `{role, content}`. */
const OPENAI_CONTENT_ROLES = ["system", "developer", "user", "assistant"] as const;
export type OpenAIContentRole = (typeof OPENAI_CONTENT_ROLES)[number];

/** A compiled message as OpenAI's chat API takes it. */
export interface OpenAIChatMessage {
  role: OpenAIContentRole;
  content: string;
}

/**
 * A compiled chat prompt as OpenAI's `messages`. A prompt may use any role and keep placeholders
 * it was not given messages for (as in Langfuse), which OpenAI's types, and its API, refuse: this
 * checks each message at run time instead of casting, and names the first that does not fit.
 */
export function openAIMessages(items: readonly ChatItem[]): OpenAIChatMessage[] {
  return items.map((item, index) => {
    if (isPlaceholder(item)) {
      throw new TypeError(
        `Message ${index + 1} is the placeholder '${item.name}', which compile() was not given messages for: pass them as compile(variables, { placeholders: { ${item.name}: [...] } }).`,
      );
    }
    if (!(OPENAI_CONTENT_ROLES as readonly string[]).includes(item.role)) {
      throw new TypeError(
        `Message ${index + 1} has the role '${item.role}', which OpenAI's chat API does not take as {role, content}; use one of ${OPENAI_CONTENT_ROLES.join(", ")}.`,
      );
    }
    return { role: item.role as OpenAIContentRole, content: item.content };
  });
}
