import { ALLOWED_ORIGINS_MAX, VARIABLE_DESCRIPTION_MAX, VERSION_MAX } from "@cuecard/core/limits";
// zod from @hono/zod-openapi: zod 4 attaches methods when a schema is built, so schemas must be
// built after the OpenAPI extension is installed for `.openapi()` to exist on them.

import {
  CHAT_MESSAGES_MAX,
  CHAT_ROLE_MAX,
  LABEL_MAX,
  NEW_LABEL_MAX,
  PLACEHOLDER_NAME_MAX,
  PROJECT_MAX,
  PROMPT_NAME_MAX,
} from "@cuecard/core/limits";
import {
  LABEL_PATTERN,
  LATEST_LABEL,
  labelProblem,
  newLabelProblem,
  PLACEHOLDER_NAME_PATTERN,
  PROJECT_PATTERN,
  PROMPT_NAME_PATTERN,
  placeholderNameProblem,
  promptNameProblem,
  variableNameProblem,
} from "@cuecard/core/names";
import { normalizeOriginPattern } from "@cuecard/core/origins";
import { fieldErrors, ProblemError } from "@cuecard/core/problem";
import { VARIABLE_TYPES } from "@cuecard/core/prompt";
import { z } from "@hono/zod-openapi";

/**
 * zod schemas for the control plane, built on the zod-free rules in names.ts and prompt.ts.
 * The edge worker and the SDK do not import this module, which keeps zod out of their bundles.
 */

/** A string checked by one of the rules of core/names.ts, with the rule's own message. */
function ruled(problemOf: (value: string) => string | undefined) {
  return z.string().superRefine((value, ctx) => {
    const problem = problemOf(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
}

export const promptName = ruled(promptNameProblem).openapi({
  minLength: 1,
  maxLength: PROMPT_NAME_MAX,
  pattern: PROMPT_NAME_PATTERN.source,
});

/** Any label that may exist: what is read, filtered on and deleted. */
export const labelName = ruled(labelProblem).openapi({
  minLength: 1,
  maxLength: LABEL_MAX,
  pattern: LABEL_PATTERN.source,
});

/** A label a user may set: a new label's rules, and never `latest`. */
export const settableLabelName = ruled((label) =>
  label === LATEST_LABEL
    ? `'${LATEST_LABEL}' is reserved: it moves to each new version by itself`
    : newLabelProblem(label),
).openapi({ minLength: 1, maxLength: NEW_LABEL_MAX, pattern: LABEL_PATTERN.source });

export const projectSlug = z
  .string()
  .min(1, "must not be empty")
  .max(PROJECT_MAX, `must be at most ${PROJECT_MAX} characters`)
  .regex(PROJECT_PATTERN, "use a-z, 0-9 and inner '-', e.g. my-app");

export const variableName = z.string().superRefine((name, ctx) => {
  const problem = variableNameProblem(name);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** A version number in a path, query or form field: text, so it is converted. */
export const versionNumber = z.coerce
  .number()
  .int("must be a whole number")
  .min(1, "versions start at 1")
  .max(VERSION_MAX, "is too large");

/** A version number in a JSON body: a number, never coerced (so `true` or `[3]` are refused). */
export const jsonVersionNumber = z
  .number({ message: "must be a number, e.g. 2" })
  .int("must be a whole number")
  .min(1, "versions start at 1")
  .max(VERSION_MAX, "is too large");

/**
 * A chat message: any role (as in Langfuse), its content a template. `type: "chatmessage"` is
 * what Langfuse's SDK adds to every message it sends; it is accepted and not stored.
 */
export const chatMessage = z
  .strictObject({
    type: z.literal("chatmessage").optional(),
    role: z
      .string()
      .min(1, "must not be empty")
      .max(CHAT_ROLE_MAX, `must be at most ${CHAT_ROLE_MAX} characters`),
    content: z.string(),
  })
  .transform(({ role, content }) => ({ role, content }));

/** Stands for messages the app gives at compile time (a conversation's history). */
export const chatPlaceholder = z.strictObject({
  type: z.literal("placeholder"),
  name: ruled(placeholderNameProblem).openapi({
    maxLength: PLACEHOLDER_NAME_MAX,
    pattern: PLACEHOLDER_NAME_PATTERN.source,
  }),
});

/**
 * Either, told apart by `type` first, so a refusal names the fields of the one meant (a plain
 * union would answer only "invalid input").
 */
export const chatItem = z.discriminatedUnion("type", [chatPlaceholder, chatMessage], {
  message: "type must be 'placeholder', or 'chatmessage' or absent for a message",
});

export const promptContent = z.union([
  z.string(),
  z.array(chatItem).min(1, "a chat prompt needs at least one message").max(CHAT_MESSAGES_MAX),
]);

export const variableDeclaration = z.strictObject({
  type: z.enum(VARIABLE_TYPES).optional(),
  required: z.boolean().optional(),
  default: z.unknown().optional(),
  description: z.string().max(VARIABLE_DESCRIPTION_MAX).optional(),
});

export const variableDeclarations = z.record(variableName, variableDeclaration);

/** A browser origin pattern (`core/origins.ts`), stored in its normalized form. */
export const originPattern = z
  .string()
  .transform((text, ctx) => {
    const result = normalizeOriginPattern(text);
    if ("problem" in result) {
      ctx.addIssue({ code: "custom", message: result.problem });
      return z.NEVER;
    }
    return result.pattern;
  })
  .openapi({ example: "http://localhost:*" });

/** A list of origin patterns, duplicates (after normalizing) dropped. */
export const originPatterns = z
  .array(originPattern)
  .max(ALLOWED_ORIGINS_MAX, `list at most ${ALLOWED_ORIGINS_MAX} origins`)
  .transform((patterns) => [...new Set(patterns)]);

/** Model parameters: any JSON object (model, temperature, tools…), capped in size. */
export const modelConfig = z.record(z.string(), z.unknown());

/**
 * A verb's input checked with the schema its API route declares, so every caller (a route, a UI
 * form) gets the same rules and the same 422 listing each bad field (`body.<field>`).
 */
export function validInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ProblemError("validation_failed", "Some fields are not valid; see errors.", {
      errors: fieldErrors("body", result.error.issues),
    });
  }
  return result.data;
}

/** A verb's input as an untrusted caller (a posted form) gives it: the fields, any values. */
export type Untrusted<S extends z.ZodType> = { [K in keyof z.input<S>]?: unknown };
