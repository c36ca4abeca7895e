import Mustache from "mustache";
import { RESERVED_VARIABLES, variableNameProblem } from "./names";
import {
  type ChatItem,
  type ChatMessage,
  isPlaceholder,
  type PromptContent,
  placeholdersOf,
  type VariableDeclaration,
  type VariableSpec,
} from "./prompt";

/**
 * Mustache templates (`{{customer}}`, `{{#vip}}…{{/vip}}`), parsed and rendered by the `mustache`
 * library. Rendering never HTML-escapes: prompts are not HTML.
 *
 * Which names count as variables of a version:
 * - every tag outside a section, and every section name, is a top-level variable (required
 *   unless declared otherwise or given a default);
 * - tags inside a `{{#section}}` may name a field of the section's item or a top-level value, so
 *   they are optional variables: they may be given, and are never reported as missing.
 * Chat placeholders are not variables: they are filled with messages (`placeholders`), and
 * the messages filled in are data, never rendered as templates.
 */

// The library memoises every template it parses in an unbounded map; an edge isolate serving
// many prompts must not grow without bound, so parsing is not cached here.
Mustache.templateCache = undefined;

export const MAX_SECTION_DEPTH = 16;

export class TemplateError extends Error {
  constructor(
    message: string,
    /** Index of the chat message the error is in, when the prompt is a chat. */
    readonly messageIndex?: number,
  ) {
    super(message);
    this.name = "TemplateError";
  }
}

type Token = [string, string, number, number, Token[]?, number?];

interface FoundVariables {
  required: Set<string>;
  optional: Set<string>;
}

function rootOf(name: string): string {
  const dot = name.indexOf(".");
  return dot === -1 ? name : name.slice(0, dot);
}

function collect(tokens: Token[], inSection: boolean, depth: number, found: FoundVariables) {
  if (depth > MAX_SECTION_DEPTH) {
    throw new TemplateError(`sections are nested more than ${MAX_SECTION_DEPTH} deep`);
  }
  for (const token of tokens) {
    const [kind, value] = token;
    if (kind === "text" || kind === "!" || kind === "=") continue;
    if (kind === ">") {
      throw new TemplateError(
        `partials ({{>${value}}}) are not supported; inline the text instead`,
      );
    }
    if (value === ".") {
      if (!inSection) throw new TemplateError("{{.}} is only meaningful inside a section");
      if (kind === "#" || kind === "^") collect(token[4] ?? [], true, depth + 1, found);
      continue;
    }
    const name = rootOf(value);
    const problem = variableNameProblem(name);
    if (problem) throw new TemplateError(problem);
    (inSection ? found.optional : found.required).add(name);
    if (kind === "#") collect(token[4] ?? [], true, depth + 1, found);
    else if (kind === "^") collect(token[4] ?? [], inSection, depth + 1, found);
  }
}

function parse(template: string): Token[] {
  try {
    return Mustache.parse(template) as unknown as Token[];
  } catch (error) {
    throw new TemplateError(
      `template does not parse: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/**
 * The variables a prompt uses, merged with what the author declared. Throws TemplateError for a
 * template that does not parse or uses an unsupported or unsafe construct.
 */
export function deriveVariables(
  content: PromptContent,
  declared: Record<string, VariableDeclaration> = {},
): VariableSpec[] {
  const found: FoundVariables = { required: new Set(), optional: new Set() };
  const items: (string | ChatItem)[] = typeof content === "string" ? [content] : content;
  items.forEach((item, index) => {
    if (typeof item !== "string" && isPlaceholder(item)) return;
    try {
      collect(parse(typeof item === "string" ? item : item.content), false, 0, found);
    } catch (error) {
      if (error instanceof TemplateError && typeof content !== "string") {
        throw new TemplateError(error.message, index);
      }
      throw error;
    }
  });
  for (const name of found.required) found.optional.delete(name);

  const specs: VariableSpec[] = [];
  const names = [...found.required, ...found.optional];
  for (const name of Object.keys(declared)) {
    if (!names.includes(name)) {
      throw new TemplateError(`variable '${name}' is declared but not used by the template`);
    }
  }
  for (const name of names) {
    const declaration = declared[name] ?? {};
    const spec: VariableSpec = {
      name,
      type: declaration.type ?? "any",
      required:
        declaration.default === undefined && (declaration.required ?? found.required.has(name)),
    };
    if (declaration.default !== undefined) spec.default = declaration.default;
    if (declaration.description !== undefined) spec.description = declaration.description;
    specs.push(spec);
  }
  return specs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export interface RenderProblems {
  missing: string[];
  unknown: string[];
  /** Placeholders left unfilled where a render must fill them all (the edge's render). */
  missingPlaceholders?: string[];
  /** Placeholders given that the prompt does not have. */
  unknownPlaceholders?: string[];
  /** Placeholders given something other than a list of `{role, content}` messages. */
  invalidPlaceholders?: string[];
}

const PROBLEM_WORDS: [keyof RenderProblems, string][] = [
  ["missing", "missing variables"],
  ["unknown", "unknown variables"],
  ["missingPlaceholders", "unfilled placeholders"],
  ["unknownPlaceholders", "unknown placeholders"],
  ["invalidPlaceholders", "placeholders not given messages"],
];

export class RenderError extends Error {
  constructor(
    readonly problems: RenderProblems,
    message?: string,
  ) {
    const parts: string[] = [];
    for (const [key, what] of PROBLEM_WORDS) {
      const names = problems[key];
      if (names?.length) parts.push(`${what}: ${names.join(", ")}`);
    }
    super(message ?? parts.join("; "));
    this.name = "RenderError";
  }
}

/**
 * A render refused for its size (see RENDER_LIMITS). A RenderError, so every caller that already
 * refuses a render on RenderError refuses this one too; `variable` names the culprit if known.
 */
export class RenderLimitError extends RenderError {
  constructor(
    message: string,
    readonly variable?: string,
  ) {
    super({ missing: [], unknown: [] }, message);
    this.name = "RenderLimitError";
  }
}

/**
 * A section repeats its body per list item, and nested sections multiply: a small body can
 * render gigabytes and take an isolate down. Checked before rendering (arrays, depth) and
 * while rendering (output, steps), so a refusal comes before the memory is spent.
 */
export const RENDER_LIMITS = {
  /** Array elements in one variable, nested arrays included. */
  arrayElements: 1_000,
  /** Nesting of arrays/objects in one variable. */
  depth: 8,
  /** Rendered characters (UTF-16 code units), all chat messages together. */
  outputChars: 256 * 1024,
  /** Tokens visited: bounds sections nested over lists that render nothing. */
  steps: 100_000,
} as const;

function checkValue(name: string, value: unknown, depth: number, count: { elements: number }) {
  if (value === null || typeof value !== "object") return;
  if (depth >= RENDER_LIMITS.depth) {
    throw new RenderLimitError(
      `variable '${name}' is nested more than ${RENDER_LIMITS.depth} levels deep`,
      name,
    );
  }
  if (Array.isArray(value)) {
    count.elements += value.length;
    if (count.elements > RENDER_LIMITS.arrayElements) {
      throw new RenderLimitError(
        `variable '${name}' holds more than ${RENDER_LIMITS.arrayElements} list items`,
        name,
      );
    }
  }
  for (const item of Array.isArray(value) ? value : Object.values(value)) {
    checkValue(name, item, depth + 1, count);
  }
}

/** Refuses, naming the variable, a value over the array or depth limit. */
export function checkRenderLimits(view: Record<string, unknown>): void {
  for (const name in view) checkValue(name, view[name], 0, { elements: 0 });
}

/** The values a render uses: given values over declared defaults; refuses missing and unknown. */
export function resolveVariables(
  specs: VariableSpec[],
  given: Record<string, unknown>,
): Record<string, unknown> {
  const known = new Map(specs.map((spec) => [spec.name, spec]));
  const unknown = Object.keys(given).filter(
    (name) => !known.has(name) || RESERVED_VARIABLES.has(name),
  );
  const missing = specs
    .filter((spec) => spec.required && given[spec.name] === undefined)
    .map((spec) => spec.name);
  if (missing.length || unknown.length) throw new RenderError({ missing, unknown });

  // A null-prototype view: a given `__proto__` can never reach Object.prototype.
  const view: Record<string, unknown> = Object.create(null);
  for (const spec of specs) {
    const value = given[spec.name] ?? spec.default;
    if (value !== undefined) view[spec.name] = value;
  }
  return view;
}

const noEscape = { escape: (value: unknown) => String(value) };

/** A name's value in one view, looking only at own fields (`a.b.c` walks own fields too). */
function ownValue(view: unknown, name: string): { hit: boolean; value?: unknown } {
  const names = name.indexOf(".") > 0 ? name.split(".") : [name];
  let value = view;
  for (const [index, key] of names.entries()) {
    // Mustache reads a primitive's own fields (a string's length) only through a dotted name.
    const readable = typeof value === "object" ? value !== null : names.length > 1 && value != null;
    if (!readable || !Object.hasOwn(Object(value), key)) return { hit: false };
    value = (value as Record<string, unknown>)[key];
    if (index < names.length - 1 && value == null) return { hit: false };
  }
  return { hit: true, value };
}

/**
 * Variables are data. Mustache's own lookup also finds inherited members and calls functions:
 * `{{#rows}}{{pop}}{{/rows}}` called `Array.prototype.pop` on each row, emptying the caller's
 * lists, including defaults a cache shares across renders. Here a tag sees only own fields and
 * nothing is ever called, so a render can never change its inputs.
 */
class DataContext extends Mustache.Context {
  override push(view: unknown): Mustache.Context {
    return new DataContext(view, this);
  }

  override lookup(name: string): unknown {
    if (name === ".") return typeof this.view === "function" ? undefined : this.view;
    for (let context: Mustache.Context | undefined = this; context; context = context.parent) {
      const found = ownValue(context.view, name);
      if (found.hit) return typeof found.value === "function" ? undefined : found.value;
    }
    return undefined;
  }
}

type RenderArgs = Parameters<Mustache.Writer["renderTokens"]>;

/**
 * Mustache's writer, counting as it goes: every piece of output passes through one of the value
 * methods, every section iteration through renderTokens, so both limits stop a render early.
 * One per render, so its counts (and its template cache) go with it.
 */
class BoundedWriter extends Mustache.Writer {
  #chars = 0;
  #steps = 0;

  #count(piece: unknown): string | undefined {
    if (piece == null) return undefined;
    const text = String(piece);
    this.#chars += text.length;
    if (this.#chars > RENDER_LIMITS.outputChars) {
      throw new RenderLimitError(
        `rendered prompt too large (over ${RENDER_LIMITS.outputChars} characters)`,
      );
    }
    return text;
  }

  override renderTokens(...args: RenderArgs): string {
    this.#steps += args[0].length + 1;
    if (this.#steps > RENDER_LIMITS.steps) {
      throw new RenderLimitError(
        "rendered prompt too large (sections repeat over too many list items)",
      );
    }
    return super.renderTokens(...args);
  }

  override rawValue(token: string[]): string {
    return this.#count(super.rawValue(token)) as string;
  }

  override escapedValue(...args: Parameters<Mustache.Writer["escapedValue"]>): string {
    return this.#count(super.escapedValue(...args)) as string;
  }

  override unescapedValue(...args: Parameters<Mustache.Writer["unescapedValue"]>): string {
    return this.#count(super.unescapedValue(...args)) as string;
  }
}

export function renderTemplate(
  template: string,
  view: Record<string, unknown>,
  writer: Mustache.Writer = new BoundedWriter(),
): string {
  try {
    return writer.render(template, new DataContext(view), undefined, noEscape);
  } catch (error) {
    if (error instanceof RenderError) throw error;
    // mustache.js throws a TypeError on some values (e.g. a null list item in a section that
    // names a variable): the caller's variables are at fault, so it is a refusal, not a crash.
    throw new RenderError(
      { missing: [], unknown: [] },
      `the variables cannot be rendered into this template (${error instanceof Error ? error.message : String(error)})`,
    );
  }
}

/** Messages for a chat prompt's placeholders, by placeholder name. */
export type PlaceholderFills = Record<string, readonly ChatMessage[]>;

/**
 * Which placeholders a render cannot fill: given ones the prompt does not have or with a value
 * that is not a list of messages, and (when every one must be filled) the unfilled ones.
 */
function placeholderProblems(
  content: PromptContent,
  fills: Record<string, unknown>,
  unfilled: "keep" | "refuse",
): RenderProblems | undefined {
  const names = placeholdersOf(content);
  const unknownPlaceholders: string[] = [];
  const invalidPlaceholders: string[] = [];
  for (const name in fills) {
    const value = fills[name];
    if (!names.includes(name)) unknownPlaceholders.push(name);
    else if (
      !Array.isArray(value) ||
      !value.every((m) => typeof m?.role === "string" && "content" in m)
    ) {
      invalidPlaceholders.push(name);
    }
  }
  const missingPlaceholders =
    unfilled === "refuse" ? names.filter((name) => !Object.hasOwn(fills, name)) : [];
  return unknownPlaceholders.length + invalidPlaceholders.length + missingPlaceholders.length
    ? { missing: [], unknown: [], missingPlaceholders, unknownPlaceholders, invalidPlaceholders }
    : undefined;
}

/**
 * Renders a text prompt to a string, a chat prompt to messages with rendered contents, each
 * placeholder replaced by the messages given for it (as given: they are not templates). An
 * unfilled placeholder is kept as it is (Langfuse's compile), or refused (`unfilled: "refuse"`,
 * the edge's render). Throws RenderError for missing or unknown variables or placeholders,
 * RenderLimitError past RENDER_LIMITS.
 */
export function renderPrompt<T extends PromptContent>(
  content: T,
  specs: VariableSpec[],
  given: Record<string, unknown>,
  placeholders: Record<string, unknown> = {},
  unfilled: "keep" | "refuse" = "refuse",
): T {
  const holes = placeholderProblems(content, placeholders, unfilled);
  let view: Record<string, unknown>;
  try {
    view = resolveVariables(specs, given);
  } catch (error) {
    // One refusal lists everything wrong with the call, variables and placeholders alike.
    if (!holes || !(error instanceof RenderError)) throw error;
    throw new RenderError({
      ...holes,
      missing: error.problems.missing,
      unknown: error.problems.unknown,
    });
  }
  if (holes) throw new RenderError(holes);
  checkRenderLimits(view);
  // One writer for all messages: the limits count the whole prompt.
  const writer = new BoundedWriter();
  if (typeof content === "string") return renderTemplate(content, view, writer) as T;
  return content.flatMap((item): ChatItem[] => {
    if (!isPlaceholder(item)) {
      return [{ role: item.role, content: renderTemplate(item.content, view, writer) }];
    }
    const fill = placeholders[item.name] as ChatMessage[] | undefined;
    return fill ? fill.map((message) => ({ ...message })) : [{ ...item }];
  }) as T;
}
