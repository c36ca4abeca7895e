import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { CliError, ExitCode } from "./exit-codes";

/** `cuecard.json` at the root of a repository, written by `cuecard init`. Keys are not in it. */
export interface ProjectConfig {
  adminUrl: string;
  edgeUrl: string;
  project: string;
  /** Relative to the config file. */
  promptsDir: string;
}

export const CONFIG_FILE = "cuecard.json";

export interface LoadedConfig extends ProjectConfig {
  /** The directory holding cuecard.json. */
  root: string;
  /** promptsDir resolved to an absolute path. */
  promptsPath: string;
}

/** Finds cuecard.json in `cwd` or the nearest parent, like git finds .git. */
export async function loadConfig(cwd: string): Promise<LoadedConfig> {
  let dir = resolve(cwd);
  while (!existsSync(join(dir, CONFIG_FILE))) {
    const parent = dirname(dir);
    if (parent === dir) {
      throw new CliError(
        ExitCode.usage,
        `No ${CONFIG_FILE} here or in any parent directory. Run 'cuecard init' first.`,
        "no_config",
      );
    }
    dir = parent;
  }
  const path = join(dir, CONFIG_FILE);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new CliError(ExitCode.usage, `${path} is not valid JSON: ${(error as Error).message}`);
  }
  const config = parsed as Partial<ProjectConfig>;
  const missing = (["adminUrl", "edgeUrl", "project", "promptsDir"] as const).filter(
    (field) => typeof config[field] !== "string" || config[field] === "",
  );
  if (missing.length > 0) {
    throw new CliError(
      ExitCode.usage,
      `${path} lacks ${missing.join(", ")}; run 'cuecard init --force'.`,
    );
  }
  const complete = config as ProjectConfig;
  return { ...complete, root: dir, promptsPath: resolve(dir, complete.promptsDir) };
}

export function requireKey(
  env: NodeJS.ProcessEnv,
  variable: "CUECARD_API_KEY" | "CUECARD_READ_KEY",
) {
  const key = env[variable];
  if (!key) {
    const what =
      variable === "CUECARD_API_KEY"
        ? "an admin API key (cc_editor_… to push, cc_publisher_… to promote and roll back)"
        : "an edge read key (cc_reader_…)";
    throw new CliError(ExitCode.usage, `Set ${variable} to ${what}.`, "no_key");
  }
  return key;
}
