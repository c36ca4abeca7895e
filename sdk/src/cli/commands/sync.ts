import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { relative } from "node:path";
import type { AdminPrompt, AdminVersion, VersionInput } from "../../admin";
import { adminFor, type CliContext, type CommandResult } from "../context";
import { CliError, ExitCode } from "../exit-codes";
import { unifiedDiff } from "../line-diff";
import { declarationsOf, type PromptFile, serializePromptFile, versionOf } from "../prompt-file";
import { promptPath, readLocalPrompts, writeTextFile } from "../workspace";

/** pull (server → files), push (files → new versions) and diff (files vs a label). */

function fileOf(prompt: AdminPrompt, version: AdminVersion): PromptFile {
  const file: PromptFile = {
    name: prompt.name,
    type: version.type,
    description: prompt.description,
    tags: prompt.tags,
    prompt: version.prompt as PromptFile["prompt"],
    config: version.config,
    variables: declarationsOf(version.prompt as PromptFile["prompt"], version.variables),
    labels: [],
  };
  if (version.commitMessage) file.commitMessage = version.commitMessage;
  return file;
}

/** The file text without what is not content (commit message, labels to move): for diffs. */
function contentText(file: Omit<PromptFile, "name">): string {
  return serializePromptFile({ ...file, commitMessage: undefined, labels: [] });
}

function step(index: number, total: number): string {
  return `[${String(index + 1).padStart(String(total).length)}/${total}]`;
}

export async function pull(
  ctx: CliContext,
  options: { names: string[]; label?: string },
): Promise<CommandResult> {
  const { config, admin } = await adminFor(ctx);
  const label = options.label ?? "latest";
  const prompts =
    options.names.length > 0
      ? await Promise.all(options.names.map((name) => admin.getPrompt(config.project, name)))
      : await admin.listPrompts(config.project);
  const results: {
    name: string;
    status: "written" | "unchanged" | "skipped";
    version?: number;
    path?: string;
  }[] = [];
  for (const [index, prompt] of prompts.entries()) {
    const target = prompt.labels.find((candidate) => candidate.name === label);
    if (!target) {
      ctx.progress(
        `${step(index, prompts.length)} ${prompt.name}: has no label '${label}', skipped`,
      );
      results.push({ name: prompt.name, status: "skipped" });
      continue;
    }
    const version = await admin.getVersion(config.project, prompt.name, target.version);
    const text = serializePromptFile(fileOf(prompt, version));
    const path = promptPath(config, prompt.name);
    const displayPath = relative(ctx.cwd, path);
    const current = existsSync(path) ? await readFile(path, "utf8") : undefined;
    const status = current === text ? "unchanged" : "written";
    if (status === "written") await writeTextFile(path, text);
    ctx.progress(
      `${step(index, prompts.length)} ${prompt.name}: v${version.version} ${status} ${displayPath}`,
    );
    results.push({ name: prompt.name, status, version: version.version, path: displayPath });
  }
  const written = results.filter((result) => result.status === "written").length;
  ctx.print(
    `Pulled ${prompts.length} prompt(s) at '${label}': ${written} written, ${prompts.length - written} unchanged or skipped.`,
  );
  return { exitCode: ExitCode.ok, data: { label, prompts: results } };
}

type PushStatus = "created" | "versioned" | "metadata" | "unchanged";

export async function push(
  ctx: CliContext,
  options: { names: string[]; dryRun: boolean; message?: string; labels: string[] },
): Promise<CommandResult> {
  const { config, admin } = await adminFor(ctx);
  // Parse every file first: a bad file stops the push before anything changed.
  const locals = await readLocalPrompts(config, ctx.cwd, options.names);
  if (locals.length === 0) {
    throw new CliError(
      ExitCode.usage,
      `No *.prompt.md files under ${config.promptsDir}/; run 'cuecard pull' or add one.`,
    );
  }
  const results: {
    name: string;
    status: PushStatus;
    version?: number;
    /** The prompt's fields (description, tags) the push updated; a new version may come with it. */
    metadataUpdated?: ("description" | "tags")[];
    diff?: string;
  }[] = [];
  for (const [index, local] of locals.entries()) {
    const { file } = local;
    const { hash } = await versionOf(file);
    const input: VersionInput = {
      prompt: file.prompt,
      config: file.config,
      commitMessage:
        options.message ?? file.commitMessage ?? `Pushed ${local.displayPath} with cuecard`,
    };
    const labels = [...new Set([...file.labels, ...options.labels])];
    if (labels.length > 0) input.labels = labels;
    if (Object.keys(file.variables).length > 0) {
      input.variables = file.variables as VersionInput["variables"];
    }
    const remote = await admin.findPrompt(config.project, file.name);
    let result: (typeof results)[number];
    if (!remote) {
      result = {
        name: file.name,
        status: "created",
        version: 1,
        diff: unifiedDiff("", contentText(file), { before: "/dev/null", after: local.displayPath }),
      };
      if (!options.dryRun) {
        await admin.createPrompt(config.project, {
          name: file.name,
          description: file.description || undefined,
          tags: file.tags.length > 0 ? file.tags : undefined,
          version: input,
        });
      }
    } else {
      const latest =
        remote.latestVersion > 0
          ? await admin.getVersion(config.project, file.name, remote.latestVersion)
          : undefined;
      const contentChanged = latest?.hash !== hash;
      const metadataUpdated: ("description" | "tags")[] = [];
      if (remote.description !== file.description) metadataUpdated.push("description");
      if (remote.tags.join(",") !== file.tags.join(",")) metadataUpdated.push("tags");
      const metadataChanged = metadataUpdated.length > 0;
      result = {
        name: file.name,
        status: contentChanged ? "versioned" : metadataChanged ? "metadata" : "unchanged",
      };
      if (metadataChanged) result.metadataUpdated = metadataUpdated;
      if (contentChanged) {
        result.version = remote.latestVersion + 1;
        const before = latest ? contentText(fileOf(remote, latest)) : "";
        result.diff = unifiedDiff(before, contentText(file), {
          before: `${file.name} v${remote.latestVersion}`,
          after: local.displayPath,
        });
        if (latest && input.commitMessage === latest.commitMessage) {
          ctx.progress(
            `  warning: ${file.name}'s commitMessage is the same as v${latest.version}'s; say what changed`,
          );
        }
        if (!options.dryRun) {
          const created = await admin.createVersion(config.project, file.name, input);
          result.version = created.version;
        }
      }
      if (metadataChanged && !options.dryRun) {
        await admin.updatePrompt(config.project, file.name, {
          description: file.description,
          tags: file.tags,
        });
      }
    }
    const said: Record<PushStatus, string> = options.dryRun
      ? {
          created: "would be created as v1",
          versioned: `would get v${result.version}`,
          metadata: "description/tags would be updated",
          unchanged: "unchanged",
        }
      : {
          created: "created as v1",
          versioned: `new version v${result.version}`,
          metadata: "description/tags updated",
          unchanged: "unchanged, skipped",
        };
    // A new version and a metadata update can come in one push: say both.
    const alsoMetadata =
      result.status === "versioned" && result.metadataUpdated
        ? `; ${result.metadataUpdated.join(" and ")} ${options.dryRun ? "would be " : ""}updated`
        : "";
    ctx.progress(
      `${step(index, locals.length)} ${file.name}: ${said[result.status]}${alsoMetadata}`,
    );
    if (options.dryRun && result.diff && !ctx.json) ctx.print(result.diff);
    if (!options.dryRun) delete result.diff;
    results.push(result);
  }
  const count = (status: PushStatus) => results.filter((result) => result.status === status).length;
  // Counted by what was updated, not by status: a prompt that got a new version and a new
  // description is one new version and one metadata update.
  const metadataUpdates = results.filter((result) => result.metadataUpdated).length;
  ctx.print(
    `${options.dryRun ? "Dry run: " : ""}${count("created")} created, ${count("versioned")} new version(s), ${metadataUpdates} metadata update(s), ${count("unchanged")} unchanged.`,
  );
  return { exitCode: ExitCode.ok, data: { dryRun: options.dryRun, prompts: results } };
}

export async function diff(
  ctx: CliContext,
  options: { names: string[]; label?: string },
): Promise<CommandResult> {
  const { config, admin } = await adminFor(ctx);
  const label = options.label ?? "production";
  const locals = await readLocalPrompts(config, ctx.cwd, options.names);
  const results: {
    name: string;
    status: "same" | "changed" | "new" | "no-label";
    version?: number;
    diff?: string;
  }[] = [];
  for (const local of locals) {
    const { file } = local;
    const remote = await admin.findPrompt(config.project, file.name);
    const target = remote?.labels.find((candidate) => candidate.name === label);
    let before = "";
    let beforeName = "/dev/null";
    let status: (typeof results)[number]["status"] = remote ? "no-label" : "new";
    let version: number | undefined;
    if (remote && target) {
      const remoteVersion = await admin.getVersion(config.project, file.name, target.version);
      version = remoteVersion.version;
      const same = remoteVersion.hash === (await versionOf(file)).hash;
      status = same ? "same" : "changed";
      before = contentText(fileOf(remote, remoteVersion));
      beforeName = `${file.name}@${label} (v${version})`;
    }
    const text =
      status === "same"
        ? ""
        : unifiedDiff(before, contentText(file), { before: beforeName, after: local.displayPath });
    if (text && !ctx.json) ctx.print(text);
    results.push({ name: file.name, status, version, ...(text ? { diff: text } : {}) });
  }
  const different = results.filter((result) => result.status !== "same");
  ctx.print(
    different.length === 0
      ? `All ${results.length} local prompt(s) match '${label}'.`
      : `${different.length} of ${results.length} local prompt(s) differ from '${label}': ${different.map((result) => `${result.name} (${result.status})`).join(", ")}.`,
  );
  return {
    exitCode: different.length > 0 ? ExitCode.failed : ExitCode.ok,
    data: { label, prompts: results },
  };
}
