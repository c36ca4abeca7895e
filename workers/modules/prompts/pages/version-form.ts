import { CHAT_MESSAGES_MAX } from "@cuecard/core/limits";
import { ProblemError } from "@cuecard/core/problem";
import {
  CHAT_ROLES,
  type ChatMessage,
  type PromptContent,
  type PromptType,
  type VariableSpec,
} from "@cuecard/core/prompt";
import { deriveVariables, TemplateError } from "@cuecard/core/template";
import type { Untrusted } from "../../../platform/fields";
import type { VersionInput } from "../schemas";

/**
 * The version editor's form, as typed: kept verbatim so a refused save re-renders exactly what
 * the author wrote. Validation is the API's own schema and the domain's own checks; this file
 * only translates between form fields and the API's field paths.
 */
export interface VersionDraft {
  type: PromptType;
  text: string;
  messages: { role: string; content: string }[];
  config: string;
  commitMessage: string;
  label: string;
}

/** Form field name → message; `form` holds what belongs to no single field. */
export type FieldErrors = Record<string, string>;

type FormBody = Record<string, string | File | (string | File)[]>;

function text(body: FormBody, name: string): string {
  const value = body[name];
  return typeof value === "string" ? value : "";
}

export function draftFromVersion(
  type: PromptType,
  version?: { prompt: PromptContent; config: Record<string, unknown> },
): VersionDraft {
  const prompt = version?.prompt;
  return {
    type,
    text: typeof prompt === "string" ? prompt : "",
    messages:
      prompt && typeof prompt !== "string"
        ? prompt.map((message) => ({ ...message }))
        : [
            { role: "system", content: "" },
            { role: "user", content: "" },
          ],
    config: JSON.stringify(version?.config ?? {}, null, 2),
    commitMessage: "",
    label: "",
  };
}

export function draftFromForm(body: FormBody, type: PromptType): VersionDraft {
  const messages: { role: string; content: string }[] = [];
  const count = Number(text(body, "messageCount")) || 0;
  for (let index = 0; index < Math.min(count, CHAT_MESSAGES_MAX); index++) {
    messages.push({
      role: text(body, `messages.${index}.role`),
      content: text(body, `messages.${index}.content`),
    });
  }
  return {
    type,
    // Browsers submit textarea line breaks as CRLF; templates are stored with LF.
    text: text(body, "prompt").replaceAll("\r\n", "\n"),
    messages: messages.map((m) => ({ ...m, content: m.content.replaceAll("\r\n", "\n") })),
    config: text(body, "config"),
    commitMessage: text(body, "commitMessage"),
    label: text(body, "label").trim(),
  };
}

/**
 * Add/remove message buttons submit the form with an `intent`; the page re-renders with the
 * change and nothing is saved, so the editor works without JavaScript.
 */
export function applyIntent(draft: VersionDraft, intent: string): boolean {
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
  return draft.type === "text" ? draft.text : (draft.messages as ChatMessage[]);
}

/**
 * The API's field path (`body.prompt.1.content`, or `body.version.prompt.1.content` when the
 * version comes with a new prompt) → the editor's field name.
 */
export function formFieldOf(apiField: string, type: PromptType): string {
  const path = apiField.replace(/^body\./, "").replace(/^version\./, "");
  const message = /^prompt\.(\d+)\.(role|content)/.exec(path);
  if (message) return `messages.${message[1]}.${message[2]}`;
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
  return {
    input: {
      prompt: contentOf(draft),
      config,
      commitMessage: draft.commitMessage.trim() || undefined,
      labels: draft.label ? [draft.label] : undefined,
    },
  };
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

export const CHAT_ROLE_OPTIONS = CHAT_ROLES;

export function isProblem(error: unknown): error is ProblemError {
  return error instanceof ProblemError;
}
