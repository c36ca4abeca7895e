import type { HashVersion } from "./assignment";
import type { ModelConfig, PromptContent, PromptType, VariableSpec } from "./prompt";
import type { Role } from "./roles";

/**
 * What the admin worker publishes to Workers KV and the edge worker reads. D1 is the truth;
 * these records are a derived, rebuildable projection of it.
 *
 * Key families (`@` and `#` cannot occur in project slugs, prompt names or labels):
 * - `p/{project}/{name}@{label}` label pointer. It embeds the version(s) it points at, so a label
 *   resolve is a single KV read on an isolate-cache miss.
 * - `v/{project}/{name}#{version}` immutable version, for pinned `?version=N` reads.
 * - `k/{sha256 of the key}` read-key record, so the edge checks a key without D1.
 */

/**
 * The format every record carries. Readers refuse any format they do not know loudly
 * (`KvFormatError`) rather than misread it; a change of shape bumps it, and `republish` rewrites a
 * project's keys.
 *
 * 2: label pointers may carry a running experiment (`experiment`, `experimentRev`). Format 1 is
 * format 2 without them, so readers still take it: an edge deployed first keeps serving what an
 * older publisher wrote.
 */
export const KV_FORMAT = 2;
export const KNOWN_KV_FORMATS: readonly number[] = [1, KV_FORMAT];

/** One immutable version as served by the edge. */
export interface PublishedVersion {
  name: string;
  type: PromptType;
  version: number;
  prompt: PromptContent;
  config: ModelConfig;
  variables: VariableSpec[];
  hash: string;
  commitMessage: string | null;
  createdAt: string;
  /**
   * Set only on the versions a label pointer embeds (not on immutable version keys): the labels
   * that version had and the prompt's tags when the pointer was written. Langfuse's prompt shape
   * needs them. Absent in older pointers; not a format bump, as readers treat absence as unknown.
   */
  labels?: string[];
  tags?: string[];
  /**
   * Set when the version includes other prompts: `prompt`, `variables` and `hash` are then those
   * of the resolved content, and this says what was written and what was included. Absent
   * otherwise, and in older records; readers treat absence as "includes nothing".
   */
  resolution?: {
    authored: PromptContent;
    graph: ResolutionGraph;
    /** It includes a label somewhere: what it serves changes when that label moves. */
    followsLabels: boolean;
  };
}

/**
 * What a version's references resolved to (Langfuse's `resolutionGraph`): for each including
 * version (`name#version`), the versions it includes, with the label followed if any.
 */
export interface ResolutionGraph {
  root: { name: string; version: number };
  dependencies: Record<string, { name: string; version: number; label?: string }[]>;
}

/** A share of a label's traffic. One target today; several for A/B tests and rollouts later. */
export interface LabelTarget {
  version: number;
  weight: number;
}

/** The record at a version key: one version, standing alone. */
export interface VersionRecord extends PublishedVersion {
  format: typeof KV_FORMAT;
}

/** One arm of a running experiment: its key and the version it serves. */
export interface PublishedVariant {
  key: string;
  version: number;
  /** Share of the experiment's units, a fraction; the weights of all variants sum to 1. */
  weight: number;
}

/**
 * A running experiment, as it travels inside its label's pointer (since format 2): everything
 * `assign()` (core/assignment.ts) needs, so a resolve stays one KV read and an isolate-cache hit
 * assigns without I/O. Present only while the experiment runs; paused or stopped, the pointer
 * serves its label's version to everyone.
 */
export interface PublishedExperiment {
  id: string;
  key: string;
  /** `{id}:{bucketVersion}`: what the unit id is hashed with. */
  seed: string;
  hashVersion: HashVersion;
  /** Share of units in the experiment at all, in (0, 1]; the rest get the control. */
  coverage: number;
  /** Control first. Each version is embedded in the pointer's `versions`. */
  variants: PublishedVariant[];
}

export interface LabelPointer {
  format: typeof KV_FORMAT;
  /** Monotonic across every move of every label: a late write of a lower rev never wins. */
  rev: number;
  name: string;
  label: string;
  targets: LabelTarget[];
  /** The target versions (and a running experiment's), embedded so a resolve needs no second read. */
  versions: PublishedVersion[];
  /** The experiment the label runs, if any. `targets` still names the control. */
  experiment?: PublishedExperiment | null;
  /**
   * Monotonic across every start, pause, resume and stop of the label's experiments: with `rev`,
   * what tells a publisher that the pointer in KV is older than D1 (starting does not move the
   * label, so `rev` alone would not change).
   */
  experimentRev?: number;
  updatedAt: string;
}

/**
 * Written over every label pointer and version key of an archived prompt, so the edge stops
 * serving all of them (a leaked secret can be withdrawn) and can say why. Restoring the prompt
 * writes the real records back.
 */
export interface WithdrawnRecord {
  format: typeof KV_FORMAT;
  withdrawn: "archived";
  name: string;
  archivedAt: string;
}

export function isWithdrawn(record: unknown): record is WithdrawnRecord {
  return (
    typeof record === "object" &&
    record !== null &&
    (record as { withdrawn?: unknown }).withdrawn === "archived"
  );
}

export interface ReadKeyRecord {
  format: typeof KV_FORMAT;
  keyId: string;
  projectId: string;
  role: Role;
  expiresAt: string | null;
  /**
   * Whether the key may send telemetry (events, scores, traces) through the edge. Absent in
   * records published before the field existed: readers treat absence as NOT allowed, so an old
   * record can never widen what a key may do (README: Upgrading says to republish). Not a format
   * bump: the rest of the record reads as before, so keys keep reading prompts meanwhile.
   */
  sendTelemetry?: boolean;
  /**
   * Browser origins the key's project allows (`core/origins.ts` patterns). Carried on every key
   * record so the edge decides CORS from the record it already read, without a second KV read;
   * a change of the project's list republishes its keys. Absent (older records): no origin.
   */
  origins?: string[];
  /** The key's own, narrower list: an origin must match both. Absent or null: the project's. */
  keyOrigins?: string[] | null;
  /**
   * A key shipped in a browser app: accepted only from an allowed origin, never by the admin
   * API, and never for events or traces (README: browser keys). Absent: false.
   */
  browser?: boolean;
}

/** What the publisher states about every key it writes: nothing left to a reader's default. */
export type NewReadKeyRecord = Omit<
  ReadKeyRecord,
  "format" | "sendTelemetry" | "origins" | "keyOrigins" | "browser"
> & {
  sendTelemetry: boolean;
  origins: string[];
  keyOrigins: string[] | null;
  browser: boolean;
};

/** A record whose format this reader does not know: never served as if it were understood. */
export class KvFormatError extends Error {
  constructor(
    readonly key: string,
    readonly format: unknown,
  ) {
    super(
      `KV record ${key} has format ${JSON.stringify(format)}; this reader knows ${KNOWN_KV_FORMATS.join(", ")}`,
    );
    this.name = "KvFormatError";
  }
}

// Builders: the publisher, the edge's tests and the benchmark make records only through these,
// so a change of the format changes all of them.

export function versionRecord(version: PublishedVersion): VersionRecord {
  return { format: KV_FORMAT, ...version };
}

export function labelPointerRecord(pointer: Omit<LabelPointer, "format">): LabelPointer {
  return { format: KV_FORMAT, ...pointer };
}

export function withdrawnRecord(name: string, archivedAt: string): WithdrawnRecord {
  return { format: KV_FORMAT, withdrawn: "archived", name, archivedAt };
}

export function readKeyRecord(record: NewReadKeyRecord): ReadKeyRecord {
  return { format: KV_FORMAT, ...record };
}

// Readers: a KV value as read (parsed JSON or null) → the record, or KvFormatError.

function checked<T>(key: string, value: unknown): T | null {
  if (value === null || value === undefined) return null;
  const format = typeof value === "object" ? (value as { format?: unknown }).format : undefined;
  if (typeof format !== "number" || !KNOWN_KV_FORMATS.includes(format)) {
    throw new KvFormatError(key, format);
  }
  return value as T;
}

export function readLabelPointer(
  key: string,
  value: unknown,
): LabelPointer | WithdrawnRecord | null {
  return checked(key, value);
}

export function readVersionRecord(
  key: string,
  value: unknown,
): VersionRecord | WithdrawnRecord | null {
  return checked(key, value);
}

export function readReadKeyRecord(key: string, value: unknown): ReadKeyRecord | null {
  return checked(key, value);
}

/** The one reading of `sendTelemetry`: only an explicit `true` allows it. */
export function maySendTelemetry(record: ReadKeyRecord): boolean {
  return record.sendTelemetry === true;
}

export const labelPointerKey = (projectId: string, name: string, label: string) =>
  `p/${projectId}/${name}@${label}`;
export const labelPointerPrefix = (projectId: string, name: string) => `p/${projectId}/${name}@`;
export const projectPointerPrefix = (projectId: string) => `p/${projectId}/`;
export const versionKey = (projectId: string, name: string, version: number) =>
  `v/${projectId}/${name}#${version}`;
export const readKeyRecordKey = (keyHash: string) => `k/${keyHash}`;

/** Picks the version a pointer serves. With one target this is that target. */
export function pointerVersion(
  pointer: LabelPointer,
  draw = Math.random(),
): PublishedVersion | undefined {
  let remaining = draw * pointer.targets.reduce((sum, target) => sum + target.weight, 0);
  for (const target of pointer.targets) {
    remaining -= target.weight;
    if (remaining < 0 || target === pointer.targets[pointer.targets.length - 1]) {
      return pointer.versions.find((version) => version.version === target.version);
    }
  }
  return undefined;
}
