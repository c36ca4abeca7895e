import { idPattern } from "@cuecard/core/ids";
import {
  EXPERIMENT_ARMS_MAX,
  EXPERIMENT_DESCRIPTION_MAX,
  EXPERIMENT_GUARDRAILS_MAX,
  EXPERIMENT_KEY_MAX,
  EXPERIMENT_STAGES_MAX,
  EXPERIMENT_UNIT_DESCRIPTION_MAX,
  EXPERIMENT_WEIGHT_TOLERANCE,
} from "@cuecard/core/limits";
import { z } from "@hono/zod-openapi";
import { jsonVersionNumber, promptName, settableLabelName } from "../../platform/fields";
import { ProjectParams } from "../../platform/http/openapi";

/**
 * The experiments module's request and response schemas. Weights are fractions of the
 * experiment's units (0.5, not 50) and, control included, must add up to 1: the unit GrowthBook
 * and `assign()` use, so what is stored is what is published and what an outside SDK reproduces.
 */

const KEY_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
const KEY_RULE = "use lower-case a-z, 0-9, '_' and '-', starting with a letter or digit";

export const experimentKey = z
  .string()
  .min(1, "must not be empty")
  .max(EXPERIMENT_KEY_MAX, `must be at most ${EXPERIMENT_KEY_MAX} characters`)
  .regex(KEY_PATTERN, KEY_RULE);

export const experimentId = z.string().regex(idPattern("experiment"), "is not an experiment id");

export const ExperimentParams = ProjectParams.extend({
  id: experimentId.openapi({
    param: { name: "id", in: "path" },
    example: "exp_0123456789abcdef0123",
  }),
});

const weight = z
  .number({ message: "must be a number from 0 to 1, e.g. 0.5" })
  .min(0, "must be at least 0")
  .max(1, "must be at most 1 (weights are fractions, not percentages)");

const NAMED_METRIC_KINDS = ["score", "conversion"] as const;
const BUILT_IN_METRIC_KINDS = ["error_rate", "latency_p95", "ttft_p95", "cost", "tokens"] as const;

export const Metric = z
  .discriminatedUnion("kind", [
    z.strictObject({
      kind: z.enum(NAMED_METRIC_KINDS),
      name: z.string().min(1, "must not be empty").max(100),
    }),
    z.strictObject({ kind: z.enum(BUILT_IN_METRIC_KINDS) }),
  ])
  .openapi("ExperimentMetric", {
    description:
      "A score (by name), a conversion (by name), or a built-in: error_rate, latency_p95, ttft_p95, cost (per call), tokens (per call)",
  });

export const Metrics = z
  .strictObject({
    primary: Metric,
    guardrails: z
      .array(
        z.strictObject({
          metric: Metric,
          maxRegressionPct: z
            .number()
            .gt(0, "must be more than 0")
            .max(1000)
            .openapi({ description: "How much worse than the control it may get, in %" }),
        }),
      )
      .max(EXPERIMENT_GUARDRAILS_MAX)
      .default([]),
  })
  .openapi("ExperimentMetrics");

export const Stage = z
  .strictObject({
    weights: z.array(weight).min(2).max(EXPERIMENT_ARMS_MAX).openapi({
      description: "One weight per arm, control first; they add up to 1",
    }),
    minExposures: z.number().int().min(0).max(1_000_000_000),
    minDurationHours: z
      .number()
      .min(0)
      .max(24 * 365),
  })
  .openapi("ExperimentStage");

const VariantInput = z.strictObject({
  key: experimentKey,
  version: jsonVersionNumber,
  weight,
});

const ControlInput = z.strictObject({
  key: experimentKey.default("control"),
  weight,
});

export const ON_REGRESSION = ["pause", "rollback"] as const;

/** The fields of an experiment a draft may set; checked together by `checkArms`. */
const experimentFields = {
  label: settableLabelName,
  key: experimentKey,
  description: z.string().max(EXPERIMENT_DESCRIPTION_MAX).default(""),
  unit: z.string().min(1, "must not be empty").max(EXPERIMENT_UNIT_DESCRIPTION_MAX).openapi({
    description: "What the app sends as the unit id, e.g. 'user id'",
    example: "user id",
  }),
  control: ControlInput,
  variants: z
    .array(VariantInput)
    .min(1, "needs at least one variant besides the control")
    .max(EXPERIMENT_ARMS_MAX - 1),
  coverage: z
    .number({ message: "must be a number, e.g. 1" })
    .gt(0, "must be more than 0")
    .max(1, "must be at most 1 (a fraction of units)")
    .default(1),
  metrics: Metrics,
  stages: z.array(Stage).max(EXPERIMENT_STAGES_MAX).default([]),
  onRegression: z.enum(ON_REGRESSION).default("pause").openapi({
    description:
      "What the rollout schedule does when a guardrail regresses: `pause` (default; everyone gets the control, resumable) or `rollback` (pause, then stop: the label serves the control version)",
  }),
  autoPromote: z.boolean().default(false).openapi({
    description:
      "Whether the rollout schedule stops the experiment and promotes a winner by itself (default false: it only recommends one)",
  }),
};

type ArmFields = {
  control: { key: string; weight: number };
  variants: { key: string; weight: number }[];
  stages: { weights: number[] }[];
};

const sumsToOne = (weights: number[]) =>
  Math.abs(weights.reduce((sum, w) => sum + w, 0) - 1) <= EXPERIMENT_WEIGHT_TOLERANCE;

/** Rules across fields: weights add up to 1, keys are distinct, stages fit the arms. */
function checkArms(value: ArmFields, ctx: z.RefinementCtx) {
  const weights = [value.control.weight, ...value.variants.map((variant) => variant.weight)];
  if (!sumsToOne(weights)) {
    const total = weights.reduce((sum, w) => sum + w, 0);
    ctx.addIssue({
      code: "custom",
      path: ["variants"],
      message: `the weights (control included) must add up to 1; they add up to ${Number(total.toFixed(6))}`,
    });
  }
  const seen = new Set([value.control.key]);
  value.variants.forEach((variant, index) => {
    if (seen.has(variant.key)) {
      ctx.addIssue({
        code: "custom",
        path: ["variants", index, "key"],
        message: `'${variant.key}' is used by another arm; keys must be distinct`,
      });
    }
    seen.add(variant.key);
  });
  value.stages.forEach((stage, index) => {
    if (stage.weights.length !== weights.length) {
      ctx.addIssue({
        code: "custom",
        path: ["stages", index, "weights"],
        message: `needs ${weights.length} weights (control first), one per arm`,
      });
    } else if (!sumsToOne(stage.weights)) {
      ctx.addIssue({
        code: "custom",
        path: ["stages", index, "weights"],
        message: "must add up to 1",
      });
    }
  });
  const first = value.stages[0];
  if (first?.weights.some((w, index) => Math.abs(w - (weights[index] ?? -1)) > 1e-9)) {
    ctx.addIssue({
      code: "custom",
      path: ["stages", 0, "weights"],
      message: "the first stage is where the experiment starts: use the arms' weights",
    });
  }
}

/** POST /v1/projects/{project}/experiments */
export const NewExperiment = z
  .strictObject({ prompt: promptName, ...experimentFields })
  .superRefine(checkArms)
  .openapi("NewExperiment");

/** The fields of a draft, as stored and as a PATCH merges into them. */
export const DraftFields = z.strictObject(experimentFields).superRefine(checkArms);

/** PATCH …/experiments/{id}: any draft field; the result is checked as a whole. */
export const ExperimentPatch = z
  .strictObject({
    label: experimentFields.label.optional(),
    key: experimentFields.key.optional(),
    description: z.string().max(EXPERIMENT_DESCRIPTION_MAX).optional(),
    unit: experimentFields.unit.optional(),
    control: ControlInput.optional(),
    variants: experimentFields.variants.optional(),
    coverage: z.number().gt(0, "must be more than 0").max(1, "must be at most 1").optional(),
    metrics: Metrics.optional(),
    stages: z.array(Stage).max(EXPERIMENT_STAGES_MAX).optional(),
    onRegression: z.enum(ON_REGRESSION).optional(),
    autoPromote: z.boolean().optional(),
  })
  .openapi("ExperimentPatch");

export const StopInput = z
  .strictObject({
    promote: experimentKey.optional().openapi({
      description:
        "A variant to promote: its version becomes the label's, in the same change (an ordinary, audited label move)",
    }),
  })
  .openapi("ExperimentStop");

export const EXPERIMENT_STATES = ["draft", "running", "paused", "stopped"] as const;

export const Experiment = z
  .object({
    id: z.string(),
    key: z.string(),
    prompt: z.string(),
    label: z.string(),
    description: z.string(),
    unit: z.string(),
    state: z.enum(EXPERIMENT_STATES),
    control: z.object({
      key: z.string(),
      weight: z.number(),
      version: z.number().int().nullable().openapi({
        description: "The label's version when the experiment started; null while a draft",
      }),
    }),
    variants: z.array(z.object({ key: z.string(), version: z.number().int(), weight: z.number() })),
    coverage: z.number(),
    seed: z.string().openapi({
      description:
        "What unit ids are hashed with (`{id}:{bucketVersion}`): with `hashVersion`, enough for a GrowthBook SDK to reproduce every assignment",
    }),
    hashVersion: z.number().int().openapi({ description: "GrowthBook's hash version (2)" }),
    bucketVersion: z.number().int(),
    metrics: Metrics,
    stages: z.array(Stage),
    promotedVariant: z.string().nullable(),
    onRegression: z.enum(ON_REGRESSION),
    autoPromote: z.boolean(),
    decision: z
      .object({
        action: z.enum(["paused", "rolled_back", "promoted", "recommended"]),
        variant: z.string(),
        reason: z.string(),
        at: z.string(),
      })
      .nullable()
      .openapi({
        description:
          "The rollout schedule's latest decision: it paused or rolled back a regressing variant, promoted a winner (autoPromote), or recommends promoting one; null when it has made none",
      }),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    startedAt: z.string().nullable(),
    stoppedAt: z.string().nullable(),
  })
  .openapi("Experiment");
export type ExperimentView = z.infer<typeof Experiment>;

/** GET …/experiments/{id}: the experiment and, from telemetry, how many units each arm has seen. */
export const ExperimentWithExposures = Experiment.extend({
  exposures: z
    .record(z.string(), z.number().int())
    .nullable()
    .openapi({
      description:
        "Distinct units served each arm (control included) so far, by arm key, exact; an arm nobody was served yet has 0. Null when `telemetry` is not `deployed`.",
      example: { control: 1012, friendly: 988 },
    }),
  telemetry: z.enum(["deployed", "not_deployed", "unavailable"]).openapi({
    description:
      "`deployed`: `exposures` holds the counts; `not_deployed`: this deployment has no telemetry worker; `unavailable`: it did not answer (try again).",
  }),
}).openapi("ExperimentWithExposures");
export type ExperimentWithExposuresView = z.infer<typeof ExperimentWithExposures>;
