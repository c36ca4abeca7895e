import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { isPlaceholder, type PromptContent, type VariableSpec } from "@cuecard/core/prompt";
import { deriveVariables, RenderError, renderPrompt } from "@cuecard/core/template";
import { CuecardClient } from "../../client";
import { loadConfig, requireKey } from "../config";
import { adminFor, type CliContext, type CommandResult } from "../context";
import { badFile, CliError, ExitCode } from "../exit-codes";
import { PROMPT_FILE_SUFFIX, PromptFileError, parsePromptFile } from "../prompt-file";
import { readPromptFile } from "../workspace";

/**
 * `cuecard render <file | name>`: renders a local file, or a published prompt, with the edge's
 * own render code, for debugging a template before (or after) it ships.
 */

interface Renderable {
  name: string;
  version: number | null;
  label: string | null;
  prompt: PromptContent;
  variables: VariableSpec[];
  config: Record<string, unknown>;
}

export async function readVariables(
  ctx: CliContext,
  pairs: string[],
  file: string | undefined,
): Promise<Record<string, unknown>> {
  const variables: Record<string, unknown> = {};
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(resolve(ctx.cwd, file), "utf8"));
    } catch (error) {
      throw badFile(file, `is not a readable JSON file: ${(error as Error).message}`);
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw badFile(file, 'must be a JSON object of variables, e.g. {"customer": "Ada"}');
    }
    Object.assign(variables, parsed);
  }
  for (const pair of pairs) {
    const equals = pair.indexOf("=");
    if (equals <= 0) {
      throw new CliError(ExitCode.usage, `--var ${pair}: write it as name=value`, "usage");
    }
    variables[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return variables;
}

async function localRenderable(ctx: CliContext, target: string): Promise<Renderable> {
  const config = await loadConfig(ctx.cwd).catch(() => undefined);
  let file: ReturnType<typeof parsePromptFile>;
  if (config) {
    file = (await readPromptFile(config, target, ctx.cwd)).file;
  } else {
    // Outside a configured repository a file still renders; its name is only for display.
    try {
      const name = basename(target).slice(0, -PROMPT_FILE_SUFFIX.length);
      file = parsePromptFile(name, await readFile(resolve(ctx.cwd, target), "utf8"));
    } catch (error) {
      if (error instanceof PromptFileError) throw badFile(target, error.message);
      throw error;
    }
  }
  return {
    name: file.name,
    version: null,
    label: null,
    prompt: file.prompt,
    variables: deriveVariables(file.prompt, file.variables),
    config: file.config,
  };
}

async function remoteRenderable(
  ctx: CliContext,
  name: string,
  selector: { label?: string; version?: number },
): Promise<Renderable> {
  if (ctx.env.CUECARD_READ_KEY) {
    const config = await loadConfig(ctx.cwd);
    const client = new CuecardClient({
      edgeUrl: ctx.env.CUECARD_EDGE_URL ?? config.edgeUrl,
      apiKey: requireKey(ctx.env, "CUECARD_READ_KEY"),
      fetch: ctx.fetch,
    });
    const prompt = await client.getPrompt(name, selector);
    return { ...prompt, variables: [...prompt.variables], prompt: prompt.prompt };
  }
  // Without a read key, the admin API answers the same question (and sees unpublished versions).
  const { config, admin } = await adminFor(ctx);
  const label = selector.version === undefined ? (selector.label ?? "production") : null;
  let version = selector.version;
  if (version === undefined) {
    const prompt = await admin.getPrompt(config.project, name);
    version = prompt.labels.find((candidate) => candidate.name === label)?.version;
    if (version === undefined) {
      throw new CliError(
        ExitCode.notFound,
        `Prompt '${name}' has no label '${label}'.`,
        "not_found",
      );
    }
  }
  const found = await admin.getVersion(config.project, name, version);
  return {
    name,
    version: found.version,
    label,
    prompt: found.prompt as PromptContent,
    variables: found.variables,
    config: found.config,
  };
}

export function formatRendered(rendered: PromptContent): string {
  return typeof rendered === "string"
    ? rendered
    : rendered
        .map((item) =>
          isPlaceholder(item)
            ? `## placeholder ${item.name} (not filled: pass --placeholders file.json)`
            : `## ${item.role}\n\n${item.content}`,
        )
        .join("\n\n");
}

/** `--placeholders file.json`: messages for a chat prompt's placeholders, by name. */
export async function readPlaceholders(
  ctx: CliContext,
  file: string | undefined,
): Promise<Record<string, unknown>> {
  if (!file) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(resolve(ctx.cwd, file), "utf8"));
  } catch (error) {
    throw badFile(file, `is not a readable JSON file: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw badFile(
      file,
      'must be a JSON object of placeholder name → messages, e.g. {"history": [{"role": "user", "content": "Hi"}]}',
    );
  }
  return parsed as Record<string, unknown>;
}

export async function render(
  ctx: CliContext,
  options: {
    target: string;
    vars: string[];
    varsFile?: string;
    placeholdersFile?: string;
    label?: string;
    version?: number;
  },
): Promise<CommandResult> {
  const variables = await readVariables(ctx, options.vars, options.varsFile);
  const placeholders = await readPlaceholders(ctx, options.placeholdersFile);
  const isFile =
    options.target.endsWith(PROMPT_FILE_SUFFIX) || existsSync(resolve(ctx.cwd, options.target));
  const source = isFile
    ? await localRenderable(ctx, options.target)
    : await remoteRenderable(ctx, options.target, {
        label: options.label,
        version: options.version,
      });
  let rendered: PromptContent;
  try {
    // As the SDK's compile: an unfilled placeholder is shown where the app's messages would go.
    rendered = renderPrompt(source.prompt, source.variables, variables, placeholders, "keep");
  } catch (error) {
    if (!(error instanceof RenderError)) throw error;
    const how =
      error.problems.missing.length || error.problems.unknown.length
        ? "Pass variables with --var name=value or --vars file.json"
        : "Pass placeholders with --placeholders file.json";
    throw new CliError(
      ExitCode.usage,
      `Cannot render '${source.name}': ${error.message}. ${how}.`,
      "render_failed",
    );
  }
  ctx.print(formatRendered(rendered));
  return {
    exitCode: ExitCode.ok,
    data: {
      name: source.name,
      version: source.version,
      label: source.label,
      prompt: rendered,
      config: source.config,
    },
  };
}
