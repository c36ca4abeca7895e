/**
 * Docs that cannot rot: every fenced block of README.md, sdk/README.md and docs/*.md is checked
 * by its language.
 *
 * - ts: type-checked together against the real packages (written under dist/docs-snippets/, inside
 *   the repository so `@cuecard/sdk` and `openai` resolve; `tsc` of the pinned TypeScript). The
 *   app-client examples that give a fallback (and import only `@cuecard/sdk`) also RUN, through an
 *   edge outage (every fetch fails): that is when the fallback is used, and they must not throw.
 * - http: a request line whose method and path the OpenAPI document defines, and a JSON body.
 * - json, yaml: parsed; a yaml block introduced as a `.test.yaml` is read by the CLI's test-case
 *   reader and its cases run against the prompt file shown before it in the same document.
 * - markdown: a prompt file, loaded by the CLI's prompt-file loader.
 * - toml: read as a wrangler config by wrangler itself.
 * - sh, console: `bash -n`, then every command is validated: npm scripts exist, `npx cuecard …`
 *   parses (the CLI checks the command and its flags before printing `--help`), `npx wrangler …`
 *   names a real wrangler command with real flags (its own `--help`), files passed to node/bash
 *   exist, and each curl names a method and path of the admin or edge OpenAPI document. The README
 *   walk-through's curls also run against the real workers, in test/e2e/docs-walkthrough.test.ts.
 * - text: diagrams, trees and printed output; nothing to run.
 *
 * A block opts out only with `<!-- docs-test: skip — reason -->` on the line before its fence.
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { main } from "../../sdk/src/cli/main";
import { parsePromptFile } from "../../sdk/src/cli/prompt-file";
import { parseTestCases, runTestCase } from "../../sdk/src/cli/test-cases";
import { deriveVariables } from "../../workers/core/template";
import { openApiDocument as edgeDocument } from "../../workers/edge/openapi-document";
import {
  BLOCK_LANGUAGES,
  type BlockLanguage,
  blocksOf,
  type DocBlock,
  type ShellCommand,
  shellCommands,
  where,
} from "./doc-blocks";
import { root } from "./run";

const execFileAsync = promisify(execFile);
const bin = (name: string) => join(root, "node_modules/.bin", name);
const blocks = blocksOf(root);
const checked = (lang: BlockLanguage) =>
  blocks.filter((block) => block.lang === lang && block.skip === undefined);
const snippetDir = join(root, "dist/docs-snippets");
const fileStem = (block: DocBlock) => `${block.doc.replace(/[/.]/g, "_")}_${block.line}`;

describe("every code block says what it is", () => {
  it("has a language this test knows", () => {
    const unknown = blocks
      .filter((block) => !(BLOCK_LANGUAGES as readonly string[]).includes(block.lang))
      .map((block) => `${where(block)}: \`\`\`${block.lang} (use one of ${BLOCK_LANGUAGES})`);
    expect(unknown).toEqual([]);
    expect(blocks.length).toBeGreaterThan(40);
  });

  it("opts out only with a reason", () => {
    const bare = blocks.filter((block) => block.skip === "").map(where);
    expect(bare).toEqual([]);
  });
});

describe("TypeScript blocks", () => {
  const tsBlocks = checked("ts");
  beforeAll(() => {
    rmSync(snippetDir, { recursive: true, force: true });
    mkdirSync(snippetDir, { recursive: true });
    writeFileSync(
      join(snippetDir, "tsconfig.json"),
      JSON.stringify({
        extends: "../../tsconfig.json",
        compilerOptions: {
          // As sdk/tsconfig.json: an app's fetch and AbortSignal come from DOM's types.
          lib: ["ES2023", "DOM", "DOM.Iterable"],
          types: ["node"],
          // @cuecard/sdk's package exports its build (dist/), which a checkout does not have:
          // the examples import it by name and get its sources (test/build/sdk-package.test.ts
          // checks the built package itself).
          paths: {
            "@cuecard/sdk": ["../../sdk/src/index.ts"],
            "@cuecard/sdk/*": ["../../sdk/src/*", "../../sdk/src/*/index.ts"],
          },
        },
        include: ["./*.ts"],
      }),
    );
  });

  it("type-check against the real packages", () => {
    expect(tsBlocks.length).toBeGreaterThanOrEqual(5);
    // What the examples take as given from the app around them: declared, not invented per block.
    writeFileSync(
      join(snippetDir, "app-context.d.ts"),
      `import type { CuecardClient } from "@cuecard/sdk";
import type { Telemetry } from "@cuecard/sdk/observe";
import type OpenAI from "openai";
declare global {
  const ticket: string;
  const user: { id: string };
  const llm: { chat(request: object): Promise<unknown> };
  const cuecard: CuecardClient;
  const readKey: string;
  const edgeUrl: string;
  const apiKey: string;
  const telemetry: Telemetry;
  const openai: OpenAI;
  const body: OpenAI.ChatCompletionCreateParamsNonStreaming;
  /** A block that continues the one before it uses the prompt that one fetched. */
  const triage: Awaited<ReturnType<CuecardClient["getPrompt"]>>;
}
`,
    );
    for (const block of tsBlocks) {
      // `export {}` makes each block a module: its own scope, and top-level await.
      writeFileSync(join(snippetDir, `${fileStem(block)}.ts`), `${block.code}export {};\n`);
    }
    const result = spawnSync(bin("tsc"), ["-p", snippetDir, "--noEmit", "--pretty", "false"], {
      cwd: root,
      encoding: "utf8",
    });
    const byBlock = new Map(tsBlocks.map((block) => [fileStem(block), block]));
    const errors = result.stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const match = /docs-snippets\/(\w+)\.ts\((\d+),\d+\): (.*)$/.exec(line);
        const block = match ? byBlock.get(match[1] as string) : undefined;
        return block && match ? `${block.doc}:${block.line + Number(match[2])}: ${match[3]}` : line;
      });
    expect(errors).toEqual([]);
    expect(result.status).toBe(0);
  });

  // The examples that give a fallback show what happens when the edge is down: run them so.
  const appClientExamples = tsBlocks.filter((block) => {
    const sources = [...block.code.matchAll(/from "([^"]+)"/g)].map((match) => match[1]);
    return sources.every((source) => source === "@cuecard/sdk") && /\bfallbacks?:/.test(block.code);
  });

  it.each(appClientExamples.map((block) => [where(block), block] as const))(
    "%s runs through an edge outage without throwing",
    async (_, block) => {
      writeFileSync(
        join(snippetDir, "outage.ts"),
        `// Every request fails, as when the edge cannot be reached: the client's fallbacks apply.
globalThis.fetch = async () => {
  throw new TypeError("fetch failed (the edge is unreachable)");
};
process.env.CUECARD_READ_KEY ??= "cc_reader_${"0".repeat(32)}";
const chats: unknown[] = [];
Object.assign(globalThis, {
  ticket: "I was charged twice this month",
  user: { id: "user-42" },
  llm: { chat: async (request: object) => chats.push(request) },
  chats,
});
`,
      );
      const file = join(snippetDir, `run_${fileStem(block)}.ts`);
      writeFileSync(
        file,
        `import "./outage";\n${block.code}\nconsole.log(JSON.stringify((globalThis as any).chats));\nexport {};\n`,
      );
      const { stdout } = await execFileAsync(
        bin("tsx"),
        ["--tsconfig", join(snippetDir, "tsconfig.json"), file],
        { cwd: root, timeout: 30_000 },
      );
      // The example reached its LLM call with the fallback's messages, the variables rendered in.
      const chats = JSON.parse(stdout.trim().split("\n").at(-1) as string) as {
        messages: { content: string }[];
      }[];
      expect(chats).toHaveLength(1);
      const rendered = JSON.stringify(chats[0]?.messages);
      expect(rendered).toContain("I was charged twice this month");
      expect(rendered).not.toMatch(/\{\{/);
    },
  );
});

describe("data blocks", () => {
  it("JSON blocks parse", () => {
    const failures = checked("json").flatMap((block) => {
      try {
        JSON.parse(block.code);
        return [];
      } catch (error) {
        return [`${where(block)}: ${(error as Error).message}`];
      }
    });
    expect(failures).toEqual([]);
  });

  it("prompt files load through the CLI's loader, and test files run against them", () => {
    const failures: string[] = [];
    const promptFiles = new Map<string, ReturnType<typeof parsePromptFile>>();
    for (const block of checked("markdown")) {
      const name = /prompts\/([\w/.-]+)\.prompt\.md/.exec(block.lead)?.[1] ?? "docs/example";
      try {
        promptFiles.set(block.doc, parsePromptFile(name, block.code));
      } catch (error) {
        failures.push(`${where(block)}: ${(error as Error).message}`);
      }
    }
    let testFiles = 0;
    for (const block of checked("yaml")) {
      try {
        parseYaml(block.code);
      } catch (error) {
        failures.push(`${where(block)}: ${(error as Error).message}`);
        continue;
      }
      if (!block.lead.includes(".test.yaml")) continue;
      testFiles++;
      const prompt = promptFiles.get(block.doc);
      try {
        const cases = parseTestCases(block.code);
        if (!prompt) throw new Error("no prompt file before it in this document");
        const specs = deriveVariables(prompt.prompt, prompt.variables);
        for (const result of cases.map((testCase) => runTestCase(prompt.prompt, specs, testCase))) {
          if (!result.passed) failures.push(`${where(block)}: ${result.name}: ${result.failures}`);
        }
      } catch (error) {
        failures.push(`${where(block)}: ${(error as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
    expect(promptFiles.size).toBeGreaterThanOrEqual(2);
    expect(testFiles).toBeGreaterThanOrEqual(2);
  });

  it("TOML blocks are wrangler config wrangler reads", async () => {
    const { unstable_readConfig } = await import("wrangler");
    mkdirSync(snippetDir, { recursive: true });
    for (const block of checked("toml")) {
      const path = join(snippetDir, `${fileStem(block)}.toml`);
      writeFileSync(
        path,
        `name = "docs-example"\nmain = "index.ts"\ncompatibility_date = "2026-07-01"\n${block.code}`,
      );
      expect(() => unstable_readConfig({ config: path }), where(block)).not.toThrow();
    }
  });
});

describe("shell blocks", () => {
  const shellBlocks = [...checked("sh"), ...checked("console")];
  /** A console block's commands are its `$ ` lines; the rest is what they print. */
  const scriptOf = (block: DocBlock) =>
    block.lang === "console"
      ? block.code
          .split("\n")
          .filter((line) => line.startsWith("$ "))
          .map((line) => line.slice(2))
          .join("\n")
      : block.code;
  // A document's blocks run in one shell, one after the other: a function one defines is known
  // in the next.
  const functionsOf = new Map<string, Set<string>>();
  const commands = shellBlocks.flatMap((block) => {
    const functions = functionsOf.get(block.doc) ?? new Set<string>();
    functionsOf.set(block.doc, functions);
    return shellCommands(scriptOf(block), functions).map((command) => ({ block, ...command }));
  });

  it("are valid bash", () => {
    const failures = shellBlocks.flatMap((block) => {
      const result = spawnSync("bash", ["-n"], { input: scriptOf(block), encoding: "utf8" });
      return result.status === 0 ? [] : [`${where(block)}: ${result.stderr.trim()}`];
    });
    expect(failures).toEqual([]);
    expect(commands.length).toBeGreaterThan(40);
  });

  it("name commands, npm scripts and files that exist", () => {
    const failures: string[] = [];
    const say = (command: ShellCommand & { block: DocBlock }, what: string) =>
      failures.push(`${where(command.block)}: \`${command.words.join(" ")}\`: ${what}`);
    for (const command of commands) {
      const [program = "", ...args] = command.words;
      const dir = join(root, command.cwd);
      const exists = (path: string) => existsSync(join(dir, path));
      if (program.startsWith("$") || ["export", "echo", "cd"].includes(program)) continue;
      if (program === "npm") {
        const scripts = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).scripts ?? {};
        const script = args[0] === "run" ? args[1] : args[0] === "test" ? "test" : undefined;
        if (script !== undefined && !(script in scripts)) say(command, `no npm script '${script}'`);
        else if (!["run", "test", "install", "ci", "pack"].includes(args[0] ?? "")) {
          say(command, `'npm ${args[0]}' is not one of run, test, install, ci, pack`);
        }
      } else if (program === "npx") {
        // From the directory it runs in (a package of its own, like examples/) or the root's.
        if (!exists(`node_modules/.bin/${args[0]}`) && !existsSync(bin(args[0] ?? ""))) {
          say(command, `no ${args[0]} in node_modules/.bin`);
        }
      } else if (program === "node" || program === "bash") {
        const file = args.find((arg) => !arg.startsWith("-"));
        if (args[0] !== "-p" && args[0] !== "-e" && file && !exists(file)) {
          say(command, `${file} does not exist`);
        }
      } else if (program !== "curl" && spawnSync("which", [program]).status !== 0) {
        say(command, `${program} is not a command`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("run `npx cuecard …` lines that the CLI parses", async () => {
    const cuecard = commands.filter((c) => c.words[0] === "npx" && c.words[1] === "cuecard");
    expect(cuecard.length).toBeGreaterThan(10);
    const failures: string[] = [];
    for (const command of cuecard) {
      let stderr = "";
      const code = await main([...command.words.slice(2), "--help"], {
        cwd: root,
        env: {},
        stdout: () => {},
        stderr: (text) => {
          stderr += text;
        },
      });
      if (code !== 0)
        failures.push(`${where(command.block)}: ${command.words.join(" ")}: ${stderr}`);
    }
    expect(failures).toEqual([]);
  });

  it("run `npx wrangler …` lines that name real wrangler commands and flags", async () => {
    const seen = new Map<string, (typeof commands)[number]>();
    for (const command of commands) {
      if (command.words[0] !== "npx" || command.words[1] !== "wrangler") continue;
      // One wrangler start-up per command: `queues create a` and `queues create b` are one, and
      // the flags of every use are checked against that command's help.
      const words = command.words.slice(2);
      const firstFlag = words.findIndex((word) => word.startsWith("-"));
      const key = (firstFlag === -1 ? words : words.slice(0, firstFlag)).slice(0, 2).join(" ");
      const flags = words.filter((word) => word.startsWith("-"));
      const known = seen.get(key);
      seen.set(key, { ...(known ?? command), words: [...(known ?? command).words, ...flags] });
    }
    expect(seen.size).toBeGreaterThanOrEqual(5);
    const failures: string[] = [];
    const entries = [...seen.values()];
    // Two at a time: each is a wrangler start-up on a 2-core machine.
    for (let i = 0; i < entries.length; i += 2) {
      await Promise.all(
        entries.slice(i, i + 2).map(async (command) => {
          const words = command.words.slice(2);
          const firstFlag = words.findIndex((word) => word.startsWith("-"));
          const positional = firstFlag === -1 ? words : words.slice(0, firstFlag);
          const flags = words
            .filter((word) => word.startsWith("-"))
            .map((flag) => flag.split("=")[0] as string);
          const { stdout } = await execFileAsync(bin("wrangler"), [...positional, "--help"], {
            cwd: root,
            env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
          });
          // The usage line: `wrangler d1 create <name>`; a mistyped subcommand shows its group's.
          const usage = (stdout.trim().split("\n")[0] as string).split(/\s+/).slice(1);
          const literal = usage.filter((word) => !/^[<[]/.test(word));
          const required = usage.filter((word) => word.startsWith("<")).length;
          const optional = usage.filter((word) => word.startsWith("[")).length;
          const extra = positional.length - literal.length;
          const isCommand =
            literal.every((word, index) => positional[index] === word) &&
            extra >= required &&
            extra <= required + optional;
          if (!isCommand)
            failures.push(
              `${where(command.block)}: wrangler ${positional.join(" ")} is not a command`,
            );
          for (const flag of flags) {
            if (!new RegExp(`(^|[\\s,])${flag}\\b`).test(stdout)) {
              failures.push(
                `${where(command.block)}: wrangler ${positional.join(" ")} has no ${flag}`,
              );
            }
          }
        }),
      );
    }
    expect(failures).toEqual([]);
  }, 180_000);

  it("curl methods and paths the OpenAPI documents define", async () => {
    const documents = await openApiDocuments();
    // The shell variables the docs use for base URLs (the README walk-through sets them).
    const bases: Record<string, string> = {
      $API: "http://admin/api/v1",
      $ADMIN: "http://admin/api/v1/projects/acme",
      $EDGE: "http://edge/v1/prompts",
      $CUECARD: "http://admin",
      "http://127.0.0.1:8787": "http://admin",
      "http://127.0.0.1:8788": "http://edge",
    };
    const curls = commands.filter((command) => command.words[0] === "curl");
    expect(curls.length).toBeGreaterThanOrEqual(10);
    const failures: string[] = [];
    for (const command of curls) {
      const args = command.words.slice(1);
      const raw = args.find((arg) => /^(\$|https?:)/.test(arg) && !arg.startsWith("$(…)"));
      const base = raw && Object.keys(bases).find((prefix) => raw.startsWith(prefix));
      if (!raw || !base) {
        failures.push(`${where(command.block)}: no URL on a known base (${Object.keys(bases)})`);
        continue;
      }
      const url = new URL(`${bases[base]}${raw.slice(base.length)}`);
      const x = args.indexOf("-X");
      const method = (x >= 0 ? args[x + 1] : args.includes("-d") ? "post" : "get")?.toLowerCase();
      const [worker, path] =
        url.host === "admin"
          ? (["admin", url.pathname.replace(/^\/api/, "")] as const)
          : (["edge", url.pathname] as const);
      const problem = undocumented(documents[worker], method ?? "", path);
      if (problem) failures.push(`${where(command.block)}: ${worker} ${problem}`);
    }
    expect(failures).toEqual([]);
  });
});

describe("HTTP request blocks", () => {
  it("name an admin route the OpenAPI document defines, with a JSON body", async () => {
    const documents = await openApiDocuments();
    const requests = checked("http");
    expect(requests.length).toBeGreaterThanOrEqual(1);
    const failures = requests.flatMap((block) => {
      const [requestLine = "", ...rest] = block.code.split("\n");
      const [method = "", target = ""] = requestLine.split(" ");
      const path = new URL(target, "http://admin").pathname;
      const problem = path.startsWith("/api/")
        ? undocumented(documents.admin, method.toLowerCase(), path.slice("/api".length))
        : undocumented(documents.edge, method.toLowerCase(), path);
      try {
        if (rest.join("\n").trim()) JSON.parse(rest.join("\n"));
      } catch (error) {
        return [`${where(block)}: the body is not JSON: ${(error as Error).message}`];
      }
      return problem ? [`${where(block)}: ${problem}`] : [];
    });
    expect(failures).toEqual([]);
  });
});

type OpenApiPaths = { paths: Record<string, Record<string, unknown>> };

/** The admin document as the admin app serves it (in process: the route needs no binding). */
async function openApiDocuments(): Promise<{ admin: OpenApiPaths; edge: OpenApiPaths }> {
  // A computed specifier: the admin worker is type-checked with its own tsconfig, not this one.
  const adminModule = "../../workers/admin/index";
  const admin = (await import(adminModule)).default as {
    fetch(request: Request, env: object, ctx: object): Promise<Response>;
  };
  const response = await admin.fetch(new Request("http://cuecard.local/api/openapi.json"), {}, {});
  return { admin: (await response.json()) as OpenApiPaths, edge: edgeDocument as OpenApiPaths };
}

/** Why `method path` is not in the document, or undefined when it is. */
function undocumented(document: OpenApiPaths, method: string, path: string): string | undefined {
  const segments = path.split("/");
  const match = Object.entries(document.paths).find(([template]) => {
    const parts = template.split("/");
    return (
      parts.length === segments.length &&
      parts.every((part, i) => part === segments[i] || (part.startsWith("{") && segments[i]))
    );
  });
  if (!match) return `has no path ${path}`;
  return match[1][method] ? undefined : `has no ${method.toUpperCase()} ${match[0]}`;
}
