/**
 * Experiment assignment: which variant a unit (a user id, a session id) is served. Pure and
 * synchronous, the same code in the edge and the SDK, so a unit sees one variant everywhere.
 *
 * GrowthBook's hash v2 and bucket-range semantics (specVersion 0.8.0), so for ASCII ids our
 * buckets are exactly GrowthBook's and an outside GrowthBook SDK reproduces every assignment from
 * an experiment's seed. One deliberate difference: the hash reads the UTF-8 bytes of its input.
 * GrowthBook's JS SDK hashes UTF-16 code units and its Python SDK code points, so they disagree
 * on ids such as "🗻x"; UTF-8 bytes give one answer in every language (docs/experiments.md
 * publishes non-ASCII vectors).
 */

const encoder = new TextEncoder();
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** 32-bit FNV-1a of a string's UTF-8 bytes. */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET;
  // ASCII (the common case) needs no encoding: its UTF-8 bytes are its code units.
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    for (let i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i);
      hash = Math.imul(hash, FNV_PRIME);
    }
  } else {
    for (const byte of encoder.encode(text)) {
      hash ^= byte;
      hash = Math.imul(hash, FNV_PRIME);
    }
  }
  return hash >>> 0;
}

export const HASH_VERSIONS = [1, 2] as const;
export type HashVersion = (typeof HASH_VERSIONS)[number];

/**
 * A unit's position in [0, 1) for a seed. Version 2 (what experiments use) hashes twice to spread
 * sequential ids; version 1 exists for namespaces and GrowthBook's conformance cases.
 */
export function bucketHash(seed: string, value: string, version: number): number | null {
  if (version === 2) return (fnv1a32(String(fnv1a32(seed + value))) % 10_000) / 10_000;
  if (version === 1) return (fnv1a32(value + seed) % 1000) / 1000;
  return null;
}

/** [start, end): a unit whose hash falls inside is served that range's variant. */
export type BucketRange = readonly [number, number];

export function equalWeights(variants: number): number[] {
  if (variants <= 0) return [];
  return new Array<number>(variants).fill(1 / variants);
}

/**
 * One range per variant, laid out by weight over [0, 1); each range covers the first `coverage`
 * share of its slot. So lowering coverage only shrinks ranges from their ends (no included unit
 * changes variant), and in a two-variant rollout the treated range grows towards the control's
 * as its weight grows (a treated unit stays treated). Weights that do not sum to 1 (±0.01) or do
 * not match the variant count fall back to equal weights, as GrowthBook does; Cuecard's API
 * refuses such weights before they get here.
 */
export function bucketRanges(
  variants: number,
  coverage = 1,
  weights?: readonly number[] | null,
): BucketRange[] {
  const clampedCoverage = Math.min(1, Math.max(0, coverage));
  const equal = equalWeights(variants);
  let used: readonly number[] = weights ?? equal;
  if (used.length !== variants) used = equal;
  const total = used.reduce((sum, weight) => sum + weight, 0);
  if (total < 0.99 || total > 1.01) used = equal;
  let cumulative = 0;
  return used.map((weight) => {
    const start = cumulative;
    cumulative += weight;
    return [start, start + clampedCoverage * weight] as const;
  });
}

/** The index of the range `hash` falls in, or -1 when it is in none (outside the coverage). */
export function chooseVariant(hash: number, ranges: readonly BucketRange[]): number {
  for (let i = 0; i < ranges.length; i++) {
    const range = ranges[i] as BucketRange;
    if (hash >= range[0] && hash < range[1]) return i;
  }
  return -1;
}

/** GrowthBook namespaces: mutually exclusive experiments share a namespace id and split [0, 1). */
export function inNamespace(unit: string, namespace: readonly [string, number, number]): boolean {
  const position = bucketHash(`__${namespace[0]}`, unit, 1);
  return position !== null && position >= namespace[1] && position < namespace[2];
}

/** What the assigner needs of a running experiment (it travels in the label pointer). */
export interface AssignableExperiment {
  /** The experiment's stable id plus its bucket version, e.g. `exp_…:1`; never its name. */
  seed: string;
  hashVersion: HashVersion;
  coverage: number;
  /** One weight per variant, control first; they sum to 1. */
  weights: readonly number[];
}

export type AssignmentReason = "assigned" | "not_in_coverage" | "no_unit";

export interface Assignment {
  /** Index into the experiment's variants; the control (0) when the unit is not assigned. */
  variant: number;
  /** The unit's hash in [0, 1), or null without a unit id. */
  bucket: number | null;
  reason: AssignmentReason;
}

/** Assigns a unit; units outside the coverage, and requests without a unit id, get the control. */
export function assign(
  experiment: AssignableExperiment,
  unit: string | null | undefined,
): Assignment {
  if (unit === null || unit === undefined || unit === "") {
    return { variant: 0, bucket: null, reason: "no_unit" };
  }
  const bucket = bucketHash(experiment.seed, unit, experiment.hashVersion) ?? 0;
  const variant = chooseVariant(
    bucket,
    bucketRanges(experiment.weights.length, experiment.coverage, experiment.weights),
  );
  return variant === -1
    ? { variant: 0, bucket, reason: "not_in_coverage" }
    : { variant, bucket, reason: "assigned" };
}
