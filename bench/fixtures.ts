import type { LabelPointer, PublishedVersion } from "@cuecard/core/kv-records";
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
