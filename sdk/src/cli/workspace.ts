import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import type { LoadedConfig } from "./config";
import { badFile, CliError, ExitCode } from "./exit-codes";
import {
  PROMPT_FILE_SUFFIX,
  type PromptFile,
  PromptFileError,
  parsePromptFile,
  promptNameOf,
  TEST_FILE_SUFFIX,
} from "./prompt-file";

/** The prompts kept in a repository: `<promptsDir>/**\/*.prompt.md`. */

export interface LocalPrompt {
  file: PromptFile;
  /** Relative to the current directory, for messages. */
  displayPath: string;
  path: string;
}

export function promptPath(config: LoadedConfig, name: string): string {
  return join(config.promptsPath, `${name}${PROMPT_FILE_SUFFIX}`);
}

export function testPath(promptFilePath: string): string {
  return promptFilePath.slice(0, -PROMPT_FILE_SUFFIX.length) + TEST_FILE_SUFFIX;
}

async function listPromptFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(PROMPT_FILE_SUFFIX))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

export async function readPromptFile(
  config: LoadedConfig,
  path: string,
  cwd: string,
): Promise<LocalPrompt> {
  const absolute = resolve(cwd, path);
  const displayPath = relative(cwd, absolute) || absolute;
  const fromRoot = relative(config.promptsPath, absolute);
  if (fromRoot.startsWith("..") || !absolute.endsWith(PROMPT_FILE_SUFFIX)) {
    throw badFile(
      displayPath,
      `prompt files are <promptsDir>/<name>${PROMPT_FILE_SUFFIX} under ${config.promptsDir}/`,
    );
  }
  let source: string;
  try {
    source = await readFile(absolute, "utf8");
  } catch {
    throw new CliError(ExitCode.notFound, `${displayPath} does not exist.`, "no_file");
  }
  try {
    return { file: parsePromptFile(promptNameOf(fromRoot), source), displayPath, path: absolute };
  } catch (error) {
    if (error instanceof PromptFileError) throw badFile(displayPath, error.message);
    throw error;
  }
}

/**
 * The local prompts, all of them or the named ones. Every file is parsed before anything is
 * sent, so one bad file stops a push before it changes anything.
 */
export async function readLocalPrompts(
  config: LoadedConfig,
  cwd: string,
  only: readonly string[] = [],
): Promise<LocalPrompt[]> {
  const paths =
    only.length > 0
      ? only.map((nameOrPath) =>
          nameOrPath.endsWith(PROMPT_FILE_SUFFIX)
            ? resolve(cwd, nameOrPath)
            : promptPath(config, nameOrPath),
        )
      : await listPromptFiles(config.promptsPath);
  const prompts: LocalPrompt[] = [];
  for (const path of paths) prompts.push(await readPromptFile(config, path, cwd));
  return prompts;
}

export async function writeTextFile(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}
