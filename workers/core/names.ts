import { LABEL_MAX, NEW_LABEL_MAX, PLACEHOLDER_NAME_MAX, PROMPT_NAME_MAX } from "./limits";

/**
 * Naming rules shared by the admin API, the edge, the telemetry worker and the SDK (zod-free, so
 * the edge and the SDK stay small; the zod schemas built on these rules are in
 * platform/fields.ts). Every check of a name or a label goes through `promptNameProblem` /
 * `labelProblem` here, so the rule lives once.
 *
 * Names are as wide as Langfuse's in practice (upper case, spaces, `/` as folders) but keep to
 * characters that are safe in every place a name goes: a KV key (`@` and `#` separate the name
 * from the label or version there, so they are refused), one URL path segment (always
 * encodeURIComponent'ed), the edge's comma-separated batch list (no `,`), and Langfuse's prompt
 * references (`|` separates their fields). A segment starts with a letter or digit, so `.` and
 * `..` can never be a segment, and cannot end in `.` or a space (invisible, easily mistyped).
 * Names are case-sensitive, as in Langfuse: `Support` and `support` are two prompts.
 */

const NAME_SEGMENT = "[A-Za-z0-9](?:[A-Za-z0-9 ._-]*[A-Za-z0-9_-])?";
export const PROMPT_NAME_PATTERN = new RegExp(`^${NAME_SEGMENT}(?:/${NAME_SEGMENT})*$`);
// One message for every refusal: the edge serves it too, and its bundle is counted in bytes.
export const PROMPT_NAME_RULE =
  "use letters, digits, spaces, '.', '_', '-' and '/' between folders (no '|'), e.g. support/Triage bot";

/** What is wrong with a prompt name, or undefined when it is valid. */
export function promptNameProblem(name: string): string | undefined {
  if (name.length === 0) return "must not be empty";
  if (name.length > PROMPT_NAME_MAX) return `must be at most ${PROMPT_NAME_MAX} characters`;
  return PROMPT_NAME_PATTERN.test(name) ? undefined : PROMPT_NAME_RULE;
}

// `.` and `..` alone would be resolved away as URL path segments, even percent-encoded.
export const LABEL_PATTERN = /^(?!\.\.?$)[a-z0-9_.-]+$/;
export const LABEL_RULE = "use a-z, 0-9, '_', '-' and '.', e.g. production";

/**
 * What is wrong with a label, or undefined. Labels are read up to LABEL_MAX characters, so a
 * label made before the limit for new ones (NEW_LABEL_MAX, Langfuse's) stays readable.
 */
export function labelProblem(label: string, max: number = LABEL_MAX): string | undefined {
  if (label.length === 0) return "must not be empty";
  if (label.length > max) return `must be at most ${max} characters`;
  return LABEL_PATTERN.test(label) ? undefined : LABEL_RULE;
}

/** A label being set on a version: the stricter length of labels made from now on. */
export function newLabelProblem(label: string): string | undefined {
  return labelProblem(label, NEW_LABEL_MAX);
}

/** Chat placeholders (`{type: "placeholder", name}`): Langfuse's rule for their names. */
export const PLACEHOLDER_NAME_PATTERN = /^[a-zA-Z][a-zA-Z0-9_]*$/;
export const PLACEHOLDER_NAME_RULE =
  "start with a letter and use letters, digits and '_', e.g. history";

export function placeholderNameProblem(name: string): string | undefined {
  if (name.length === 0) return "must not be empty";
  if (name.length > PLACEHOLDER_NAME_MAX)
    return `must be at most ${PLACEHOLDER_NAME_MAX} characters`;
  return PLACEHOLDER_NAME_PATTERN.test(name) ? undefined : PLACEHOLDER_NAME_RULE;
}

/** Moves by itself to every new version; it can be read but never set by hand. */
export const LATEST_LABEL = "latest";
export const DEFAULT_LABEL = "production";

export const PROJECT_PATTERN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

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
