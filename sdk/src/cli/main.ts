import { type ParseArgsConfig, parseArgs } from "node:util";
import type { FetchFunction } from "../transport";
import { experimentResults } from "./commands/experiment";
import { importLangfuse } from "./commands/import-langfuse";
import { init } from "./commands/init";
import { log, promote, rollback } from "./commands/labels";
import { render } from "./commands/render";
import { diff, pull, push } from "./commands/sync";
import { test } from "./commands/test";
import type { CliContext, CommandResult } from "./context";
import { CliError, ExitCode, toCliError } from "./exit-codes";

const HELP = `cuecard — prompts as code for Cuecard

Usage: cuecard <command> [options]          (add --json for one JSON document on stdout)

  init      [--admin-url U] [--edge-url U] [--project P] [--prompts-dir D] [--force]
  pull      [name…] [--label latest]        server → <promptsDir>/<name>.prompt.md
  push      [name…] [--dry-run] [-m msg] [--label L…]
                                            files → new versions; unchanged prompts skipped
  diff      [name…] [--label production]    local files vs the version at a label
  render    <file | name> [--var k=v…] [--vars vars.json] [--placeholders p.json]
            [--label L | --version N]
  test      [name…] [--label L]             run <name>.test.yaml cases (local, or the label's)
  promote   <name> [--to production] [--version N | --from staging] [--expected-rev R]
  rollback  <name> [--label production] [--to N] [--expected-rev R]
  log       <name> [--label L] [--limit 20] versions, or a label's moves
  experiment results <id> [--engine frequentist|bayesian] [--fixed]
                                            per-variant figures and the decision
  import langfuse [--host U] [--public-key K] [--secret-key K] [--project P] [--dry-run]
                                            copy a Langfuse project's prompts (all versions,
                                            labels, tags); again later: only what is new

Keys: CUECARD_API_KEY (admin API key), CUECARD_READ_KEY (edge read key, for render);
      import: LANGFUSE_BASE_URL or LANGFUSE_HOST, LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY.
Exit codes: 0 ok · 1 test failed / diff found · 2 usage, bad file or key · 3 not found ·
            4 conflict · 5 server unreachable or unavailable
            experiment results: 0 only for a winner · 6 no winner yet · 7 SRM or guardrail failed
Docs: docs/prompts-as-code.md, docs/experiments.md`;

export interface CliIo {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  fetch?: FetchFunction;
}

const defaultIo = (): CliIo => ({
  cwd: process.cwd(),
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});

type Options = NonNullable<ParseArgsConfig["options"]>;
const GLOBAL: Options = { json: { type: "boolean" }, help: { type: "boolean", short: "h" } };

const COMMAND_OPTIONS: Record<string, Options> = {
  init: {
    "admin-url": { type: "string" },
    "edge-url": { type: "string" },
    project: { type: "string" },
    "prompts-dir": { type: "string" },
    force: { type: "boolean" },
  },
  pull: { label: { type: "string" } },
  push: {
    "dry-run": { type: "boolean" },
    message: { type: "string", short: "m" },
    label: { type: "string", multiple: true },
  },
  diff: { label: { type: "string" } },
  render: {
    var: { type: "string", multiple: true },
    vars: { type: "string" },
    placeholders: { type: "string" },
    label: { type: "string" },
    version: { type: "string" },
  },
  test: { label: { type: "string" } },
  promote: {
    to: { type: "string" },
    version: { type: "string" },
    from: { type: "string" },
    "expected-rev": { type: "string" },
  },
  rollback: {
    label: { type: "string" },
    to: { type: "string" },
    "expected-rev": { type: "string" },
  },
  log: { label: { type: "string" }, limit: { type: "string" } },
  experiment: { engine: { type: "string" }, fixed: { type: "boolean" } },
  import: {
    host: { type: "string" },
    "public-key": { type: "string" },
    "secret-key": { type: "string" },
    project: { type: "string" },
    "dry-run": { type: "boolean" },
  },
};

const ENGINES = ["frequentist", "bayesian"] as const;

function engineOf(value: unknown): (typeof ENGINES)[number] | undefined {
  if (value === undefined) return undefined;
  const engine = ENGINES.find((candidate) => candidate === value);
  if (!engine) {
    throw new CliError(
      ExitCode.usage,
      `--engine must be ${ENGINES.join(" or ")}, not '${String(value)}'`,
      "usage",
    );
  }
  return engine;
}

function positiveInteger(flag: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) {
    throw new CliError(
      ExitCode.usage,
      `--${flag} must be a positive whole number, not '${String(value)}'`,
      "usage",
    );
  }
  return number;
}

function one(command: string, positionals: string[], what: string): string {
  if (positionals.length !== 1) {
    throw new CliError(
      ExitCode.usage,
      `'cuecard ${command}' takes one ${what}; see 'cuecard --help'.`,
      "usage",
    );
  }
  return positionals[0] as string;
}

function parseCommandLine(command: string, args: string[]) {
  const options = COMMAND_OPTIONS[command];
  if (!options) {
    throw new CliError(
      ExitCode.usage,
      `Unknown command '${command}'. See 'cuecard --help'.`,
      "usage",
    );
  }
  return parseArgs({
    args,
    options: { ...GLOBAL, ...options },
    allowPositionals: true,
    strict: true,
  });
}

async function run(command: string, args: string[], ctx: CliContext): Promise<CommandResult> {
  const { values: v, positionals } = parseCommandLine(command, args);
  const text = (name: string) => v[name] as string | undefined;
  const list = (name: string) => (v[name] as string[] | undefined) ?? [];
  switch (command) {
    case "init":
      return init(ctx, {
        adminUrl: text("admin-url"),
        edgeUrl: text("edge-url"),
        project: text("project"),
        promptsDir: text("prompts-dir"),
        force: v.force === true,
      });
    case "pull":
      return pull(ctx, { names: positionals, label: text("label") });
    case "push":
      return push(ctx, {
        names: positionals,
        dryRun: v["dry-run"] === true,
        message: text("message"),
        labels: list("label"),
      });
    case "diff":
      return diff(ctx, { names: positionals, label: text("label") });
    case "render":
      if (v.label !== undefined && v.version !== undefined) {
        throw new CliError(ExitCode.usage, "give --label or --version, not both", "usage");
      }
      return render(ctx, {
        target: one(command, positionals, "prompt file or name"),
        vars: list("var"),
        varsFile: text("vars"),
        placeholdersFile: text("placeholders"),
        label: text("label"),
        version: positiveInteger("version", v.version),
      });
    case "test":
      return test(ctx, { names: positionals, label: text("label") });
    case "promote":
      return promote(ctx, {
        name: one(command, positionals, "prompt name"),
        to: text("to") ?? "production",
        version: positiveInteger("version", v.version),
        from: text("from"),
        expectedRev: positiveInteger("expected-rev", v["expected-rev"]),
      });
    case "rollback":
      return rollback(ctx, {
        name: one(command, positionals, "prompt name"),
        label: text("label") ?? "production",
        toVersion: positiveInteger("to", v.to),
        expectedRev: positiveInteger("expected-rev", v["expected-rev"]),
      });
    case "log":
      return log(ctx, {
        name: one(command, positionals, "prompt name"),
        label: text("label"),
        limit: positiveInteger("limit", v.limit) ?? 20,
      });
    case "experiment": {
      const [action, ...rest] = positionals;
      if (action !== "results") {
        throw new CliError(
          ExitCode.usage,
          `'cuecard experiment' takes 'results <id>'; see 'cuecard --help'.`,
          "usage",
        );
      }
      return experimentResults(ctx, {
        id: one("experiment results", rest, "experiment id"),
        engine: engineOf(v.engine),
        ...(v.fixed === true ? { sequential: false } : {}),
      });
    }
    case "import": {
      const [source, ...rest] = positionals;
      if (source !== "langfuse" || rest.length > 0) {
        throw new CliError(
          ExitCode.usage,
          `'cuecard import' takes 'langfuse' (the one source it imports from); see 'cuecard --help'.`,
          "usage",
        );
      }
      return importLangfuse(ctx, {
        host: text("host"),
        publicKey: text("public-key"),
        secretKey: text("secret-key"),
        project: text("project"),
        dryRun: v["dry-run"] === true,
      });
    }
    default:
      throw new CliError(
        ExitCode.usage,
        `Unknown command '${command}'. See 'cuecard --help'.`,
        "usage",
      );
  }
}

/** Runs one CLI invocation and returns its exit code. `io` is injectable for tests. */
export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const json = argv.includes("--json");
  const [command, ...args] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    io.stdout(`${HELP}\n`);
    return command === undefined ? ExitCode.usage : ExitCode.ok;
  }
  const ctx: CliContext = {
    cwd: io.cwd,
    env: io.env,
    json,
    print: json ? () => {} : (line) => io.stdout(`${line}\n`),
    progress: (line) => io.stderr(`${line}\n`),
    fetch: io.fetch,
  };
  try {
    if (args.includes("--help") || args.includes("-h")) {
      // The command and its flags are checked before the help is printed, so
      // `cuecard <command> <flags> --help` tells whether a command line would parse.
      parseCommandLine(command, args);
      io.stdout(`${HELP}\n`);
      return ExitCode.ok;
    }
    const result = await run(command, args, ctx);
    if (json) io.stdout(`${JSON.stringify(result.data, null, 2)}\n`);
    return result.exitCode;
  } catch (thrown) {
    const error = toCliError(thrown);
    io.stderr(`error: ${error.message}\n`);
    if (json) {
      io.stdout(
        `${JSON.stringify({ error: { code: error.code, message: error.message, exitCode: error.exitCode } }, null, 2)}\n`,
      );
    }
    return error.exitCode;
  }
}
