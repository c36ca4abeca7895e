import type { AssignableExperiment, AssignmentReason } from "@cuecard/core/assignment";
import { hashKey } from "@cuecard/core/keys";
import {
  isWithdrawn,
  KvFormatError,
  type LabelPointer,
  labelPointerKey,
  maySendTelemetry,
  type PublishedExperiment,
  type PublishedVersion,
  pointerVersion,
  type ReadKeyRecord,
  readKeyRecordKey,
  readLabelPointer,
  readReadKeyRecord,
  readVersionRecord,
  versionKey,
  type WithdrawnRecord,
} from "@cuecard/core/kv-records";
import { ProblemError } from "@cuecard/core/problem";
import { LABEL_CACHE_CONTROL, PINNED_CACHE_CONTROL, versionHeaders } from "./http";
import {
  type CacheLayer,
  IsolateCache,
  type IsolateCacheOptions,
  type WaitUntil,
} from "./isolate-cache";

/**
 * Reads published prompts and read-key records from Workers KV through the isolate cache. Every
 * function takes the KV namespace as a parameter, so tests can hand in a faulty one.
 *
 * What is cached is ready to send: the JSON body and ETag of each version are built once per
 * cache fill, not per request.
 */

/** KV `cacheTtl` (seconds) per key family. KV caches "not found" for the same time. */
export const KV_CACHE_TTL = {
  /** Pointers move; 30 s is the minimum KV accepts. */
  pointer: 30,
  /**
   * Versions never change, but a version read before it reached this location is cached as
   * missing for this long: a new pinned version would 404 here for that time. The minimum, not
   * a long TTL plus a retry of misses: KV does not document that a shorter cacheTtl on the retry
   * bypasses a "not found" already cached with a longer one. Cost: a hot version is re-read
   * upstream once per 30 s per location, behind the isolate cache.
   */
  version: 30,
  /** Bounds how long a revoked key keeps working (see README: revocation). */
  readKey: 60,
} as const;

/** One version, serialized once for every response that serves it. */
export interface ServedVersion {
  readonly published: PublishedVersion;
  readonly label: string | null;
  /** The response body: the public JSON shape of a resolved prompt. */
  readonly body: string;
  /** `"<content hash>.v<version>"`: the body also carries the version, so equal content of two
   * versions must not share an ETag (a 304 would keep the old version number). */
  readonly etag: string;
  readonly versionHeader: string;
  /**
   * The headers of this version's answer on an isolate hit (http.ts `versionHeaders`), built
   * once: a response copies them and sets only what differs for its request, which costs workerd
   * far less than building them from a literal each time (bench/hit-loop.ts).
   */
  readonly headers: Headers;
  /** The ETag `headers` carry; undefined when they carry none, and a response sets `etag`. */
  readonly headersEtag: string | undefined;
  /** Set when the label runs an experiment: the response then depends on the unit id. */
  readonly experiment?: ExperimentResult;
}

/** What a response says about the experiment its label runs (`experiment` in the body). */
export interface ExperimentResult {
  id: string;
  key: string;
  variant: string;
  /** The unit's hash in [0, 1); null without a unit id. */
  bucket: number | null;
  reason: AssignmentReason;
}

/** One arm of a running experiment, its body prebuilt up to the `experiment` member. */
export interface ServedArm {
  readonly key: string;
  readonly version: ServedVersion;
  /**
   * `version.body` up to the unit's bucket: its `experiment` member opened with this arm's id,
   * key and variant (`…,"experiment":{"id":…,"key":…,"variant":…,"bucket":`). An assignment
   * appends the bucket and reason only, so a hit builds no JSON of its own.
   */
  readonly bodyHead: string;
  /** The ETag up to the unit's bucket tag: `"<hash>.v<version>.<experiment id>.<variant>.` */
  readonly etagHead: string;
  /** The shared headers of this arm's answers, which depend on the unit. */
  readonly headers: Headers;
}

/** A running experiment as the edge assigns it: built once per cache fill. */
export interface ServedExperiment {
  readonly definition: PublishedExperiment;
  readonly assignable: AssignableExperiment;
  /** Control first, as in the definition. */
  readonly arms: readonly ServedArm[];
  /** The pointer's `experimentRev`: it grows whenever the definition (its weights) changes. */
  readonly rev: number;
}

/** Every body ends with this when its label runs no experiment (and for pinned versions). */
export const NO_EXPERIMENT_TAIL = ',"experiment":null}';

/**
 * What a label or version key resolves to: one version, a weighted split of several, or (with
 * `archivedAt` and no `first`) nothing, because the prompt is archived.
 */
export interface ServedPrompt {
  readonly first?: ServedVersion;
  readonly archivedAt?: string;
  /** Set only for a pointer with several targets (A/B split). */
  readonly pointer?: LabelPointer;
  readonly byVersion?: ReadonlyMap<number, ServedVersion>;
  /** Set while the label runs an experiment; `first` is then its control. */
  readonly experiment?: ServedExperiment;
  readonly bytes: number;
}

/** A key record as checked per request: the expiry parsed once. */
export interface ReadKey {
  readonly projectId: string;
  readonly keyId: string;
  readonly role: ReadKeyRecord["role"];
  readonly expiresAtMs: number;
  /** May send telemetry through the edge; false for records published before the field. */
  readonly sendTelemetry: boolean;
  /** The project's browser origins (`core/origins.ts`); none for records from before them. */
  readonly origins: readonly string[];
  /** The key's own origins, which an origin must match too; null: the project's alone. */
  readonly keyOrigins: readonly string[] | null;
  /** A public key of a browser app: only from an allowed origin, and never events or traces. */
  readonly browser: boolean;
}

export function serveVersion(published: PublishedVersion, label: string | null): ServedVersion {
  const json = JSON.stringify({
    name: published.name,
    type: published.type,
    version: published.version,
    label,
    prompt: published.prompt,
    config: published.config,
    variables: published.variables,
    hash: published.hash,
    commitMessage: published.commitMessage,
    createdAt: published.createdAt,
    // Known only for versions a label pointer embeds (a pinned read's record has neither).
    labels: published.labels,
    tags: published.tags,
  });
  // `experiment` is last so an assignment can splice its own in (see ServedArm.bodyHead).
  const body = `${json.slice(0, -1)}${NO_EXPERIMENT_TAIL}`;
  const versionHeader = String(published.version);
  const etag = `"${published.hash}.v${published.version}"`;
  return {
    published,
    label,
    body,
    etag,
    versionHeader,
    headers: versionHeaders(versionHeader, cacheControlOf(published, label), etag, false),
    headersEtag: etag,
  };
}

/**
 * A label's answer is revalidated (the label can move at any time); a pinned version's is
 * immutable, unless it includes a label (prompt references): it then changes when that label
 * moves.
 */
function cacheControlOf(published: PublishedVersion, label: string | null): string {
  return label !== null || published.resolution?.followsLabels
    ? LABEL_CACHE_CONTROL
    : PINNED_CACHE_CONTROL;
}

export function servePointer(pointer: LabelPointer): ServedPrompt | null {
  const served = pointer.versions.map((version) => serveVersion(version, pointer.label));
  const first = served.find((version) => version.published.version === pointer.targets[0]?.version);
  if (!first) return null;
  // Bodies dominate memory; strings are UTF-16, so two bytes per code unit.
  const bytes = served.reduce((sum, version) => sum + version.body.length * 2, 256);
  const experiment =
    pointer.experiment && serveExperiment(pointer.experiment, served, pointer.experimentRev ?? 0);
  if (experiment) return { first, experiment, bytes };
  if (pointer.targets.length === 1) return { first, bytes };
  const byVersion = new Map(served.map((version) => [version.published.version, version]));
  return { first, pointer, byVersion, bytes };
}

function serveExperiment(
  definition: PublishedExperiment,
  served: ServedVersion[],
  rev: number,
): ServedExperiment | undefined {
  const arms: ServedArm[] = [];
  for (const variant of definition.variants) {
    const version = served.find((candidate) => candidate.published.version === variant.version);
    if (!version) {
      // A pointer missing a variant's version is malformed: serve the label's version alone.
      console.error(`experiment ${definition.id}: version ${variant.version} not embedded`);
      return undefined;
    }
    const opened = JSON.stringify({ id: definition.id, key: definition.key, variant: variant.key });
    arms.push({
      key: variant.key,
      version,
      bodyHead: `${version.body.slice(0, -NO_EXPERIMENT_TAIL.length)},"experiment":${opened.slice(0, -1)},"bucket":`,
      headers: versionHeaders(version.versionHeader, LABEL_CACHE_CONTROL, undefined, true),
      etagHead: `"${version.published.hash}.v${version.published.version}.${definition.id}.${variant.key}.`,
    });
  }
  return {
    definition,
    assignable: {
      seed: definition.seed,
      hashVersion: definition.hashVersion,
      coverage: definition.coverage,
      weights: definition.variants.map((variant) => variant.weight),
    },
    arms,
    rev,
  };
}

/** The version a resolved prompt serves for this request (a weighted draw for a split). */
export function pickVersion(prompt: ServedPrompt): ServedVersion | undefined {
  if (!prompt.pointer || !prompt.byVersion) return prompt.first;
  const chosen = pointerVersion(prompt.pointer);
  return chosen && prompt.byVersion.get(chosen.version);
}

const sizeOfPrompt = (prompt: ServedPrompt | null) => (prompt ? prompt.bytes : 64);

/**
 * Bounds: an isolate has 128 MB; 20,000 entries keep a 10,000-prompt project (label + a few
 * pinned versions) fully cached, 32 MiB caps the worst case of large prompts.
 */
export const promptCache = new IsolateCache<ServedPrompt | null>({
  maxEntries: 20_000,
  maxBytes: 32 * 1024 * 1024,
  staleWhileRevalidateMs: 10_000,
  staleIfErrorMs: 24 * 60 * 60 * 1000,
  sizeOf: sizeOfPrompt,
});

export const READ_KEY_CACHE_OPTIONS: IsolateCacheOptions<ReadKey | null> = {
  maxEntries: 5_000,
  maxBytes: 2 * 1024 * 1024,
  staleWhileRevalidateMs: 10_000,
  // A KV outage should not lock every application out, but a revoked (maybe leaked) key must not
  // outlive it by long: 10 min covers short outages; the SDK falls back to its copy beyond.
  staleIfErrorMs: 10 * 60 * 1000,
  // The record's fixed part, plus its origins (2 bytes a character): a long list costs its size.
  sizeOf: (key) => {
    let bytes = 192;
    for (const origin of key ? [...key.origins, ...(key.keyOrigins ?? [])] : []) {
      bytes += 2 * origin.length;
    }
    return bytes;
  },
};

export const readKeyCache = new IsolateCache<ReadKey | null>(READ_KEY_CACHE_OPTIONS);

/** Where a store function reads from and how it may cache. */
export interface StoreContext {
  kv: KVNamespace;
  ttlMs: number;
  waitUntil: WaitUntil;
  prompts?: IsolateCache<ServedPrompt | null>;
  readKeys?: IsolateCache<ReadKey | null>;
}

export interface Resolved<V> {
  value: V;
  layer: CacheLayer;
}

/** A KV failure with nothing cached to fall back on: 503, so clients know to retry. */
function kvUnavailable(cause: unknown): never {
  console.error("KV read failed", cause);
  throw new ProblemError(
    "unavailable",
    "Prompt storage is temporarily unavailable; retry in a few seconds.",
  );
}

/**
 * A record in a format this worker does not know (a newer publisher, a half-finished upgrade):
 * refused loudly rather than misread; the isolate cache still serves its last good value.
 */
function recordOf<T>(read: (key: string, value: unknown) => T, key: string, value: unknown): T {
  try {
    return read(key, value);
  } catch (error) {
    if (!(error instanceof KvFormatError)) throw error;
    console.error(error.message);
    throw new ProblemError(
      "unavailable",
      "This prompt was published in a format this edge does not know yet; retry shortly.",
    );
  }
}

const withdrawnPrompt = (record: WithdrawnRecord): ServedPrompt => ({
  archivedAt: record.archivedAt,
  bytes: 128,
});

export async function loadPointer(kv: KVNamespace, key: string): Promise<ServedPrompt | null> {
  const value = await kv
    .get(key, { type: "json", cacheTtl: KV_CACHE_TTL.pointer })
    .catch(kvUnavailable);
  const pointer = recordOf(readLabelPointer, key, value);
  if (isWithdrawn(pointer)) return withdrawnPrompt(pointer);
  return pointer ? servePointer(pointer) : null;
}

export async function loadVersion(kv: KVNamespace, key: string): Promise<ServedPrompt | null> {
  const value = await kv
    .get(key, { type: "json", cacheTtl: KV_CACHE_TTL.version })
    .catch(kvUnavailable);
  const published = recordOf(readVersionRecord, key, value);
  if (isWithdrawn(published)) return withdrawnPrompt(published);
  if (!published) return null;
  const first = serveVersion(published, null);
  return { first, bytes: first.body.length * 2 + 256 };
}

/** The prompt a label points at, or null when the prompt or label does not exist. */
export function resolveLabel(
  store: StoreContext,
  projectId: string,
  name: string,
  label: string,
): Promise<Resolved<ServedPrompt | null>> | Resolved<ServedPrompt | null> {
  const cache = store.prompts ?? promptCache;
  const key = labelPointerKey(projectId, name, label);
  const hit = cache.fresh(key, store.ttlMs);
  if (hit) return { value: hit.value, layer: "isolate" };
  return cache.read(key, store.ttlMs, (k) => loadPointer(store.kv, k), store.waitUntil);
}

/**
 * A label's prompt if the isolate cache holds it fresh, else undefined (and nothing is read):
 * for a path that serves hits itself and hands everything else to `resolveLabel`.
 */
export function cachedLabel(
  store: StoreContext,
  projectId: string,
  name: string,
  label: string,
): ServedPrompt | null | undefined {
  return (store.prompts ?? promptCache).fresh(labelPointerKey(projectId, name, label), store.ttlMs)
    ?.value;
}

/** The same for a pinned version. */
export function cachedVersion(
  store: StoreContext,
  projectId: string,
  name: string,
  version: number,
): ServedPrompt | null | undefined {
  return (store.prompts ?? promptCache).fresh(versionKey(projectId, name, version), store.ttlMs)
    ?.value;
}

/** One pinned version, or null when it does not exist. */
export function resolveVersion(
  store: StoreContext,
  projectId: string,
  name: string,
  version: number,
): Promise<Resolved<ServedPrompt | null>> | Resolved<ServedPrompt | null> {
  const cache = store.prompts ?? promptCache;
  const key = versionKey(projectId, name, version);
  const hit = cache.fresh(key, store.ttlMs);
  if (hit) return { value: hit.value, layer: "isolate" };
  return cache.read(key, store.ttlMs, (k) => loadVersion(store.kv, k), store.waitUntil);
}

export interface BatchResolution {
  found: Map<string, ServedPrompt>;
  missing: string[];
  /** The slowest layer involved: `kv` if anything was read, `stale` if anything was stale. */
  layer: CacheLayer;
}

/**
 * Resolves a label of many prompts: cache hits first, then ONE bulk KV read for the misses
 * (KV counts a bulk get of up to 100 keys as one operation). `names` must be unique, ≤ 100.
 */
export async function resolveLabels(
  store: StoreContext,
  projectId: string,
  names: readonly string[],
  label: string,
): Promise<BatchResolution> {
  const cache = store.prompts ?? promptCache;
  const found = new Map<string, ServedPrompt>();
  const missing: string[] = [];
  const toRead: string[] = [];
  const toRefresh: string[] = [];
  const keyOf = new Map<string, string>();
  let layer: CacheLayer = "isolate";

  for (const name of names) {
    const key = labelPointerKey(projectId, name, label);
    keyOf.set(key, name);
    let hit = cache.fresh(key, store.ttlMs);
    if (!hit) {
      hit = cache.revalidatable(key, store.ttlMs);
      if (!hit) {
        toRead.push(key);
        continue;
      }
      toRefresh.push(key);
      if (layer === "isolate") layer = "revalidating";
    }
    if (hit.value) found.set(name, hit.value);
    else missing.push(name);
  }

  if (toRefresh.length > 0) {
    store.waitUntil(readPointers(store.kv, toRefresh, cache, store.ttlMs).catch(() => undefined));
  }
  if (toRead.length > 0) {
    let read: Map<string, ServedPrompt | null>;
    try {
      read = await readPointers(store.kv, toRead, cache, store.ttlMs);
      layer = "kv";
    } catch (error) {
      read = new Map();
      for (const key of toRead) {
        const good = cache.lastKnownGood(key, store.ttlMs);
        if (!good) throw error;
        read.set(key, good.value);
      }
      layer = "stale";
    }
    for (const [key, value] of read) {
      const name = keyOf.get(key) as string;
      if (value) found.set(name, value);
      else missing.push(name);
    }
  }
  return { found, missing, layer };
}

async function readPointers(
  kv: KVNamespace,
  keys: string[],
  cache: IsolateCache<ServedPrompt | null>,
  ttlMs: number,
): Promise<Map<string, ServedPrompt | null>> {
  const pointers = await kv
    .get(keys, { type: "json", cacheTtl: KV_CACHE_TTL.pointer })
    .catch(kvUnavailable);
  const served = new Map<string, ServedPrompt | null>();
  for (const key of keys) {
    const pointer = recordOf(readLabelPointer, key, pointers.get(key));
    const value = isWithdrawn(pointer)
      ? withdrawnPrompt(pointer)
      : pointer
        ? servePointer(pointer)
        : null;
    served.set(key, value);
    if (ttlMs > 0) cache.set(key, value);
  }
  return served;
}

/**
 * The record of a well-formed read key, or null when the key is unknown. The isolate cache is
 * keyed by the key itself so a hit needs no SHA-256; the plaintext never leaves memory.
 */
export function findReadKey(
  store: StoreContext,
  token: string,
): Promise<Resolved<ReadKey | null>> | Resolved<ReadKey | null> {
  const cache = store.readKeys ?? readKeyCache;
  const hit = cache.fresh(token, store.ttlMs);
  if (hit) return { value: hit.value, layer: "isolate" };
  return cache.read(token, store.ttlMs, (t) => loadReadKey(store.kv, t), store.waitUntil);
}

/** A key's record if the isolate cache holds it fresh, else undefined (and nothing is read). */
export function cachedReadKey(store: StoreContext, token: string): ReadKey | null | undefined {
  return (store.readKeys ?? readKeyCache).fresh(token, store.ttlMs)?.value;
}

async function loadReadKey(kv: KVNamespace, token: string): Promise<ReadKey | null> {
  const key = readKeyRecordKey(await hashKey(token));
  const value = await kv
    .get(key, { type: "json", cacheTtl: KV_CACHE_TTL.readKey })
    .catch(kvUnavailable);
  const record = recordOf(readReadKeyRecord, key, value);
  if (!record) return null;
  return {
    projectId: record.projectId,
    keyId: record.keyId,
    role: record.role,
    expiresAtMs:
      record.expiresAt === null ? Number.POSITIVE_INFINITY : Date.parse(record.expiresAt),
    sendTelemetry: maySendTelemetry(record),
    origins: record.origins ?? [],
    keyOrigins: record.keyOrigins ?? null,
    browser: record.browser === true,
  };
}
