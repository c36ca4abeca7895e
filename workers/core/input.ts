import { JSON_BODY_MAX_DEPTH } from "./limits";
import type { FieldError } from "./problem";

/**
 * Rules every user input meets before any route looks at it, shared by both workers and the UI
 * (zod-free, so the edge stays small): path segments decode, strings are well-formed Unicode,
 * JSON nests within a bound. Each check walks without recursion, so no input exhausts the stack.
 */

/** One percent-encoded path segment, decoded; undefined when its escapes are not UTF-8. */
export function decodePathSegment(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

export const PATH_SEGMENT_RULE =
  "is not valid percent-encoding: escape each byte of its UTF-8 as %XX, e.g. support%2Ftriage";

// With the u flag, a surrogate pair is one code point: only lone surrogates match.
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Why `text` is not well-formed Unicode, or undefined. A lone surrogate cannot be stored or
 * sent as UTF-8: it would be silently replaced by U+FFFD, so what was acknowledged is not what
 * is kept.
 */
export function wellFormedProblem(text: string): string | undefined {
  const match = LONE_SURROGATE.exec(text);
  if (!match) return undefined;
  const code = text.charCodeAt(match.index).toString(16);
  return `contains a lone UTF-16 surrogate (\\u${code} at position ${match.index}); send well-formed Unicode text`;
}

/** More problems than this in one body are not listed: the first ones say what to fix. */
const MAX_REPORTED = 20;

/**
 * Problems of a parsed JSON value: strings or object keys that are not well-formed Unicode, and
 * nesting deeper than `maxDepth` objects/arrays (the value itself counts as level 1). Fields are
 * named as dotted paths under `part`, e.g. `body.config.tools.0`.
 */
export function jsonInputProblems(
  value: unknown,
  part: string,
  maxDepth: number = JSON_BODY_MAX_DEPTH,
): FieldError[] {
  const problems: FieldError[] = [];
  const stack: { value: unknown; path: string; depth: number }[] = [
    { value, path: part, depth: 0 },
  ];
  while (stack.length > 0 && problems.length < MAX_REPORTED) {
    const item = stack.pop() as (typeof stack)[number];
    if (typeof item.value === "string") {
      const problem = wellFormedProblem(item.value);
      if (problem) problems.push({ field: item.path, message: problem });
      continue;
    }
    if (item.value === null || typeof item.value !== "object") continue;
    const depth = item.depth + 1;
    if (depth > maxDepth) {
      problems.push({
        field: item.path,
        message: `is nested more than ${maxDepth} levels deep; flatten it`,
      });
      continue;
    }
    const entries = Array.isArray(item.value)
      ? item.value.map((child, index) => [String(index), child] as const)
      : Object.entries(item.value);
    // Pushed in reverse so problems are reported in document order.
    for (let index = entries.length - 1; index >= 0; index -= 1) {
      const [key, child] = entries[index] as readonly [string, unknown];
      const keyProblem = wellFormedProblem(key);
      const path = `${item.path}.${keyProblem ? JSON.stringify(key) : key}`;
      if (keyProblem) problems.push({ field: path, message: `its name ${keyProblem}` });
      else stack.push({ value: child, path, depth });
    }
  }
  return problems.slice(0, MAX_REPORTED);
}
