import { VERSION_MAX } from "@cuecard/core/limits";
import { DEFAULT_LABEL, labelProblem, promptNameProblem } from "@cuecard/core/names";
import { type FieldError, ProblemError } from "@cuecard/core/problem";

/**
 * Request rules of the edge, checked with the shared patterns directly: the same rules as the
 * zod schemas in shared/schemas.ts, without zod's cost on the hot path or in the bundle.
 */

const VERSION_PATTERN = /^[1-9][0-9]{0,9}$/;

// The shared rules (core/names.ts); the edge's document says how to put a name in a URL.
export { labelProblem, promptNameProblem };

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
