import {
  isWithdrawn,
  KV_FORMAT,
  labelPointerKey,
  labelPointerPrefix,
  labelPointerRecord,
  type PublishedVersion,
  projectPointerPrefix,
  readLabelPointer,
  versionKey,
  versionRecord,
  withdrawnRecord,
} from "@cuecard/core/kv-records";
import { and, asc, eq } from "drizzle-orm";
import type { Database } from "../../platform/db/client";
import {
  labelHistory,
  labels,
  type PromptRow,
  prompts,
  type VersionRow,
  versions,
} from "../../platform/db/schema";
import { publishProjectKeys } from "../access/publish";
import { experimentsByLabel } from "../experiments/publish";
import { ReferenceProblem, withReferencesResolved } from "./references";

/**
 * D1 → KV. The publisher always reads the *current* D1 state and writes that, so a late or
 * duplicated publish converges instead of regressing; a pointer is only overwritten by one with
 * a higher `rev`. Version keys are written before the pointers that name them, so a reader never
 * finds a pointer to a version key that does not exist yet.
 */

export interface PublishDeps {
  db: Database;
  kv: KVNamespace;
}

export interface PublishReport {
  versionsWritten: number;
  pointersWritten: number;
  pointersDeleted: number;
  keysWritten: number;
  keysDeleted: number;
}

const emptyReport = (): PublishReport => ({
  versionsWritten: 0,
  pointersWritten: 0,
  pointersDeleted: 0,
  keysWritten: 0,
  keysDeleted: 0,
});

function addReports(into: PublishReport, from: PublishReport) {
  into.versionsWritten += from.versionsWritten;
  into.pointersWritten += from.pointersWritten;
  into.pointersDeleted += from.pointersDeleted;
  into.keysWritten += from.keysWritten;
  into.keysDeleted += from.keysDeleted;
}

/** A version row as the edge serves it; the admin API's version view adds to this. */
export function toPublishedVersion(prompt: PromptRow, version: VersionRow): PublishedVersion {
  return {
    name: prompt.name,
    type: prompt.type,
    version: version.version,
    prompt: version.prompt,
    config: version.config,
    variables: version.variables,
    hash: version.hash,
    commitMessage: version.commitMessage,
    createdAt: version.createdAt,
  };
}

async function listKeys(kv: KVNamespace, prefix: string): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await kv.list({ prefix, cursor });
    for (const key of page.keys) names.push(key.name);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return names;
}

/**
 * Publish targets name what a change touched: `prompt:{name}`, `prompt:{name}#{version}`,
 * `prompt:{name}#all` (every version: a restore brings them all back), `key:{id}`.
 */
export function promptTarget(name: string, version?: number | number[] | "all") {
  if (version === undefined) return `prompt:${name}`;
  return `prompt:${name}#${Array.isArray(version) ? version.join(",") : version}`;
}
/** Publishes what a `prompt:` target (`promptTarget`, without its prefix) names. */
export async function publishPromptTarget(deps: PublishDeps, projectId: string, target: string) {
  const [name = "", version] = target.split("#");
  if (version === "all") return publishPrompt(deps, projectId, name, { allVersions: true });
  // `#3,5`: several versions (the includers of a moved label, `prompt.reference.moved`).
  return publishPrompt(deps, projectId, name, {
    ensureVersions: version ? version.split(",").map(Number) : [],
  });
}

/**
 * Brings one prompt's KV keys in line with D1: its labelled versions and pointers, the versions
 * named in `ensureVersions` (all of them with `allVersions`), and no pointer for a label that D1
 * no longer has. An archived prompt serves nothing: every pointer and version key it has is
 * overwritten with a withdrawn record. `force` rewrites even what looks up to date.
 *
 * An archive or restore may commit while this runs, and KV has no compare-and-set, so the
 * prompt is read again at the end and, if it was archived or restored meanwhile, converged again.
 */
export async function publishPrompt(
  deps: PublishDeps,
  projectId: string,
  name: string,
  options: { ensureVersions?: number[]; allVersions?: boolean; force?: boolean } = {},
): Promise<PublishReport> {
  const report = emptyReport();
  let archivedAt: string | null | undefined;
  for (let pass = 0; pass < 3; pass++) {
    const prompt = await deps.db.query.prompts.findFirst({
      where: and(eq(prompts.projectId, projectId), eq(prompts.name, name)),
    });
    if (pass > 0 && (prompt?.archivedAt ?? null) === archivedAt) break;
    archivedAt = prompt?.archivedAt ?? null;
    // After a restore seen late, every version must come back, not just the labelled ones.
    const again = pass > 0 ? { ...options, allVersions: true } : options;
    addReports(
      report,
      prompt?.archivedAt
        ? await withdrawPrompt(deps, projectId, prompt)
        : await publishLivePrompt(deps, projectId, name, prompt, again),
    );
  }
  return report;
}

/** Overwrites every pointer and version key of an archived prompt with a withdrawn record. */
async function withdrawPrompt(
  deps: PublishDeps,
  projectId: string,
  prompt: PromptRow,
): Promise<PublishReport> {
  const { db, kv } = deps;
  const report = emptyReport();
  const withdrawn = JSON.stringify(withdrawnRecord(prompt.name, prompt.archivedAt ?? ""));
  const rows = await db
    .select({ version: versions.version })
    .from(versions)
    .where(eq(versions.promptId, prompt.id));
  for (const { version } of rows) {
    await kv.put(versionKey(projectId, prompt.name, version), withdrawn);
    report.versionsWritten++;
  }
  // The labels D1 still has (they come back on restore), and any other pointer KV shows.
  const labelRows = await db
    .select({ name: labels.name })
    .from(labels)
    .where(eq(labels.promptId, prompt.id));
  const keys = new Set(labelRows.map((l) => labelPointerKey(projectId, prompt.name, l.name)));
  for (const key of await listKeys(kv, labelPointerPrefix(projectId, prompt.name))) keys.add(key);
  for (const key of keys) {
    await kv.put(key, withdrawn);
    report.pointersWritten++;
  }
  return report;
}

async function publishLivePrompt(
  deps: PublishDeps,
  projectId: string,
  name: string,
  prompt: PromptRow | undefined,
  options: { ensureVersions?: number[]; allVersions?: boolean; force?: boolean },
): Promise<PublishReport> {
  const { db, kv } = deps;
  const report = emptyReport();
  const existingPointers = new Set(await listKeys(kv, labelPointerPrefix(projectId, name)));
  const livePointers = new Set<string>();

  if (prompt) {
    const written = new Set<number>();
    // What each version serves: with its prompt references resolved against D1 now. One that no
    // longer resolves (only a race of two saves could do that) is not written: the edge keeps
    // serving what it has, and the next publish tries again.
    const served = new Map<number, Promise<PublishedVersion | null>>();
    const publishedOf = (version: VersionRow) => {
      let published = served.get(version.version);
      if (!published) {
        published = withReferencesResolved(
          db,
          projectId,
          prompt,
          version,
          toPublishedVersion(prompt, version),
        ).catch((error) => {
          if (!(error instanceof ReferenceProblem)) throw error;
          console.error(`not publishing ${name}#${version.version}: ${error.message}`);
          return null;
        });
        served.set(version.version, published);
      }
      return published;
    };
    const putVersion = async (version: VersionRow, mustWrite: boolean) => {
      if (written.has(version.version)) return;
      written.add(version.version);
      const published = await publishedOf(version);
      if (!published) return;
      const key = versionKey(projectId, name, version.version);
      // Versions are immutable: once the key holds the version in the current format it is
      // right, so only its absence, an older format, the withdrawn record of an archive since
      // restored, or new content of what it includes (another hash) needs a write.
      if (!mustWrite && !options.force) {
        const current = await kv.get<{ format?: unknown; hash?: unknown }>(key, "json");
        if (
          current !== null &&
          !isWithdrawn(current) &&
          current.format === KV_FORMAT &&
          current.hash === published.hash
        ) {
          return;
        }
      }
      await kv.put(key, JSON.stringify(versionRecord(published)));
      report.versionsWritten++;
    };
    const wanted = options.allVersions
      ? await db.select().from(versions).where(eq(versions.promptId, prompt.id))
      : options.ensureVersions?.length
        ? (await db.select().from(versions).where(eq(versions.promptId, prompt.id))).filter((v) =>
            options.ensureVersions?.includes(v.version),
          )
        : [];
    for (const version of wanted) await putVersion(version, false);

    // KV has no compare-and-set: a slower publisher holding an older D1 read could overwrite a
    // newer pointer after our check. So after writing, D1 is read again and any label that moved
    // meanwhile is written again, until the pointers written match D1.
    // A pointer's state is its label's rev and its experiments' rev (starting or pausing an
    // experiment changes what the label serves without moving it).
    const handledRev = new Map<string, string>();
    let allVersions: VersionRow[] | undefined;
    /** Whether each embedded variant version still resolves to the content the pointer holds. */
    const variantsServeTheSame = async (embedded: readonly { version: number; hash: string }[]) => {
      for (const variant of embedded) {
        allVersions ??= await db.select().from(versions).where(eq(versions.promptId, prompt.id));
        const row = allVersions.find((v) => v.version === variant.version);
        const now = row && (await publishedOf(row));
        if (!now || now.hash !== variant.hash) return false;
      }
      return true;
    };
    for (let round = 0; round < 3; round++) {
      const labelled = await labelledVersions(db, prompt.id);
      const experimentsOf = await experimentsByLabel(db, prompt.id);
      // Each embedded version carries its labels and the prompt's tags (what the Langfuse shape
      // serves), so moving one label rewrites every pointer whose versions' labels it changed.
      const labelsOf = new Map<number, string[]>();
      for (const { labels: label } of labelled) {
        labelsOf.set(label.version, [...(labelsOf.get(label.version) ?? []), label.name]);
      }
      const embeddedView = (version: number) =>
        JSON.stringify([labelsOf.get(version) ?? [], prompt.tags]);
      const stateOf = (label: string, rev: number, version: number) =>
        `${rev}:${experimentsOf.get(label)?.rev ?? 0}:${embeddedView(version)}`;
      const pending = labelled.filter(
        ({ labels: label }) =>
          handledRev.get(label.name) !== stateOf(label.name, label.rev, label.version),
      );
      if (pending.length === 0) break;
      for (const { labels: label, versions: version } of pending) {
        const key = labelPointerKey(projectId, name, label.name);
        livePointers.add(key);
        handledRev.set(label.name, stateOf(label.name, label.rev, label.version));
        const experiment = experimentsOf.get(label.name);
        const experimentRev = experiment?.rev ?? 0;
        const published = await publishedOf(version);
        if (!published) continue;
        if (!options.force && round === 0) {
          const current = readLabelPointer(key, await kv.get(key, "json"));
          if (
            current &&
            !isWithdrawn(current) &&
            // What it includes moved: the label's version serves other content.
            current.versions[0]?.hash === published.hash &&
            // … or a running experiment's variant does.
            (await variantsServeTheSame(current.versions.slice(1))) &&
            current.rev >= label.rev &&
            (current.experimentRev ?? 0) >= experimentRev &&
            // A pointer at exactly this state is rewritten only when its versions' labels or
            // tags changed (another label moved); a newer one is never overwritten.
            (current.rev > label.rev ||
              (current.experimentRev ?? 0) > experimentRev ||
              current.versions.every(
                (embedded) =>
                  JSON.stringify([embedded.labels, embedded.tags]) ===
                  embeddedView(embedded.version),
              ))
          ) {
            continue;
          }
        }
        await putVersion(version, false);
        const embedded = [published];
        const running = experiment?.running ?? null;
        if (running) {
          allVersions ??= await db.select().from(versions).where(eq(versions.promptId, prompt.id));
          for (const variant of running.variants) {
            const row = allVersions.find((v) => v.version === variant.version);
            const variantPublished = row && (await publishedOf(row));
            if (variantPublished && !embedded.some((v) => v.version === row.version)) {
              await putVersion(row, false);
              embedded.push(variantPublished);
            }
          }
        }
        const pointer = labelPointerRecord({
          rev: label.rev,
          name,
          label: label.name,
          targets: [{ version: version.version, weight: 1 }],
          versions: embedded.map((published) => ({
            ...published,
            labels: labelsOf.get(published.version) ?? [],
            tags: prompt.tags,
          })),
          experiment: running,
          experimentRev,
          updatedAt: label.updatedAt,
        });
        await kv.put(key, JSON.stringify(pointer));
        report.pointersWritten++;
      }
    }
  }

  // Labels D1 says are gone: named by the label history, since a KV list may not show a pointer
  // written moments ago. The list catches pointers D1 never knew.
  if (prompt) {
    const everLabelled = await db
      .selectDistinct({ label: labelHistory.label })
      .from(labelHistory)
      .where(eq(labelHistory.promptId, prompt.id));
    for (const { label } of everLabelled) {
      const key = labelPointerKey(projectId, name, label);
      if (!livePointers.has(key) && !existingPointers.has(key)) {
        await kv.delete(key);
        report.pointersDeleted++;
      }
    }
  }
  for (const key of existingPointers) {
    if (!livePointers.has(key)) {
      await kv.delete(key);
      report.pointersDeleted++;
    }
  }
  return report;
}

function labelledVersions(db: Database, promptId: number) {
  return db
    .select()
    .from(labels)
    .innerJoin(
      versions,
      and(eq(versions.promptId, labels.promptId), eq(versions.version, labels.version)),
    )
    .where(eq(labels.promptId, promptId))
    .orderBy(asc(labels.name));
}

/**
 * KV allows about 1,000 operations per Worker invocation. A republish stops between prompts once
 * it has used this many and reports where to resume, so any project can be rebuilt in steps.
 */
export const REPUBLISH_KV_BUDGET = 600;

export interface RepublishReport extends PublishReport {
  /** False when the budget ran out: call again with `after: nextCursor`. */
  complete: boolean;
  nextCursor: string | null;
}

/** Counts the KV operations made through it. */
function countingKv(kv: KVNamespace, counter: { ops: number }): KVNamespace {
  return new Proxy(kv, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        counter.ops++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/**
 * Rebuilds every KV key of a project from D1 and removes keys D1 no longer backs, prompt by
 * prompt in name order, starting after `after`.
 */
export async function republishProject(
  deps: PublishDeps,
  projectId: string,
  options: { after?: string; budget?: number } = {},
): Promise<RepublishReport> {
  const budget = options.budget ?? REPUBLISH_KV_BUDGET;
  const counter = { ops: 0 };
  const counted = { db: deps.db, kv: countingKv(deps.kv, counter) };
  const report = emptyReport();
  const projectPrompts = await deps.db
    .select({ name: prompts.name })
    .from(prompts)
    .where(eq(prompts.projectId, projectId))
    .orderBy(asc(prompts.name));
  const known = new Set(projectPrompts.map((prompt) => prompt.name));
  for (const { name } of projectPrompts) {
    if (options.after !== undefined && name <= options.after) continue;
    if (counter.ops >= budget) {
      const previous = projectPrompts[projectPrompts.findIndex((p) => p.name === name) - 1];
      return { ...report, complete: false, nextCursor: previous?.name ?? null };
    }
    addReports(
      report,
      await publishPrompt(counted, projectId, name, { allVersions: true, force: true }),
    );
  }
  // Pointers of prompts D1 does not know at all (e.g. written by hand, or a restored backup).
  const prefix = projectPointerPrefix(projectId);
  for (const key of await listKeys(counted.kv, prefix)) {
    const name = key.slice(prefix.length, key.lastIndexOf("@"));
    if (!known.has(name)) {
      await counted.kv.delete(key);
      report.pointersDeleted++;
    }
  }
  addReports(report, { ...emptyReport(), ...(await publishProjectKeys(counted, projectId)) });
  return { ...report, complete: true, nextCursor: null };
}
