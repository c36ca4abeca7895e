import { AdminClient } from "../admin";
import type { FetchFunction } from "../transport";
import { type LoadedConfig, loadConfig, requireKey } from "./config";
import type { ExitCode } from "./exit-codes";

/** What a command gets: where it runs, its environment, and where its output goes. */
export interface CliContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Results, on stdout. Silent under --json, which prints one document instead. */
  print: (line: string) => void;
  /** Progress and warnings, on stderr, so stdout stays clean for pipes. */
  progress: (line: string) => void;
  json: boolean;
  fetch?: FetchFunction;
}

export interface CommandResult {
  exitCode: ExitCode;
  /** The --json document. */
  data: unknown;
}

export async function adminFor(
  ctx: CliContext,
): Promise<{ config: LoadedConfig; admin: AdminClient }> {
  const config = await loadConfig(ctx.cwd);
  const admin = new AdminClient({
    adminUrl: ctx.env.CUECARD_ADMIN_URL ?? config.adminUrl,
    apiKey: requireKey(ctx.env, "CUECARD_API_KEY"),
    fetch: ctx.fetch,
  });
  return { config, admin };
}
