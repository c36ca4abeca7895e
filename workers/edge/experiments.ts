import { assign } from "@cuecard/core/assignment";
import { UNIT_ID_MAX } from "@cuecard/core/telemetry";
import type {
  ExperimentResult,
  ServedExperiment,
  ServedPrompt,
  ServedVersion,
} from "./prompt-store";
import { validationFailed } from "./selectors";

/**
 * Experiment assignment at the edge, for plain-HTTP callers that send a unit id. Synchronous and
 * free of I/O: the experiment came with the label's pointer, and `assign` is core's pure
 * function (the SDK runs the same one), so a unit sees one variant everywhere.
 */

/** `Cuecard-Unit`, for callers that would rather not put a user id in a URL. */
export const UNIT_HEADER = "cuecard-unit";

/**
 * The unit id of a request, from `?unit=` or the `Cuecard-Unit` header (or a render body's
 * `unit`). Empty means none: an app that interpolates a missing user id gets the control, as a
 * request without a unit does. A header carries bytes, not text, so non-ASCII ids must come
 * percent-encoded in `?unit=`; refusing them in the header keeps a unit from silently hashing
 * differently depending on how it was sent.
 */
export function parseUnit(
  candidates: readonly (readonly [field: string, value: unknown])[],
): string | null {
  let unit: string | null = null;
  let from: string | undefined;
  for (const [field, value] of candidates) {
    if (value === undefined || value === null || value === "") continue;
    if (typeof value !== "string") throw validationFailed([{ field, message: "must be a string" }]);
    if (value.length > UNIT_ID_MAX) {
      throw validationFailed([
        { field, message: `must be at most ${UNIT_ID_MAX} characters (got ${value.length})` },
      ]);
    }
    if (field.startsWith("header.") && /[^\x20-\x7e]/.test(value)) {
      throw validationFailed([
        { field, message: "must be printable ASCII; send other ids percent-encoded in ?unit=" },
      ]);
    }
    if (unit !== null && value !== unit) {
      throw validationFailed([{ field, message: `differs from ${from}; give the unit id once` }]);
    }
    unit = value;
    from = field;
  }
  return unit;
}

/** The arm a unit is served; without an experiment, the pointer's own pick. */
export function assignVersion(
  prompt: ServedPrompt,
  unit: string | null | undefined,
  pick: (prompt: ServedPrompt) => ServedVersion | undefined,
): ServedVersion | undefined {
  const experiment = prompt.experiment;
  if (!experiment) return pick(prompt);
  const assignment = assign(experiment.assignable, unit);
  const arm = experiment.arms[assignment.variant] ?? experiment.arms[0];
  if (!arm) return pick(prompt);
  const result: ExperimentResult = {
    id: experiment.definition.id,
    key: experiment.definition.key,
    variant: arm.key,
    bucket: assignment.bucket,
    reason: assignment.reason,
  };
  const served = arm.version;
  // The body names the unit's bucket, so the ETag does too: a 304 is only ever for this arm
  // and this bucket.
  const bucketTag = assignment.bucket === null ? "none" : Math.round(assignment.bucket * 10_000);
  return {
    published: served.published,
    label: served.label,
    versionHeader: served.versionHeader,
    headers: arm.headers,
    headersEtag: undefined,
    // The prebuilt head plus the bucket and reason: the same JSON as stringifying `result`
    // (a finite number prints alike in both; a reason is a fixed identifier).
    body: `${arm.bodyHead}${assignment.bucket},"reason":"${assignment.reason}"}}`,
    etag: `${arm.etagHead}${bucketTag}"`,
    experiment: result,
  };
}

/**
 * `?definition=1` (what the SDK asks): the label's answer without a unit, plus the running
 * experiment's `definition` with every arm's version, so the SDK fetches a label once and assigns
 * each of its units locally with the same `assign`. Built from the prebuilt bodies; the ETag names
 * the pointer's experiment rev, so new weights (a rollout stage) are never answered with a 304.
 */
export function withDefinition(served: ServedVersion, experiment: ServedExperiment): ServedVersion {
  const d = experiment.definition;
  const head = JSON.stringify({
    id: d.id,
    key: d.key,
    seed: d.seed,
    hashVersion: d.hashVersion,
    coverage: d.coverage,
  });
  const arms = experiment.arms.map(
    (arm, i) =>
      `{"key":${JSON.stringify(arm.key)},"weight":${d.variants[i]?.weight},"prompt":${arm.version.body}}`,
  );
  return {
    ...served,
    body: `${served.body.slice(0, -1)},"definition":${head.slice(0, -1)},"variants":[${arms}]}}`,
    etag: `"${served.published.hash}.v${served.published.version}.${d.id}.r${experiment.rev}"`,
  };
}
