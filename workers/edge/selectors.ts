import { LABEL_MAX, PROMPT_NAME_MAX, VERSION_MAX } from "@cuecard/core/limits";
import {
  DEFAULT_LABEL,
  LABEL_PATTERN,
  LABEL_RULE,
  PROMPT_NAME_PATTERN,
  PROMPT_NAME_RULE,
} from "@cuecard/core/names";
import { type FieldError, ProblemError } from "@cuecard/core/problem";

/**
 * Request rules of the edge, checked with the shared patterns directly: the same rules as the
 * zod schemas in shared/schemas.ts, without zod's cost on the hot path or in the bundle.
 */

// In a URL path the name is one segment, so the edge adds how to encode the '/'.
const NAME_RULE = `${PROMPT_NAME_RULE} (URL-encoded as support%2Ftriage)`;
const VERSION_PATTERN = /^[1-9][0-9]{0,9}$/;

export function promptNameProblem(name: string): string | undefined {
  if (name.length === 0) return "must not be empty";
  if (name.length > PROMPT_NAME_MAX) return `must be at most ${PROMPT_NAME_MAX} characters`;
  return PROMPT_NAME_PATTERN.test(name) ? undefined : NAME_RULE;
}

export function labelProblem(label: string): string | undefined {
  if (label.length === 0) return "must not be empty";
  if (label.length > LABEL_MAX) return `must be at most ${LABEL_MAX} characters`;
  return LABEL_PATTERN.test(label) ? undefined : LABEL_RULE;
}

export function validationFailed(errors: FieldError[]): ProblemError {
  const detail = errors.map((error) => `${error.field} ${error.message}`).join("; ");
  return new ProblemError("validation_failed", detail, { errors });
}

export function checkPromptName(name: string, field = "path.name"): string {
  const problem = promptNameProblem(name);
  if (problem) throw validationFailed([{ field, message: problem }]);
  return name;
}

/** Which version to serve: a label (default `production`) or a pinned version, never both. */
export type Selector =
  | { label: string; version?: undefined }
  | { label?: undefined; version: number };

export const DEFAULT_SELECTOR: Selector = { label: DEFAULT_LABEL };

export function parseSelector(label: unknown, version: unknown, part: "query" | "body"): Selector {
  if (label !== undefined && version !== undefined) {
    throw validationFailed([
      { field: `${part}.version`, message: "give either label or version, not both" },
    ]);
  }
  if (version !== undefined) {
    const text = typeof version === "number" ? String(version) : version;
    if (typeof text !== "string" || !VERSION_PATTERN.test(text) || Number(text) > VERSION_MAX) {
      throw validationFailed([
        { field: `${part}.version`, message: "must be a whole number from 1, e.g. 3" },
      ]);
    }
    return { version: Number(text) };
  }
  if (label === undefined) return DEFAULT_SELECTOR;
  const problem = typeof label === "string" ? labelProblem(label) : "must be a string";
  if (problem) throw validationFailed([{ field: `${part}.label`, message: problem }]);
  return { label: label as string };
}
