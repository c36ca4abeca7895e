import { z } from "@hono/zod-openapi";

/**
 * The results module's request and response schemas. The response is core's `ExperimentResults`
 * (workers/core/experiment-results.ts), documented field by field for the OpenAPI document.
 */

export { ExperimentParams as ResultsParams } from "../experiments/schemas";

export const ENGINES = ["frequentist", "bayesian"] as const;

export const ResultsQuery = z.strictObject({
  engine: z.enum(ENGINES).default("frequentist").openapi({
    description:
      "`frequentist` (default): Welch t-tests with p-values; `bayesian`: a Gaussian model with the chance to beat the control and the risk",
  }),
  sequential: z
    .enum(["true", "false"], { message: "must be true or false" })
    .default("true")
    .transform((value) => value === "true")
    .openapi({
      type: "string",
      enum: ["true", "false"],
      description:
        "Frequentist only: always-valid (sequential) intervals, safe to look at every day (default `true`), or fixed-horizon ones (`false`, valid only when read once at a planned sample size)",
    }),
});
export type ResultsQueryInput = z.output<typeof ResultsQuery>;

const MetricRef = z
  .union([
    z.object({ kind: z.enum(["score", "conversion"]), name: z.string() }),
    z.object({ kind: z.enum(["error_rate", "latency_p95", "ttft_p95", "cost", "tokens"]) }),
  ])
  .openapi({ description: "The metric as the experiment names it" });

const Interval = z
  .tuple([z.number(), z.number()])
  .nullable()
  .openapi({
    description: "Interval of the relative effect, as fractions (0.05 = +5 %)",
    // The 3.1 document states the pair as prefixItems; `items` keeps 3.0 tools and linters exact.
    items: { type: "number" },
    minItems: 2,
    maxItems: 2,
  });

const VariantResult = z
  .object({
    variant: z.string(),
    units: z.number().int().openapi({ description: "Units with a value (the analysis' n)" }),
    value: z
      .number()
      .nullable()
      .openapi({ description: "The metric: a rate, a mean, a ratio or a quantile" }),
    sd: z.number().nullable().openapi({ description: "SD of the per-unit values" }),
    absoluteEffect: z.number().nullable().openapi({ description: "value − control's value" }),
    relativeEffect: z
      .number()
      .nullable()
      .openapi({ description: "(value − control) / control; null for the control" }),
    interval: Interval,
    pValue: z.number().nullable().openapi({ description: "Frequentist engine only" }),
    chanceToWin: z
      .number()
      .nullable()
      .openapi({ description: "Bayesian engine only: chance to beat the control" }),
    risk: z
      .number()
      .nullable()
      .openapi({ description: "Bayesian engine only: expected loss of choosing this variant" }),
  })
  .openapi("ExperimentVariantResult");

const GUARDRAIL_STATES = ["ok", "failing", "not_enough_data"] as const;

const MetricResult = z
  .object({
    metric: MetricRef,
    role: z.enum(["primary", "guardrail"]),
    higherIsBetter: z.boolean(),
    variants: z.array(VariantResult).openapi({ description: "Control first" }),
    guardrail: z
      .object({
        maxRegressionPct: z.number(),
        states: z.record(z.string(), z.enum(GUARDRAIL_STATES)),
      })
      .optional()
      .openapi({
        description: "Guardrails only: the allowed regression and each treatment's state",
      }),
  })
  .openapi("ExperimentMetricResult");

export const DECISIONS = [
  "not_enough_data",
  "srm",
  "guardrail_failed",
  "no_winner_yet",
  "winner",
] as const;

export const ExperimentResults = z
  .object({
    experimentId: z.string(),
    engine: z.enum(ENGINES),
    intervalKind: z.enum(["sequential", "fixed", "bayesian"]).openapi({
      description: "Which 95 % interval `interval` is (1 − alpha)",
    }),
    alpha: z.number(),
    srm: z
      .object({
        pValue: z.number().nullable().openapi({
          description:
            "χ² test of exposed units against the weights; null below the minimum units per variant. Below 0.001 the decision is `srm`.",
        }),
        expected: z.record(z.string(), z.number()),
        observed: z.record(z.string(), z.number()),
      })
      .openapi({ description: "Sample-ratio mismatch check" }),
    minimumUnitsPerVariant: z.number().int(),
    metrics: z.array(MetricResult).openapi({ description: "The primary metric first" }),
    decision: z.enum(DECISIONS).openapi({
      description:
        "`winner` (see `winner`), `no_winner_yet`, `not_enough_data`, `srm` (no verdict until the mismatch is explained) or `guardrail_failed`",
    }),
    winner: z.string().nullable().openapi({ description: "The winning arm when `winner`" }),
    reason: z.string().openapi({ description: "Why, in a sentence a person can act on" }),
    overTime: z
      .array(
        z.object({
          day: z.string(),
          variants: z.record(
            z.string(),
            z.object({ relativeEffect: z.number().nullable(), interval: Interval }),
          ),
        }),
      )
      .openapi({ description: "The primary metric's effect as of the end of each UTC day" }),
    computedAt: z.string(),
  })
  .openapi("ExperimentResults");
