import { z } from "zod";

/**
 * Naming rules shared by the admin API, the edge and the SDK. They are strict on purpose:
 * a prompt name becomes part of a KV key and of URLs, so anything ambiguous (`..`, `a//b`,
 * upper case that could collide with lower case) is refused instead of normalised.
 */

const NAME_SEGMENT = "[a-z0-9](?:[a-z0-9._-]*[a-z0-9_-])?";
export const PROMPT_NAME_PATTERN = new RegExp(`^${NAME_SEGMENT}(?:/${NAME_SEGMENT})*$`);
export const PROMPT_NAME_MAX = 128;

export const promptName = z
  .string()
  .min(1, "must not be empty")
  .max(PROMPT_NAME_MAX, `must be at most ${PROMPT_NAME_MAX} characters`)
  .regex(
    PROMPT_NAME_PATTERN,
    "use lower-case segments of a-z, 0-9, '.', '_' or '-' separated by single '/', e.g. support/triage",
  );

export const LABEL_PATTERN = /^[a-z0-9_-]+$/;
export const LABEL_MAX = 64;
/** Moves by itself to every new version; it can be read but never set by hand. */
export const LATEST_LABEL = "latest";
export const DEFAULT_LABEL = "production";

export const labelName = z
  .string()
  .min(1, "must not be empty")
  .max(LABEL_MAX, `must be at most ${LABEL_MAX} characters`)
  .regex(LABEL_PATTERN, "use only a-z, 0-9, '_' and '-', e.g. production");

/** A label that may be set or deleted by a user: any valid label but `latest`. */
export const settableLabelName = labelName.refine((label) => label !== LATEST_LABEL, {
  message: `'${LATEST_LABEL}' is reserved: it moves to each new version by itself`,
});

export const PROJECT_PATTERN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
export const projectSlug = z
  .string()
  .min(1, "must not be empty")
  .max(64, "must be at most 64 characters")
  .regex(PROJECT_PATTERN, "use a-z, 0-9 and inner '-', e.g. my-app");

/** Variable names: identifiers that are safe as object keys (no prototype keys). */
export const VARIABLE_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const RESERVED_VARIABLES = new Set(["__proto__", "constructor", "prototype"]);

export function variableNameProblem(name: string): string | undefined {
  if (!VARIABLE_PATTERN.test(name)) {
    return `'${name}' is not a valid variable name: start with a letter or '_' and use letters, digits and '_'`;
  }
  if (RESERVED_VARIABLES.has(name)) return `'${name}' is reserved and cannot be a variable name`;
  return undefined;
}

export const variableName = z.string().superRefine((name, ctx) => {
  const problem = variableNameProblem(name);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

export const versionNumber = z.coerce
  .number()
  .int("must be a whole number")
  .min(1, "versions start at 1")
  .max(2_147_483_647, "is too large");
