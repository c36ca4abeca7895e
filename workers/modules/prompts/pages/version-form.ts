import { CHAT_MESSAGES_MAX } from "@cuecard/core/limits";
import { ProblemError } from "@cuecard/core/problem";
import {
  CHAT_ROLES,
  type ChatItem,
  isPlaceholder,
  type PromptContent,
  type PromptType,
  type VariableDeclaration,
  type VariableSpec,
} from "@cuecard/core/prompt";
import { deriveVariables, TemplateError } from "@cuecard/core/template";
import type { Untrusted } from "../../../platform/fields";
import type { VersionInput } from "../schemas";
import { NEW_LABEL_CHOICE } from "./label-picker";

/**
 * The version editor's form, as typed: kept verbatim so a refused save re-renders exactly what
 * the author wrote. Validation is the API's own schema and the domain's own checks; this file
 * only translates between form fields and the API's field paths.
 */
export interface VersionDraft {
  type: PromptType;
  text: string;
  messages: MessageDraft[];
  config: string;
  commitMessage: string;
  /** The label picker's choice: "" (no label), a label, or NEW_LABEL_CHOICE with `newLabel`. */
  label: string;
  newLabel: string;
  /** What the author declared per variable name, as typed: type, default (text), description. */
  variables: Record<string, VariableDraft>;
}

/**
 * A chat item as typed. A placeholder (`placeholder` set: its name) is carried through the form
 * unchanged: the editor shows it and can remove it, the API is where placeholders are authored.
 */
export interface MessageDraft {
  role: string;
  content: string;
  placeholder?: string;
}

export interface VariableDraft {
  type: string;
  default: string;
  description: string;
}

const NO_DECLARATION: VariableDraft = { type: "any", default: "", description: "" };

/** A variable's declaration as typed, or the undeclared one. */
export function variableDraftOf(draft: VersionDraft, name: string): VariableDraft {
  return draft.variables[name] ?? NO_DECLARATION;
}

/** The editor's field for one part of a variable's declaration, e.g. `var.customer.default`. */
export function variableField(name: string, part: keyof VariableDraft): string {
  return `var.${name}.${part}`;
}

/** Form field name → message; `form` holds what belongs to no single field. */
export type FieldErrors = Record<string, string>;

type FormBody = Record<string, string | File | (string | File)[]>;

function text(body: FormBody, name: string): string {
  const value = body[name];
  return typeof value === "string" ? value : "";
}

/** A default as the author would type it: text as it is, anything else as JSON. */
function defaultText(value: unknown): string {
  if (value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function draftFromVersion(
  type: PromptType,
  version?: {
    prompt: PromptContent;
    config: Record<string, unknown>;
    variables?: { name: string; type: string; default?: unknown; description?: string }[];
  },
): VersionDraft {
  const prompt = version?.prompt;
  const variables: Record<string, VariableDraft> = {};
  for (const v of version?.variables ?? []) {
    variables[v.name] = {
      type: v.type,
      default: defaultText(v.default),
      description: v.description ?? "",
    };
  }
  return {
    variables,
    type,
    text: typeof prompt === "string" ? prompt : "",
    messages:
      prompt && typeof prompt !== "string"
        ? prompt.map((item) =>
            isPlaceholder(item)
              ? { role: "", content: "", placeholder: item.name }
              : { role: item.role, content: item.content },
          )
        : [
            { role: "system", content: "" },
            { role: "user", content: "" },
          ],
    config: JSON.stringify(version?.config ?? {}, null, 2),
    commitMessage: "",
    label: "",
    newLabel: "",
  };
}

export function draftFromForm(body: FormBody, type: PromptType): VersionDraft {
  const messages: MessageDraft[] = [];
  const count = Number(text(body, "messageCount")) || 0;
  for (let index = 0; index < Math.min(count, CHAT_MESSAGES_MAX); index++) {
    const placeholder = body[`messages.${index}.placeholder`];
    messages.push(
      typeof placeholder === "string"
        ? { role: "", content: "", placeholder }
        : {
            role: text(body, `messages.${index}.role`),
            content: text(body, `messages.${index}.content`),
          },
    );
  }
  const variables: Record<string, VariableDraft> = {};
  for (const key of Object.keys(body)) {
    const field = /^var\.(.+)\.(type|default|description)$/.exec(key);
    if (!field?.[1] || !field[2]) continue;
    const name = field[1];
    const declared = variables[name] ?? { ...NO_DECLARATION };
    declared[field[2] as keyof VariableDraft] = text(body, key);
    variables[name] = declared;
  }
  return {
    type,
    variables,
    // Browsers submit textarea line breaks as CRLF; templates are stored with LF.
    text: text(body, "prompt").replaceAll("\r\n", "\n"),
    messages: messages.map((m) => ({ ...m, content: m.content.replaceAll("\r\n", "\n") })),
    config: text(body, "config"),
    commitMessage: text(body, "commitMessage"),
    label: text(body, "label").trim(),
    newLabel: text(body, "newLabel").trim(),
  };
}

/**
 * Add/remove message buttons submit the form with an `intent`; the page re-renders with the
 * change and nothing is saved, so the editor works without JavaScript.
 */
export function applyIntent(draft: VersionDraft, intent: string): boolean {
  // Fields for the variables the template uses now (JavaScript or not, a re-render shows them).
  if (intent === "refresh-variables") return true;
  if (intent === "add-message") {
    draft.messages.push({ role: "user", content: "" });
    return true;
  }
  const removal = /^remove-message-(\d+)$/.exec(intent);
  if (removal) {
    draft.messages.splice(Number(removal[1]), 1);
    return true;
  }
  return false;
}

function contentOf(draft: VersionDraft): PromptContent {
  if (draft.type === "text") return draft.text;
  return draft.messages.map(
    (m): ChatItem =>
      m.placeholder !== undefined
        ? { type: "placeholder", name: m.placeholder }
        : { role: m.role, content: m.content },
  );
}

/**
 * The API's field path (`body.prompt.1.content`, or `body.version.prompt.1.content` when the
 * version comes with a new prompt) → the editor's field name.
 */
export function formFieldOf(apiField: string, type: PromptType): string {
  const path = apiField.replace(/^body\./, "").replace(/^version\./, "");
  const message = /^prompt\.(\d+)\.(role|content|name)/.exec(path);
  if (message) return `messages.${message[1]}.${message[2]}`;
  const declaration = /^variables\.(.+)\.(type|default|description)(\.|$)/.exec(path);
  if (declaration?.[1] && declaration[2]) {
    return variableField(declaration[1], declaration[2] as keyof VariableDraft);
  }
  if (path === "prompt" || path.startsWith("prompt.") || path.startsWith("variables")) {
    return type === "text" ? "prompt" : "messages";
  }
  for (const field of ["config", "commitMessage", "name", "description", "tags"]) {
    if (path === field || path.startsWith(`${field}.`)) return field;
  }
  if (path.startsWith("labels")) return "label";
  return "form";
}

export function errorsOf(
  problems: { field: string; message: string }[],
  type: PromptType,
): FieldErrors {
  const errors: FieldErrors = {};
  for (const problem of problems) {
    const field = formFieldOf(problem.field, type);
    errors[field] = errors[field] ? `${errors[field]}; ${problem.message}` : problem.message;
  }
  return errors;
}

/** A refused save as field errors; anything not about one field goes to the form. */
export function errorsOfProblem(error: ProblemError, type: PromptType): FieldErrors {
  const errors = errorsOf(error.errors ?? [], type);
  if (!error.errors?.length) errors.form = error.message;
  else if (!errors.form && error.code !== "validation_failed") errors.form = error.message;
  return errors;
}

/**
 * The form as the API's VersionInput, for the verb to check with the API's own schema. Only
 * what a form cannot express otherwise is refused here: config text that is not a JSON object.
 */
export function versionInputOf(
  draft: VersionDraft,
):
  | { input: Untrusted<typeof VersionInput>; errors?: undefined }
  | { input?: undefined; errors: FieldErrors } {
  let config: unknown = {};
  if (draft.config.trim() !== "") {
    try {
      config = JSON.parse(draft.config);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return { errors: { config: `This is not valid JSON: ${reason}` } };
    }
  }
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    return { errors: { config: 'Write a JSON object, e.g. {"model": "gpt-4o-mini"}.' } };
  }
  const label = draft.label === NEW_LABEL_CHOICE ? draft.newLabel : draft.label;
  if (draft.label === NEW_LABEL_CHOICE && label === "") {
    return { errors: { label: "Name the new label, or choose one from the list." } };
  }
  const declared = declarationsOf(draft);
  if (declared.errors) return { errors: declared.errors };
  return {
    input: {
      prompt: contentOf(draft),
      config,
      commitMessage: draft.commitMessage.trim() || undefined,
      labels: label ? [label] : undefined,
      variables: Object.keys(declared.variables).length ? declared.variables : undefined,
    },
  };
}

/**
 * The declarations of the variables the template still uses (a renamed variable's old fields are
 * dropped, as the domain refuses a declaration the template does not use). A default is read as
 * its type says; the type and description themselves are checked by the API's schema.
 */
function declarationsOf(
  draft: VersionDraft,
):
  | { variables: Record<string, VariableDeclaration>; errors?: undefined }
  | { errors: FieldErrors } {
  const used = variablesOfDraft(draft).variables.map((v) => v.name);
  const variables: Record<string, VariableDeclaration> = {};
  const errors: FieldErrors = {};
  for (const name of used) {
    const typed = draft.variables[name];
    if (!typed) continue;
    const declaration: VariableDeclaration = {};
    if (typed.type !== "any") declaration.type = typed.type as VariableDeclaration["type"];
    if (typed.description.trim()) declaration.description = typed.description.trim();
    if (typed.default !== "") {
      const value = defaultOf(typed.type, typed.default);
      if ("error" in value) errors[variableField(name, "default")] = value.error;
      else declaration.default = value.value;
    }
    if (Object.keys(declaration).length) variables[name] = declaration;
  }
  return Object.keys(errors).length ? { errors } : { variables };
}

function defaultOf(type: string, raw: string): { value: unknown } | { error: string } {
  if (type === "string") return { value: raw };
  if (type === "number") {
    const number = Number(raw.trim());
    return raw.trim() !== "" && Number.isFinite(number)
      ? { value: number }
      : { error: "Write a number, e.g. 3 or 0.5." };
  }
  if (type === "boolean") {
    if (raw.trim() === "true" || raw.trim() === "false") return { value: raw.trim() === "true" };
    return { error: "Write true or false." };
  }
  try {
    const value: unknown = JSON.parse(raw);
    if (type === "list" && !Array.isArray(value))
      return { error: 'Write a JSON list, e.g. ["a", "b"].' };
    if (
      type === "object" &&
      (value === null || typeof value !== "object" || Array.isArray(value))
    ) {
      return { error: 'Write a JSON object, e.g. {"plan": "pro"}.' };
    }
    return { value };
  } catch {
    // An untyped default that is not JSON is text, as the preview reads values.
    if (type === "any") return { value: raw };
    return {
      error:
        type === "list"
          ? 'Write a JSON list, e.g. ["a", "b"].'
          : 'Write a JSON object, e.g. {"plan": "pro"}.',
    };
  }
}

/** The variables the template uses, with the domain's own rules, or why it does not parse. */
export function variablesOfDraft(draft: VersionDraft): {
  variables: VariableSpec[];
  error?: string;
} {
  try {
    return { variables: deriveVariables(contentOf(draft)) };
  } catch (error) {
    if (error instanceof TemplateError) {
      const where = error.messageIndex !== undefined ? `Message ${error.messageIndex + 1}: ` : "";
      return { variables: [], error: `${where}${error.message}` };
    }
    throw error;
  }
}

/** The roles the editor offers a message: the usual ones, and the message's own if it is another. */
export function chatRoleOptions(role: string): string[] {
  return role === "" || (CHAT_ROLES as readonly string[]).includes(role)
    ? [...CHAT_ROLES]
    : [...CHAT_ROLES, role];
}

export function isProblem(error: unknown): error is ProblemError {
  return error instanceof ProblemError;
}
