import { env } from "cloudflare:workers";
import { generateKey, hashKey } from "@cuecard/core/keys";
import {
  type LabelPointer,
  labelPointerKey,
  labelPointerRecord,
  type PublishedVersion,
  readKeyRecord,
  readKeyRecordKey,
  versionKey,
  versionRecord,
} from "@cuecard/core/kv-records";
import {
  contentHash,
  type PromptContent,
  promptTypeOf,
  type VariableDeclaration,
} from "@cuecard/core/prompt";
import type { Role } from "@cuecard/core/roles";
import { deriveVariables } from "@cuecard/core/template";

/**
 * Seeds KV the way the admin worker publishes: records made by core's builders (the publisher's
 * own), version key first, then the pointer, so a change of the KV format breaks these tests too. Every factory makes unique names: storage is shared per test file.
 */

let sequence = 0;
export function uniqueName(prefix = "prompt"): string {
  sequence += 1;
  return `${prefix}-${Date.now().toString(36)}-${sequence}`;
}

export function uniqueProject(): string {
  return uniqueName("project");
}

export async function publishedVersion(
  name: string,
  version: number,
  prompt: PromptContent,
  declared: Record<string, VariableDeclaration> = {},
  config: Record<string, unknown> = { model: "gpt-test", temperature: 0.2 },
): Promise<PublishedVersion> {
  const type = promptTypeOf(prompt);
  const variables = deriveVariables(prompt, declared);
  return {
    name,
    type,
    version,
    prompt,
    config,
    variables,
    hash: await contentHash({ type, prompt, config, variables }),
    commitMessage: `v${version}`,
    createdAt: new Date(Date.UTC(2026, 0, version)).toISOString(),
  };
}

export interface SeededPrompt {
  project: string;
  name: string;
  versions: PublishedVersion[];
}

/**
 * Publishes `templates` as versions 1..n of a prompt and points each label of `labels` at a
 * version number (default: production → the last version).
 */
export async function seedPrompt(options: {
  project: string;
  name?: string;
  templates: PromptContent[];
  labels?: Record<string, number>;
  declared?: Record<string, VariableDeclaration>;
  kv?: KVNamespace;
}): Promise<SeededPrompt> {
  const kv = options.kv ?? env.PROMPTS_KV;
  const name = options.name ?? uniqueName();
  const versions: PublishedVersion[] = [];
  for (const [index, template] of options.templates.entries()) {
    const version = await publishedVersion(name, index + 1, template, options.declared);
    await kv.put(
      versionKey(options.project, name, version.version),
      JSON.stringify(versionRecord(version)),
    );
    versions.push(version);
  }
  const labels = options.labels ?? { production: versions.length };
  for (const [label, target] of Object.entries(labels)) {
    await putPointer(kv, options.project, name, label, versions[target - 1] as PublishedVersion);
  }
  return { project: options.project, name, versions };
}

let rev = 0;
export async function putPointer(
  kv: KVNamespace,
  project: string,
  name: string,
  label: string,
  version: PublishedVersion,
): Promise<LabelPointer> {
  rev += 1;
  const pointer = labelPointerRecord({
    rev,
    name,
    label,
    targets: [{ version: version.version, weight: 1 }],
    versions: [version],
    updatedAt: new Date().toISOString(),
  });
  await kv.put(labelPointerKey(project, name, label), JSON.stringify(pointer));
  return pointer;
}

/**
 * A read key whose record is published to KV (allowed to send telemetry, as new keys are; no
 * browser origins, as a new project has none).
 */
export async function seedReadKey(options: {
  project: string;
  role?: Role;
  expiresAt?: string | null;
  sendTelemetry?: boolean;
  keyId?: string;
  /** The project's allowed origins, as the publisher copies them onto every key record. */
  origins?: string[];
  keyOrigins?: string[] | null;
  browser?: boolean;
  kv?: KVNamespace;
}): Promise<string> {
  const role = options.role ?? "reader";
  const key = generateKey(role);
  const record = readKeyRecord({
    keyId: options.keyId ?? uniqueName("key"),
    projectId: options.project,
    role,
    expiresAt: options.expiresAt ?? null,
    sendTelemetry: options.sendTelemetry ?? true,
    origins: options.origins ?? [],
    keyOrigins: options.keyOrigins ?? null,
    browser: options.browser ?? false,
  });
  await (options.kv ?? env.PROMPTS_KV).put(
    readKeyRecordKey(await hashKey(key)),
    JSON.stringify(record),
  );
  return key;
}

/** A project with a read key, ready for requests. */
export async function seedProject(): Promise<{ project: string; key: string }> {
  const project = uniqueProject();
  return { project, key: await seedReadKey({ project }) };
}

export const encodeName = (name: string) => encodeURIComponent(name);
