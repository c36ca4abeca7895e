import type { ProblemError } from "@cuecard/core/problem";
import type { Child } from "hono/jsx";

/** Form bodies as Hono parses them (with `all: true`, repeated fields become arrays). */
export type FormBody = Record<string, string | File | (string | File)[]>;

/** One text field of a posted form; absent or a file is "". */
export function formText(body: FormBody, name: string): string {
  const value = body[name];
  if (Array.isArray(value)) return typeof value[0] === "string" ? value[0] : "";
  return typeof value === "string" ? value : "";
}

/** Every value of a repeated field (checkboxes), in form order. */
export function formValues(body: FormBody, name: string): string[] {
  const value = body[name];
  const all = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return all.filter((v): v is string => typeof v === "string");
}

/**
 * A domain refusal as `{field: message}` (`body.url` → `url`, `body.eventTypes.2` →
 * `eventTypes`), the rest as a form message.
 */
export function problemFields(error: ProblemError): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const e of error.errors ?? []) {
    const field = e.field.replace(/^body\./, "").split(".")[0] ?? "form";
    errors[field] = errors[field] ? `${errors[field]}; ${e.message}` : e.message;
  }
  if (!error.errors?.length) errors.form = error.message;
  return errors;
}

/**
 * A secret that exists only in this response: shown once, selectable, with the warning that it
 * cannot be shown again.
 */
export function SecretOnce(props: { label: string; secret: string; children?: Child }) {
  return (
    <div class="card secret-card">
      <div class="notice notice-info" role="alert">
        <p>
          <strong>Copy it now: it will not be shown again.</strong>
        </p>
        {props.children}
      </div>
      <div class="field">
        <label for="secret">{props.label}</label>
        <input
          type="text"
          id="secret"
          class="secret mono"
          readonly
          value={props.secret}
          autocomplete="off"
          spellcheck={false}
        />
      </div>
    </div>
  );
}

/** `value` as short text for tables: strings as they are, the rest as compact JSON. */
export function shortValue(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}
