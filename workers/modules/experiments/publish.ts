import type { HashVersion } from "@cuecard/core/assignment";
import type { PublishedExperiment } from "@cuecard/core/kv-records";
import { and, eq, gt } from "drizzle-orm";
import type { Database } from "../../platform/db/client";
import { type ExperimentRow, experiments } from "../../platform/db/schema";

/**
 * What a label's KV pointer carries of its experiments: the running one (if any), and the
 * highest `rev` of any experiment ever started on it, so the publisher rewrites a pointer when an
 * experiment starts, pauses, resumes or stops even though the label itself did not move.
 */
export interface LabelExperiments {
  running: PublishedExperiment | null;
  rev: number;
}

/** The seed unit ids are hashed with: the experiment's id and bucket version, never its name. */
export const seedOf = (row: Pick<ExperimentRow, "id" | "bucketVersion">) =>
  `${row.id}:${row.bucketVersion}`;

export function publishedExperimentOf(row: ExperimentRow): PublishedExperiment | null {
  if (row.state !== "running" || row.controlVersion === null) return null;
  return {
    id: row.id,
    key: row.key,
    seed: seedOf(row),
    hashVersion: row.hashVersion as HashVersion,
    coverage: row.coverage,
    variants: [
      { key: row.controlKey, version: row.controlVersion, weight: row.controlWeight },
      ...row.variants.map(({ key, version, weight }) => ({ key, version, weight })),
    ],
  };
}

/** Every label of a prompt that has had an experiment started on it. */
export async function experimentsByLabel(
  db: Database,
  promptId: number,
): Promise<Map<string, LabelExperiments>> {
  const rows = await db
    .select()
    .from(experiments)
    .where(and(eq(experiments.promptId, promptId), gt(experiments.rev, 0)));
  const byLabel = new Map<string, LabelExperiments>();
  for (const row of rows) {
    const entry = byLabel.get(row.label) ?? { running: null, rev: 0 };
    entry.rev = Math.max(entry.rev, row.rev);
    entry.running ??= publishedExperimentOf(row);
    byLabel.set(row.label, entry);
  }
  return byLabel;
}
