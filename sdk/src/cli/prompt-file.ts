import { CHAT_ROLE_MAX } from "@cuecard/core/limits";
import { placeholderNameProblem, promptNameProblem } from "@cuecard/core/names";
import {
  CHAT_ROLES,
  type ChatItem,
  type ChatMessage,
  canonicalJson,
  contentHash,
  isPlaceholder,
  type ModelConfig,
  type PromptContent,
  type PromptType,
  VARIABLE_TYPES,
  type VariableDeclaration,
  type VariableSpec,
} from "@cuecard/core/prompt";
import { deriveVariables, TemplateError } from "@cuecard/core/template";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";

/**
 * A prompt as a file, `<promptsDir>/<name>.prompt.md` (docs/prompts-as-code.md):
 *
 *     ---
 *     type: chat
 *     description: Classifies a ticket
 *     config: { model: gpt-4o-mini, temperature: 0 }
 *     commitMessage: Add a security category
 *     ---
 *     ## system
 *
 *     You are the triage assistant for {{company}}.
 *
 *     ## user
 *
 *     {{ticket}}
 *
 * The body of a text prompt is the template, verbatim, up to the file's final newline. A chat
 * prompt's body is one `## <role>` section per message. The layout is chosen so a change to a
 * prompt is a change to a few lines in a pull request, and so pull → push is byte-stable: a file
 * written by `pull` parses back to exactly the content it was written from.
 */

export const PROMPT_FILE_SUFFIX = ".prompt.md";
export const TEST_FILE_SUFFIX = ".test.yaml";

export interface PromptFile {
  name: string;
  type: PromptType;
  description: string;
  tags: string[];
  prompt: PromptContent;
  config: ModelConfig;
  /** Only what the template does not show (a type, a default, a description). */
  variables: Record<string, VariableDeclaration>;
  commitMessage?: string;
  /** Labels to move to the new version when this file is pushed. */
  labels: string[];
}

export class PromptFileError extends Error {
  override name = "PromptFileError";
}

const FRONT_MATTER_KEYS = new Set([
  "type",
  "description",
  "tags",
  "config",
  "variables",
  "commitMessage",
  "labels",
  "messages",
]);
const SECTION = new RegExp(`^## (${CHAT_ROLES.join("|")})[ \\t]*$`);

export function promptNameOf(relativePath: string): string {
  return relativePath.split(/[\\/]/).join("/").slice(0, -PROMPT_FILE_SUFFIX.length);
}

/** Parses a prompt file. Throws PromptFileError saying what to fix. */
export function parsePromptFile(name: string, source: string): PromptFile {
  const nameProblem = promptNameProblem(name);
  if (nameProblem) {
    throw new PromptFileError(`'${name}' is not a valid prompt name: ${nameProblem}`);
  }
  const text = source.replace(/\r\n/g, "\n");
  if (!text.startsWith("---\n")) {
    throw new PromptFileError("must start with a '---' line opening the front matter");
  }
  const close = text.indexOf("\n---\n", 3);
  const closeAtEnd = text.endsWith("\n---") ? text.length - 4 : -1;
  const end = close !== -1 ? close : closeAtEnd;
  if (end === -1) throw new PromptFileError("the front matter has no closing '---' line");
  const yamlSource = text.slice(4, end + 1);
  const body = text.slice(end + 5);

  let meta: Record<string, unknown>;
  try {
    const parsed = parseYaml(yamlSource) as unknown;
    meta = parsed === null || parsed === undefined ? {} : (parsed as Record<string, unknown>);
  } catch (error) {
    throw new PromptFileError(`the front matter is not valid YAML: ${(error as Error).message}`);
  }
  if (typeof meta !== "object" || Array.isArray(meta)) {
    throw new PromptFileError("the front matter must be a YAML mapping (key: value lines)");
  }
  const unknownKeys = Object.keys(meta).filter((key) => !FRONT_MATTER_KEYS.has(key));
  if (unknownKeys.length > 0) {
    throw new PromptFileError(
      `unknown front matter key(s) ${unknownKeys.join(", ")}; use ${[...FRONT_MATTER_KEYS].join(", ")}`,
    );
  }
  const type = meta.type ?? "text";
  if (type !== "text" && type !== "chat") {
    throw new PromptFileError(`type must be 'text' or 'chat', not '${String(type)}'`);
  }

  let prompt: PromptContent;
  if (meta.messages !== undefined) {
    if (type !== "chat") throw new PromptFileError("'messages' is only for type: chat");
    if (body.trim() !== "") {
      throw new PromptFileError(
        "give the messages either in 'messages' or as ## sections, not both",
      );
    }
    prompt = checkMessages(meta.messages);
  } else if (type === "chat") {
    prompt = parseChatBody(body);
  } else {
    prompt = body.endsWith("\n") ? body.slice(0, -1) : body;
  }

  const file: PromptFile = {
    name,
    type,
    description: optionalString(meta.description, "description") ?? "",
    tags: stringList(meta.tags, "tags"),
    prompt,
    config: checkConfig(meta.config),
    variables: checkDeclarations(meta.variables),
    labels: stringList(meta.labels, "labels"),
  };
  const commitMessage = optionalString(meta.commitMessage, "commitMessage");
  if (commitMessage !== undefined) file.commitMessage = commitMessage;
  try {
    deriveVariables(file.prompt, file.variables);
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    const where =
      error.messageIndex !== undefined
        ? ` (message ${error.messageIndex + 1}, ${(file.prompt as ChatMessage[])[error.messageIndex]?.role})`
        : "";
    throw new PromptFileError(`the template is not valid${where}: ${error.message}`);
  }
  return file;
}

function parseChatBody(body: string): ChatMessage[] {
  const lines = body.split("\n");
  const messages: ChatMessage[] = [];
  let current: { role: string; lines: string[] } | undefined;
  const finish = (isLast: boolean) => {
    if (!current) return;
    let content = current.lines.join("\n");
    // Undo exactly what serializeChatBody adds: one blank line after the heading, one newline
    // ending the content and, between messages, one blank separator line.
    if (content.startsWith("\n")) content = content.slice(1);
    if (!isLast && content.endsWith("\n")) content = content.slice(0, -1);
    messages.push({ role: current.role, content });
  };
  for (const line of lines) {
    const heading = SECTION.exec(line);
    if (heading) {
      finish(false);
      current = { role: heading[1] as string, lines: [] };
    } else if (current) {
      current.lines.push(line);
    } else if (line.trim() !== "") {
      throw new PromptFileError(
        `a chat prompt's body is '## <role>' sections (${CHAT_ROLES.join(", ")}); found text before the first one: '${line.slice(0, 60)}'`,
      );
    }
  }
  if (current) {
    // The file's final newline is not part of the last message.
    if (current.lines.at(-1) === "") current.lines.pop();
    finish(true);
  }
  if (messages.length === 0) {
    throw new PromptFileError(
      `a chat prompt needs at least one '## <role>' section (${CHAT_ROLES.join(", ")})`,
    );
  }
  return messages;
}

function serializeChatBody(messages: ChatMessage[]): string {
  return messages.map((message) => `## ${message.role}\n\n${message.content}\n`).join("\n");
}

/**
 * The front matter's `messages`: `{role, content}` with any role, or `{type: placeholder, name}`.
 * The `## role` sections take only the usual roles (CHAT_ROLES), so a `## Notes` line in a
 * message stays text; chats with other roles or placeholders are written here instead.
 */
function checkMessages(value: unknown): ChatItem[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new PromptFileError("'messages' must be a list of {role, content}");
  }
  return value.map((message, index): ChatItem => {
    const { type, name, role, content } = (message ?? {}) as Record<string, unknown>;
    if (type === "placeholder") {
      const problem = typeof name === "string" ? placeholderNameProblem(name) : "must be a string";
      if (problem) throw new PromptFileError(`messages[${index}].name ${problem}`);
      return { type: "placeholder", name: name as string };
    }
    if (
      typeof role !== "string" ||
      role.length === 0 ||
      role.length > CHAT_ROLE_MAX ||
      typeof content !== "string"
    ) {
      throw new PromptFileError(
        `messages[${index}] must be {role: <1 to ${CHAT_ROLE_MAX} characters>, content: <string>} or {type: placeholder, name: <name>}`,
      );
    }
    return { role, content };
  });
}

function optionalString(value: unknown, key: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new PromptFileError(`'${key}' must be a string`);
  return value;
}

function stringList(value: unknown, key: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
    throw new PromptFileError(`'${key}' must be a list of strings, e.g. [a, b]`);
  }
  return value as string[];
}

function checkConfig(value: unknown): ModelConfig {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new PromptFileError("'config' must be a mapping, e.g. {model: gpt-4o-mini}");
  }
  return value as ModelConfig;
}

function checkDeclarations(value: unknown): Record<string, VariableDeclaration> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new PromptFileError(
      "'variables' must map a variable name to {type, required, default, description}",
    );
  }
  for (const [name, declaration] of Object.entries(value)) {
    const fields = (declaration ?? {}) as Record<string, unknown>;
    if (fields.type !== undefined && !VARIABLE_TYPES.includes(fields.type as never)) {
      throw new PromptFileError(
        `variables.${name}.type must be one of ${VARIABLE_TYPES.join(", ")}`,
      );
    }
  }
  return value as Record<string, VariableDeclaration>;
}

/** What the file says about a version: the input for a new version, and its content hash. */
export async function versionOf(file: PromptFile) {
  const variables = deriveVariables(file.prompt, file.variables);
  return {
    variables,
    hash: await contentHash({
      type: file.type,
      prompt: file.prompt,
      config: file.config,
      variables,
    }),
  };
}

/**
 * The declarations that, applied to the template, give back these variable specs: what the author
 * declared beyond what the template shows.
 */
export function declarationsOf(
  prompt: PromptContent,
  specs: readonly VariableSpec[],
): Record<string, VariableDeclaration> {
  const derived = new Map(deriveVariables(prompt).map((spec) => [spec.name, spec]));
  const declarations: Record<string, VariableDeclaration> = {};
  for (const spec of specs) {
    const plain = derived.get(spec.name);
    const declaration: VariableDeclaration = {};
    if (spec.type !== "any") declaration.type = spec.type;
    if (spec.description !== undefined) declaration.description = spec.description;
    if (spec.default !== undefined) declaration.default = spec.default;
    else if (plain && spec.required !== plain.required) declaration.required = spec.required;
    if (Object.keys(declaration).length > 0) declarations[spec.name] = declaration;
  }
  return declarations;
}

/** Writes a prompt file; `parsePromptFile(serializePromptFile(x))` gives `x` back. */
export function serializePromptFile(file: Omit<PromptFile, "name">): string {
  const meta: Record<string, unknown> = { type: file.type };
  if (file.description) meta.description = file.description;
  if (file.tags.length > 0) meta.tags = file.tags;
  if (Object.keys(file.config).length > 0) meta.config = file.config;
  if (Object.keys(file.variables).length > 0) meta.variables = file.variables;
  if (file.commitMessage) meta.commitMessage = file.commitMessage;
  if (file.labels.length > 0) meta.labels = file.labels;

  let body: string;
  if (typeof file.prompt === "string") {
    body = `${file.prompt}\n`;
  } else {
    const sections = sectionMessages(file.prompt);
    body = sections ? serializeChatBody(sections) : "";
    // A message whose text has a line like '## user' cannot be a section, nor can a placeholder
    // or a role of its own: keep such chats in the front matter, where YAML quotes whatever it must.
    if (!sections || !sameMessages(parseChatBody(body), file.prompt)) {
      meta.messages = file.prompt;
      body = "";
    }
  }
  return `---\n${frontMatterYaml(meta)}---\n${body}`;
}

/**
 * Block scalars (`|`) read best for multi-line values, but the yaml library does not write every
 * string back faithfully (lines of only spaces, some escapes); a value that would not read back
 * as written is written as JSON, which is valid YAML.
 */
function frontMatterYaml(meta: Record<string, unknown>): string {
  return Object.entries(meta)
    .map(([key, value]) => {
      const readable = stringifyYaml({ [key]: value }, { lineWidth: 0 });
      const back = (parseYaml(readable) as Record<string, unknown>)[key];
      return JSON.stringify(back) === JSON.stringify(value)
        ? readable
        : `${key}: ${JSON.stringify(value)}\n`;
    })
    .join("");
}

/** The chat as `## role` sections can hold it, or undefined when they cannot. */
function sectionMessages(items: ChatItem[]): ChatMessage[] | undefined {
  const sectioned = (item: ChatItem): item is ChatMessage =>
    !isPlaceholder(item) && (CHAT_ROLES as readonly string[]).includes(item.role);
  return items.every(sectioned) ? items : undefined;
}

function sameMessages(a: ChatItem[], b: ChatItem[]): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
