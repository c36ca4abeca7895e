import { sha256Hex } from "./crypto";

/** The content of a version: a text template, or chat messages whose contents are templates. */
export const CHAT_ROLES = ["system", "developer", "user", "assistant"] as const;
export type ChatRole = (typeof CHAT_ROLES)[number];

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export type PromptType = "text" | "chat";
export type PromptContent = string | ChatMessage[];

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

export function templatesOf(content: PromptContent): string[] {
  return typeof content === "string" ? [content] : content.map((message) => message.content);
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
