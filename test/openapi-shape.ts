/**
 * Checks a response body against the schema an OpenAPI 3.1 document gives for it: every field
 * the schema names as required is there, no object carries a field its schema does not list, and
 * each value has its field's type (and is one of its `enum`, if it has one).
 * The field rule is stricter than JSON Schema (which allows extra fields unless told otherwise) on
 * purpose: a worker's `c.json` sends whatever the code built, so an undocumented field is a leak.
 * Objects without `properties` (records, free-form JSON like a model config) are not checked.
 */

type Schema = Record<string, any>;
export type OpenApiDocument = {
  paths: Record<string, Record<string, { responses?: Record<string, any> }>>;
  components?: Record<string, Record<string, Schema>>;
};

/** Follows `$ref`s (`#/components/schemas/X`, `#/components/responses/Y`) within the document. */
function resolve(doc: OpenApiDocument, schema: Schema): Schema {
  let current = schema;
  for (let hops = 0; current.$ref && hops < 10; hops += 1) {
    const steps = String(current.$ref).replace(/^#\//, "").split("/");
    current = steps.reduce<any>((node, step) => node?.[step], doc) ?? {};
  }
  return current;
}

/** An `allOf` (how an extended schema is written) as one schema with all its parts' fields. */
function merged(doc: OpenApiDocument, schema: Schema): Schema {
  if (!schema.allOf) return schema;
  const parts: Schema[] = schema.allOf.map((part: Schema) => merged(doc, resolve(doc, part)));
  return {
    type: "object",
    properties: Object.assign({}, ...parts.map((part) => part.properties ?? {})),
    required: parts.flatMap((part) => part.required ?? []),
  };
}

/** Where `value` departs from `schema`, as `body.items.0.hash: …` lines; empty when it fits. */
export function shapeProblems(
  doc: OpenApiDocument,
  raw: Schema,
  value: unknown,
  at = "body",
): string[] {
  const schema = merged(doc, resolve(doc, raw));
  const options: Schema[] | undefined = schema.anyOf ?? schema.oneOf;
  if (options) {
    const tries = options.map((option) => shapeProblems(doc, option, value, at));
    if (tries.some((problems) => problems.length === 0)) return [];
    return tries.reduce((fewest, problems) =>
      problems.length < fewest.length ? problems : fewest,
    );
  }
  const types: string[] = [schema.type ?? []].flat();
  if (value === null) return types.length === 0 || types.includes("null") ? [] : [`${at}: is null`];
  if (Array.isArray(value)) {
    if (types.length > 0 && !types.includes("array")) return [`${at}: is an array`];
    return schema.items
      ? value.flatMap((item, index) => shapeProblems(doc, schema.items, item, `${at}.${index}`))
      : [];
  }
  if (typeof value === "object" && value !== undefined) {
    if (types.length > 0 && !types.includes("object")) return [`${at}: is an object`];
    const properties: Record<string, Schema> | undefined = schema.properties;
    if (!properties) return [];
    const record = value as Record<string, unknown>;
    const missing = ((schema.required ?? []) as string[])
      .filter((name) => !(name in record))
      .map((name) => `${at}.${name}: required by the schema, missing`);
    const fields = Object.entries(record).flatMap(([name, field]) =>
      name in properties
        ? shapeProblems(doc, properties[name] ?? {}, field, `${at}.${name}`)
        : [`${at}.${name}: not in the schema`],
    );
    return [...missing, ...fields];
  }
  if (schema.enum && !schema.enum.includes(value))
    return [`${at}: ${JSON.stringify(value)} is not in its enum`];
  const kind = Number.isInteger(value) ? ["integer", "number"] : [typeof value];
  if (types.length > 0 && !kind.some((type) => types.includes(type))) {
    return [`${at}: is a ${typeof value}, the schema says ${types.join(" or ")}`];
  }
  return [];
}

/** The JSON schema of `status` responses of `METHOD /documented/{path}`. */
export function responseSchema(
  doc: OpenApiDocument,
  method: string,
  path: string,
  status: number,
): Schema {
  const response = resolve(doc, doc.paths[path]?.[method.toLowerCase()]?.responses?.[status] ?? {});
  const content = response.content ?? {};
  const schema = (content["application/json"] ?? content["application/problem+json"])?.schema;
  if (!schema) throw new Error(`${method} ${path} documents no ${status} body`);
  return schema;
}
