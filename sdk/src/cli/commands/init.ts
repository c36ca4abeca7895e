import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { CONFIG_FILE, type ProjectConfig } from "../config";
import type { CliContext, CommandResult } from "../context";
import { CliError, ExitCode } from "../exit-codes";

export async function init(
  ctx: CliContext,
  options: {
    adminUrl?: string;
    edgeUrl?: string;
    project?: string;
    promptsDir?: string;
    force?: boolean;
  },
): Promise<CommandResult> {
  const path = join(ctx.cwd, CONFIG_FILE);
  if (existsSync(path) && !options.force) {
    throw new CliError(
      ExitCode.usage,
      `${CONFIG_FILE} already exists; pass --force to overwrite it.`,
    );
  }
  const config: ProjectConfig = {
    adminUrl: options.adminUrl ?? "http://127.0.0.1:8787",
    edgeUrl: options.edgeUrl ?? "http://127.0.0.1:8788",
    project: options.project ?? "default",
    promptsDir: options.promptsDir ?? "prompts",
  };
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`);
  await mkdir(resolve(ctx.cwd, config.promptsDir), { recursive: true });
  ctx.print(
    `Wrote ${CONFIG_FILE} (project '${config.project}', prompts in ${config.promptsDir}/).`,
  );
  ctx.print("Next: export CUECARD_API_KEY=cc_editor_… and run 'cuecard pull'.");
  return { exitCode: ExitCode.ok, data: { config } };
}
