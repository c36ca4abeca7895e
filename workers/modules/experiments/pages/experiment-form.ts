import type { FieldError } from "@cuecard/core/problem";
import type { Untrusted } from "../../../platform/fields";
import type { NewExperiment } from "../schemas";

/**
 * The new-experiment form: what the author typed (kept as text, so a refused form comes back as it
 * was sent), and its translation into the API's input. The form speaks percentages (50 %) where
 * the API takes fractions (0.5); every rule is the API's, checked by the verb, and its errors are
 * put back next to the fields they name, in percentages.
 */

export const METRIC_KINDS = [
  { kind: "score", text: "A score (by name)", named: true },
  { kind: "conversion", text: "A conversion (by name)", named: true },
  { kind: "error_rate", text: "Error rate", named: false },
  { kind: "latency_p95", text: "Latency p95", named: false },
  { kind: "ttft_p95", text: "Time to first token p95", named: false },
  { kind: "cost", text: "Cost per call", named: false },
  { kind: "tokens", text: "Tokens per call", named: false },
] as const;

/** Guardrail rows the form offers; rows left on "none" are not sent. */
export const GUARDRAIL_ROWS = 3;

export interface VariantDraft {
  key: string;
  version: string;
  weight: string;
}

export interface GuardrailDraft {
  kind: string;
  name: string;
  maxRegressionPct: string;
}

export interface ExperimentDraft {
  key: string;
  description: string;
  unit: string;
  label: string;
  controlKey: string;
  controlWeight: string;
  variants: VariantDraft[];
  coverage: string;
  primaryKind: string;
  primaryName: string;
  guardrails: GuardrailDraft[];
  /** "pause" or "rollback". */
  onRegression: string;
  autoPromote: boolean;
}

/** Field id → message; `form` is about the whole form, `weights` about the weights' sum. */
export type ExperimentFormErrors = Record<string, string>;

/** The order fields appear in: the first one with an error gets the focus. */
export function fieldOrder(draft: ExperimentDraft): string[] {
  return [
    "key",
    "description",
    "unit",
    "label",
    "controlKey",
    "controlWeight",
    ...draft.variants.flatMap((_, index) => [
      `variant-${index}-key`,
      `variant-${index}-version`,
      `variant-${index}-weight`,
    ]),
    "coverage",
    "primaryKind",
    "primaryName",
    ...draft.guardrails.flatMap((_, index) => [
      `guardrail-${index}-kind`,
      `guardrail-${index}-name`,
      `guardrail-${index}-max`,
    ]),
    "onRegression",
    "autoPromote",
  ];
}

/** Where the first error is: its field id (the sum of the weights: the control's weight). */
export function firstErrorField(
  draft: ExperimentDraft,
  errors: ExperimentFormErrors,
): string | undefined {
  const withErrors = new Set(Object.keys(errors));
  if (withErrors.has("weights")) withErrors.add("controlWeight");
  return fieldOrder(draft).find((id) => withErrors.has(id));
}

export function emptyDraft(label: string, versions: number[]): ExperimentDraft {
  const latest = versions[0];
  return {
    key: "",
    description: "",
    unit: "user id",
    label,
    controlKey: "control",
    controlWeight: "50",
    variants: [{ key: "", version: latest === undefined ? "" : String(latest), weight: "50" }],
    coverage: "100",
    primaryKind: "score",
    primaryName: "",
    guardrails: Array.from({ length: GUARDRAIL_ROWS }, () => ({
      kind: "",
      name: "",
      maxRegressionPct: "",
    })),
    onRegression: "pause",
    autoPromote: false,
  };
}

type Body = Record<string, unknown>;
const text = (body: Body, name: string) => {
  const value = body[name];
  return typeof value === "string" ? value.trim() : "";
};

/** The draft as the form sent it; `variantCount` says how many variant rows it had. */
export function draftFromForm(body: Body, maxVariants: number): ExperimentDraft {
  const count = Math.min(Math.max(Number(text(body, "variantCount")) || 1, 1), maxVariants);
  return {
    key: text(body, "key"),
    description: text(body, "description"),
    unit: text(body, "unit"),
    label: text(body, "label"),
    controlKey: text(body, "controlKey"),
    controlWeight: text(body, "controlWeight"),
    variants: Array.from({ length: count }, (_, index) => ({
      key: text(body, `variant-${index}-key`),
      version: text(body, `variant-${index}-version`),
      weight: text(body, `variant-${index}-weight`),
    })),
    coverage: text(body, "coverage"),
    primaryKind: text(body, "primaryKind"),
    primaryName: text(body, "primaryName"),
    guardrails: Array.from({ length: GUARDRAIL_ROWS }, (_, index) => ({
      kind: text(body, `guardrail-${index}-kind`),
      name: text(body, `guardrail-${index}-name`),
      maxRegressionPct: text(body, `guardrail-${index}-max`),
    })),
    onRegression: text(body, "onRegression") || "pause",
    autoPromote: text(body, "autoPromote") === "on",
  };
}

/** A percentage as the API's fraction; rounding keeps 33.3 % from becoming 0.33299999…. */
function fractionOf(percent: string): number | undefined {
  if (percent === "") return undefined;
  const value = Number(percent);
  return Number.isFinite(value) ? Math.round(value * 1e7) / 1e9 : undefined;
}

const numberOrText = (value: string) => {
  if (value === "") return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : value;
};

function metricOf(kind: string, name: string) {
  const named = METRIC_KINDS.find((metric) => metric.kind === kind)?.named ?? false;
  return named ? { kind, name } : { kind };
}

/**
 * The API's input. What a form cannot express otherwise is refused here: a percentage that is
 * not a number. Everything else goes to the verb as typed.
 */
export function experimentInputOf(
  prompt: string,
  draft: ExperimentDraft,
):
  | { input: Untrusted<typeof NewExperiment>; errors?: undefined }
  | { input?: undefined; errors: ExperimentFormErrors } {
  const errors: ExperimentFormErrors = {};
  const percent = (id: string, value: string) => {
    const fraction = fractionOf(value);
    if (fraction === undefined) errors[id] = "must be a percentage, e.g. 50";
    return fraction;
  };
  const controlWeight = percent("controlWeight", draft.controlWeight);
  const variants = draft.variants.map((variant, index) => ({
    key: variant.key,
    version: numberOrText(variant.version),
    weight: percent(`variant-${index}-weight`, variant.weight),
  }));
  const coverage = percent("coverage", draft.coverage);
  if (Object.keys(errors).length > 0) return { errors };
  return {
    input: {
      prompt,
      label: draft.label,
      key: draft.key,
      description: draft.description,
      unit: draft.unit,
      control: { key: draft.controlKey || "control", weight: controlWeight },
      variants,
      coverage,
      metrics: {
        primary: metricOf(draft.primaryKind, draft.primaryName),
        guardrails: draft.guardrails
          .filter((row) => row.kind !== "")
          .map((row) => ({
            metric: metricOf(row.kind, row.name),
            maxRegressionPct: numberOrText(row.maxRegressionPct),
          })),
      },
      onRegression: draft.onRegression,
      autoPromote: draft.autoPromote,
    } as Untrusted<typeof NewExperiment>,
  };
}

const sumOfPercents = (draft: ExperimentDraft) =>
  [draft.controlWeight, ...draft.variants.map((variant) => variant.weight)]
    .map(Number)
    .reduce((sum, value) => sum + value, 0);

/**
 * The API's field errors as form fields. Messages about fractions are said in percentages;
 * guardrail indexes are those of the rows sent (rows on "none" were left out).
 */
export function errorsOfFields(
  draft: ExperimentDraft,
  fieldErrors: FieldError[],
): ExperimentFormErrors {
  const guardrailRows = draft.guardrails.flatMap((row, index) => (row.kind === "" ? [] : [index]));
  const errors: ExperimentFormErrors = {};
  const add = (id: string, message: string) => {
    errors[id] = errors[id] ? `${errors[id]}; ${message}` : message;
  };
  for (const { field, message } of fieldErrors) {
    const path = field.replace(/^body\./, "").split(".");
    const [head, second, third, fourth] = path;
    if (head === "variants" && second === undefined) {
      add(
        "weights",
        `The weights, control included, must add up to 100 %; they add up to ${Number(sumOfPercents(draft).toFixed(4))} %.`,
      );
    } else if (head === "variants") {
      const id = `variant-${second}-${third ?? "key"}`;
      add(id, third === "weight" ? "must be a percentage from 0 to 100" : message);
    } else if (head === "control") {
      if (second === "weight") add("controlWeight", "must be a percentage from 0 to 100");
      else add("controlKey", message);
    } else if (head === "coverage") {
      add("coverage", "must be more than 0 % and at most 100 %");
    } else if (head === "metrics" && second === "primary") {
      add(third === "name" ? "primaryName" : "primaryKind", message);
    } else if (head === "metrics" && second === "guardrails" && third !== undefined) {
      const row = guardrailRows[Number(third)] ?? 0;
      const part = fourth === "maxRegressionPct" ? "max" : path[4] === "name" ? "name" : "kind";
      add(`guardrail-${row}-${part}`, message);
    } else if (head && ["key", "description", "unit", "label", "onRegression"].includes(head)) {
      add(head, message);
    } else {
      add("form", `${field}: ${message}`);
    }
  }
  return errors;
}
