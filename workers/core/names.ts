/**
 * Naming rules shared by the admin API, the edge and the SDK (zod-free, so the edge and the SDK
 * stay small; the zod schemas built on these rules are in schemas.ts). They are strict on purpose:
 * a prompt name becomes part of a KV key and of URLs, so anything ambiguous (`..`, `a//b`,
 * upper case that could collide with lower case) is refused instead of normalised.
 */

const NAME_SEGMENT = "[a-z0-9](?:[a-z0-9._-]*[a-z0-9_-])?";
export const PROMPT_NAME_PATTERN = new RegExp(`^${NAME_SEGMENT}(?:/${NAME_SEGMENT})*$`);
export const PROMPT_NAME_RULE =
  "use lower-case segments of a-z, 0-9, '.', '_' or '-' separated by single '/', e.g. support/triage";

export const LABEL_PATTERN = /^[a-z0-9_-]+$/;
export const LABEL_RULE = "use only a-z, 0-9, '_' and '-', e.g. production";
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
