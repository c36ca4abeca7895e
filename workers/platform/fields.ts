import { ALLOWED_ORIGINS_MAX, VARIABLE_DESCRIPTION_MAX, VERSION_MAX } from "@cuecard/core/limits";
// zod from @hono/zod-openapi: zod 4 attaches methods when a schema is built, so schemas must be
// built after the OpenAPI extension is installed for `.openapi()` to exist on them.

import { CHAT_MESSAGES_MAX, LABEL_MAX, PROJECT_MAX, PROMPT_NAME_MAX } from "@cuecard/core/limits";
import {
  LABEL_PATTERN,
  LABEL_RULE,
  LATEST_LABEL,
  PROJECT_PATTERN,
  PROMPT_NAME_PATTERN,
  PROMPT_NAME_RULE,
  variableNameProblem,
} from "@cuecard/core/names";
import { normalizeOriginPattern } from "@cuecard/core/origins";
import { fieldErrors, ProblemError } from "@cuecard/core/problem";
import { CHAT_ROLES, VARIABLE_TYPES } from "@cuecard/core/prompt";
import { z } from "@hono/zod-openapi";

/**
 * zod schemas for the control plane, built on the zod-free rules in names.ts and prompt.ts.
 * The edge worker and the SDK do not import this module, which keeps zod out of their bundles.
 */

export const promptName = z
  .string()
  .min(1, "must not be empty")
  .max(PROMPT_NAME_MAX, `must be at most ${PROMPT_NAME_MAX} characters`)
  .regex(PROMPT_NAME_PATTERN, PROMPT_NAME_RULE);

export const labelName = z
  .string()
  .min(1, "must not be empty")
  .max(LABEL_MAX, `must be at most ${LABEL_MAX} characters`)
  .regex(LABEL_PATTERN, LABEL_RULE);

/** A label that may be set or deleted by a user: any valid label but `latest`. */
export const settableLabelName = labelName.refine((label) => label !== LATEST_LABEL, {
  message: `'${LATEST_LABEL}' is reserved: it moves to each new version by itself`,
});

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

export const chatMessage = z.strictObject({
  role: z.enum(CHAT_ROLES, { message: `role must be one of ${CHAT_ROLES.join(", ")}` }),
  content: z.string(),
});

export const promptContent = z.union([
  z.string(),
  z.array(chatMessage).min(1, "a chat prompt needs at least one message").max(CHAT_MESSAGES_MAX),
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
