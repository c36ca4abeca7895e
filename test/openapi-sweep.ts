/**
 * Malformed-input cases for every operation of an OpenAPI 3.1 document, generated from the
 * document a worker serves (so a new operation is swept without anyone listing it):
 * - every path parameter: malformed percent-escapes, a UTF-16 surrogate encoded as UTF-8,
 *   control characters;
 * - every query parameter: the same;
 * - every JSON body field (nested ones too): deep nesting, a lone surrogate, control characters,
 *   and the body itself nested deep.
 * Each case is a complete request description; the suites send them with their credentials.
 */

type Schema = Record<string, any>;
type Document = {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
};
type Operation = {
  parameters?: { name: string; in: string; schema?: Schema }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  security?: unknown[];
};

export interface SweepCase {
  method: string;
  /** The documented path, e.g. /v1/prompts/{name}, to group failures by operation. */
  operation: string;
  /** What was broken, e.g. `path.name = %ZZ`. */
  what: string;
  /** Path and query, already encoded. */
  url: string;
  /** A JSON text, when the operation takes a body. */
  body?: string;
}

/** Raw, already percent-encoded: some are not valid escapes, which is the point. */
export const BAD_ESCAPES = ["%ZZ", "%E0%A4%A", "%C0%AF", "%ED%A0%80", "%0D%0A%00%1B"];

/**
 * 2,600 levels of objects in arrays, rooted in an object and in an array (fields take either):
 * deeper than any recursion survives, yet about 10 KB, under every size cap (a 16 KB config too).
 */
const DEEP_PAYLOADS: readonly [string, string][] = [
  ["__sweep_deep_object__", `${'{"a":['.repeat(1_300)}1${"]}".repeat(1_300)}`],
  ["__sweep_deep_array__", `${'[{"a":'.repeat(1_300)}1${"}]".repeat(1_300)}`],
];
const STRING_PAYLOADS: readonly [string, string][] = [
  ["a lone surrogate", "x\ud800y\udfffz"],
  ["control characters", "a\r\n\u0000\u001b\u007fb\tc"],
];

function resolve(doc: Document, schema: Schema | undefined): Schema {
  let current = schema ?? {};
  for (let hops = 0; current.$ref && hops < 10; hops += 1) {
    const name = String(current.$ref).split("/").pop() ?? "";
    current = doc.components?.schemas?.[name] ?? {};
  }
  const options = current.anyOf ?? current.oneOf;
  return options ? resolve(doc, options[0]) : current;
}

/** A value the schema would likely accept, from `example`, `enum`, `default` or its type. */
function sample(doc: Document, raw: Schema | undefined, key: string, samples: Samples): unknown {
  if (key in samples) return samples[key];
  const schema = resolve(doc, raw);
  if (schema.example !== undefined) return schema.example;
  if (schema.enum) return schema.enum[0];
  if (schema.default !== undefined) return schema.default;
  switch (schema.type) {
    case "object": {
      const value: Record<string, unknown> = {};
      const required: string[] = schema.required ?? [];
      for (const name of Object.keys(schema.properties ?? {})) {
        if (required.includes(name) || name in samples) {
          value[name] = sample(doc, schema.properties?.[name], name, samples);
        }
      }
      return value;
    }
    case "array":
      return [];
    case "integer":
    case "number":
      return schema.minimum ?? 1;
    case "boolean":
      return true;
    default:
      return "sweep";
  }
}

/** Values for fields whose name says what they must hold (a URL, a prompt name…). */
export type Samples = Record<string, unknown>;

/** Paths of every field under `raw`, nested objects, records and array items included. */
function fieldPaths(
  doc: Document,
  raw: Schema | undefined,
  prefix: string[],
  depth = 0,
): string[][] {
  if (depth > 4) return [];
  const schema = resolve(doc, raw);
  const paths: string[][] = [];
  if (schema.type === "object" || schema.properties) {
    for (const [name, child] of Object.entries<Schema>(schema.properties ?? {})) {
      paths.push([...prefix, name], ...fieldPaths(doc, child, [...prefix, name], depth + 1));
    }
    if (schema.additionalProperties) {
      const key = [...prefix, "k"];
      const values = schema.additionalProperties === true ? {} : schema.additionalProperties;
      paths.push(key, ...fieldPaths(doc, values, key, depth + 1));
    }
  } else if (schema.type === "array" && schema.items) {
    const item = [...prefix, "0"];
    paths.push(item, ...fieldPaths(doc, schema.items, item, depth + 1));
  }
  return paths;
}

/** Paths of the fields a sample body holds (e.g. a variable the template really uses). */
function samplePaths(value: unknown, prefix: string[]): string[][] {
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, child]) => [
    [...prefix, key],
    ...samplePaths(child, [...prefix, key]),
  ]);
}

function withValue(base: unknown, path: string[], value: unknown): unknown {
  const root = structuredClone(base ?? {}) as Record<string, unknown>;
  let holder: Record<string, unknown> = root;
  for (const [index, key] of path.entries()) {
    if (index === path.length - 1) {
      holder[key] = value;
    } else {
      const next = holder[key];
      const container =
        next !== null && typeof next === "object"
          ? (next as Record<string, unknown>)
          : /^\d+$/.test(path[index + 1] ?? "")
            ? []
            : {};
      holder[key] = container;
      holder = container as Record<string, unknown>;
    }
  }
  return root;
}

function bodyText(value: unknown): string {
  let text = JSON.stringify(value);
  for (const [mark, deep] of DEEP_PAYLOADS) text = text.replaceAll(JSON.stringify(mark), deep);
  return text;
}

/**
 * Every case for every operation of `doc`. `params` gives a valid value per path parameter name
 * (so only one part of a request is broken at a time); `samples` valid body values by field name.
 */
export function sweepCases(
  doc: Document,
  options: { params: Record<string, string>; samples: Samples; prefix?: string },
): SweepCase[] {
  const cases: SweepCase[] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      if (!["get", "post", "put", "patch", "delete", "options"].includes(method)) continue;
      const parameters = operation.parameters ?? [];
      const pathWith = (name?: string, raw?: string) =>
        (options.prefix ?? "") +
        path.replace(/\{(\w+)\}/g, (_, param: string) =>
          param === name ? (raw as string) : encodeURIComponent(options.params[param] ?? "x"),
        );
      const schema = operation.requestBody?.content?.["application/json"]?.schema;
      const base = schema ? sample(doc, schema, "", options.samples) : undefined;
      const body = schema ? JSON.stringify(base) : undefined;
      const add = (what: string, url: string, text = body) =>
        cases.push({ method: method.toUpperCase(), operation: path, what, url, body: text });

      // Every operation, even one that takes no input, gets a query it did not ask for.
      for (const raw of BAD_ESCAPES)
        add(`query.unlisted = ${raw}`, `${pathWith()}?unlisted=${raw}`);
      for (const param of parameters) {
        for (const raw of BAD_ESCAPES) {
          if (param.in === "path") add(`path.${param.name} = ${raw}`, pathWith(param.name, raw));
          if (param.in === "query") {
            add(`query.${param.name} = ${raw}`, `${pathWith()}?${param.name}=${raw}`);
          }
        }
      }
      if (!schema) continue;
      for (const [mark, deep] of DEEP_PAYLOADS) {
        add(`the body nested deep (${mark})`, pathWith(), deep);
      }
      const fields = new Map(
        [...fieldPaths(doc, schema, []), ...samplePaths(base, [])].map((f) => [f.join("."), f]),
      );
      for (const field of fields.values()) {
        const name = `body.${field.join(".")}`;
        for (const [mark] of DEEP_PAYLOADS) {
          add(`${name} nested deep (${mark})`, pathWith(), bodyText(withValue(base, field, mark)));
        }
        for (const [label, value] of STRING_PAYLOADS) {
          add(`${name} with ${label}`, pathWith(), bodyText(withValue(base, field, value)));
        }
      }
    }
  }
  // A DELETE given only an extra query succeeds: sent last, so the fixtures other cases name
  // still exist while they run.
  return cases.sort((a, b) => Number(a.method === "DELETE") - Number(b.method === "DELETE"));
}

export interface SweepFailure {
  case: string;
  status: number;
  contentType: string | null;
}

/**
 * Sends every case (a few at a time) and returns those answered >= 500 or without the error
 * media type of their operation: problem+json, unless `errorContentTypeOf` names another (the
 * edge's Langfuse-compatible API answers Langfuse's JSON errors).
 */
export async function runSweep(
  cases: SweepCase[],
  send: (sweepCase: SweepCase) => Promise<Response>,
  concurrency = 6,
  errorContentTypeOf: (sweepCase: SweepCase) => string = () => "application/problem+json",
): Promise<{ failures: SweepFailure[]; statuses: Record<number, number> }> {
  const failures: SweepFailure[] = [];
  const statuses: Record<number, number> = {};
  let next = 0;
  async function worker() {
    while (next < cases.length) {
      const sweepCase = cases[next++] as SweepCase;
      const response = await send(sweepCase);
      const contentType = response.headers.get("content-type");
      await response.arrayBuffer();
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      const problem = contentType === errorContentTypeOf(sweepCase);
      if (response.status >= 500 || (response.status >= 400 && !problem)) {
        failures.push({
          case: `${sweepCase.method} ${sweepCase.operation}: ${sweepCase.what}`,
          status: response.status,
          contentType,
        });
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { failures, statuses };
}
