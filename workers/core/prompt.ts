import { sha256Hex } from "./crypto";

/**
 * The content of a version: a text template, or a chat: messages whose contents are templates,
 * and placeholders an app fills with messages of its own (a conversation's history) at compile.
 */
/** Roles the editor offers; a message may carry any role string (as in Langfuse). */
export const CHAT_ROLES = ["system", "developer", "user", "assistant"] as const;

export interface ChatMessage {
  role: string;
  content: string;
}

/** Stands for messages given at compile time (Langfuse's chat placeholder, same shape). */
export interface ChatPlaceholder {
  type: "placeholder";
  name: string;
}

export type ChatItem = ChatMessage | ChatPlaceholder;

export function isPlaceholder(item: ChatItem): item is ChatPlaceholder {
  return (item as { type?: unknown }).type === "placeholder";
}

export type PromptType = "text" | "chat";
export type PromptContent = string | ChatItem[];

export const VARIABLE_TYPES = ["string", "number", "boolean", "list", "object", "any"] as const;

/** A variable a version uses: derived from its templates, optionally declared with more detail. */
export interface VariableSpec {
  name: string;
  type: (typeof VARIABLE_TYPES)[number];
  /** A required variable with no default must be given to render. */
  required: boolean;
  default?: unknown;
  description?: string;
}

/** What an author may declare about a variable beyond what the template shows. */
export interface VariableDeclaration {
  type?: (typeof VARIABLE_TYPES)[number];
  required?: boolean;
  default?: unknown;
  description?: string;
}

/** Model parameters: any JSON object (model, temperature, tools…), capped in size. */
export type ModelConfig = Record<string, unknown>;

export function promptTypeOf(content: PromptContent): PromptType {
  return typeof content === "string" ? "text" : "chat";
}

/** The templates of a prompt: its text, or its messages' contents (placeholders have none). */
export function templatesOf(content: PromptContent): string[] {
  if (typeof content === "string") return [content];
  return content.flatMap((item) => (isPlaceholder(item) ? [] : [item.content]));
}

/** The placeholder names of a chat prompt, in order, each once. */
export function placeholdersOf(content: PromptContent): string[] {
  if (typeof content === "string") return [];
  return [...new Set(content.filter(isPlaceholder).map((item) => item.name))];
}

const encoder = new TextEncoder();
export function utf8Bytes(value: string): number {
  return encoder.encode(value).byteLength;
}

/** JSON with sorted object keys, so equal content always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** The content hash of a version: what the edge uses as its ETag. */
export async function contentHash(content: {
  type: PromptType;
  prompt: PromptContent;
  config: ModelConfig;
  variables: VariableSpec[];
}): Promise<string> {
  return `sha256:${await sha256Hex(canonicalJson(content))}`;
}
