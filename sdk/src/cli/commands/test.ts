import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { relative } from "node:path";
import type { PromptContent, VariableSpec } from "@cuecard/core/prompt";
import { deriveVariables } from "@cuecard/core/template";
import { loadConfig } from "../config";
import { adminFor, type CliContext, type CommandResult } from "../context";
import { badFile, CliError, ExitCode } from "../exit-codes";
import { PromptFileError } from "../prompt-file";
import { type CaseResult, parseTestCases, runTestCase } from "../test-cases";
import { readLocalPrompts, testPath } from "../workspace";

/**
 * `cuecard test`: runs the cases kept beside each prompt against the local file, or with
 * `--label` against the version the server has at that label.
 */
export async function test(
  ctx: CliContext,
  options: { names: string[]; label?: string },
): Promise<CommandResult> {
  const config = await loadConfig(ctx.cwd);
  const remote = options.label ? await adminFor(ctx) : undefined;
  const locals = await readLocalPrompts(config, ctx.cwd, options.names);
  const suites: { name: string; file: string; cases: CaseResult[] }[] = [];
  for (const local of locals) {
    const casesPath = testPath(local.path);
    if (!existsSync(casesPath)) continue;
    const displayPath = relative(ctx.cwd, casesPath);
    let cases: ReturnType<typeof parseTestCases>;
    try {
      cases = parseTestCases(await readFile(casesPath, "utf8"));
    } catch (error) {
      if (error instanceof PromptFileError) throw badFile(displayPath, error.message);
      throw error;
    }
    let content: PromptContent = local.file.prompt;
    let specs: VariableSpec[] = deriveVariables(local.file.prompt, local.file.variables);
    let subject = local.displayPath;
    if (remote && options.label) {
      const prompt = await remote.admin.getPrompt(config.project, local.file.name);
      const target = prompt.labels.find((label) => label.name === options.label);
      if (!target) {
        throw new CliError(
          ExitCode.notFound,
          `Prompt '${local.file.name}' has no label '${options.label}'.`,
          "not_found",
        );
      }
      const version = await remote.admin.getVersion(
        config.project,
        local.file.name,
        target.version,
      );
      content = version.prompt as PromptContent;
      specs = version.variables;
      subject = `${local.file.name}@${options.label} (v${version.version})`;
    }
    const results = cases.map((testCase) => runTestCase(content, specs, testCase));
    ctx.print(`${subject}`);
    for (const result of results) {
      ctx.print(`  ${result.passed ? "✓" : "✗"} ${result.name}`);
      for (const failure of result.failures) ctx.print(`      ${failure}`);
    }
    suites.push({ name: local.file.name, file: displayPath, cases: results });
  }
  const all = suites.flatMap((suite) => suite.cases);
  const failed = all.filter((result) => !result.passed).length;
  ctx.print(
    suites.length === 0
      ? "No test files (<name>.test.yaml beside <name>.prompt.md) found."
      : `${all.length - failed} passed, ${failed} failed (${suites.length} prompt(s)).`,
  );
  return {
    exitCode: failed > 0 ? ExitCode.failed : ExitCode.ok,
    data: { passed: all.length - failed, failed, suites },
  };
}
