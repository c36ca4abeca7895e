import type { LabelPointer, PublishedExperiment, PublishedVersion } from "@cuecard/core/kv-records";
import { labelPointerRecord } from "@cuecard/core/kv-records";
import { contentHash, type PromptContent, promptTypeOf } from "@cuecard/core/prompt";
import { deriveVariables } from "@cuecard/core/template";

/** Published prompt records as the admin would write them to KV, for seeding the benchmarks. */

export async function published(name: string, version: number, prompt: PromptContent) {
  const type = promptTypeOf(prompt);
  const config = { model: "gpt-4o-mini", temperature: 0.2 };
  const variables = deriveVariables(prompt);
  const record: PublishedVersion = {
    name,
    type,
    version,
    prompt,
    config,
    variables,
    hash: await contentHash({ type, prompt, config, variables }),
    commitMessage: `v${version}`,
    createdAt: "2026-01-01T00:00:00.000Z",
  };
  return record;
}

export function pointer(version: PublishedVersion, label = "production"): LabelPointer {
  return labelPointerRecord({
    rev: 1,
    name: version.name,
    label,
    targets: [{ version: version.version, weight: 1 }],
    versions: [version],
    updatedAt: "2026-01-01T00:00:00.000Z",
  });
}

/** The experiment the bench runs: control (version 1) and a treatment (version 2), half each. */
export const BENCH_EXPERIMENT = {
  id: "exp_bench",
  key: "tone",
  seed: "exp_bench:1",
  hashVersion: 2,
  coverage: 1,
  variants: [
    { key: "control", version: 1, weight: 0.5 },
    { key: "treatment", version: 2, weight: 0.5 },
  ],
} satisfies PublishedExperiment;

/** `label` → control running BENCH_EXPERIMENT, as the admin's publisher writes a started one. */
export function experimentPointer(
  control: PublishedVersion,
  treatment: PublishedVersion,
  label = "production",
): LabelPointer {
  return labelPointerRecord({
    rev: 2,
    name: control.name,
    label,
    targets: [{ version: control.version, weight: 1 }],
    versions: [control, treatment],
    experiment: BENCH_EXPERIMENT,
    experimentRev: 1,
    updatedAt: "2026-01-01T00:00:00.000Z",
  });
}

/** Distinct unit ids, as an app would send its user ids. */
export function unitIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `user-${(i * 7919 + 104_729).toString(36)}`);
}
