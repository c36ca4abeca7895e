/**
 * The SDK as an app outside this repository gets it: `npm pack` of sdk/ (which builds it), then
 * `npm install <tarball>` into an empty project in the temp folder, where nothing of the
 * repository (no tsx, no @cuecard/core, no workspace links) can be resolved. The installed
 * package then runs in Node, inside a Worker (workerd, through Miniflare) and in Chromium on a
 * page of another origin, each reading a demo prompt from a real edge (scripts/platform.ts).
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { Log, LogLevel, Miniflare } from "miniflare";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, repositoryRoot, startEphemeralPlatform } from "../../scripts/platform";
import { demoPrompts, seedPlatform } from "../../scripts/seed";
import { chromiumLaunchOptions } from "../ui/browser";

const sdkDir = join(repositoryRoot, "sdk");
const promptName = "support/triage";

// What the demo seed put at `production` of support/triage: the expectation comes from the seed
// data, not from the SDK under test.
const triage = demoPrompts.find((demo) => demo.name === promptName)!;
const productionIndex = triage.versions.findIndex((v) => v.labels?.includes("production"));
const production = { version: productionIndex + 1, ...triage.versions[productionIndex]! };
const variables = { company: "Acme", ticket: "My invoice is wrong" };
const expectedMessages = (production.prompt as { role: string; content: string }[]).map(
  (message) => ({
    role: message.role,
    content: message.content.replace("{{company}}", "Acme").replace("{{ticket}}", variables.ticket),
  }),
);

let platform: Platform;
let readKey: string;
let workDir: string;
let appDir: string;
let tarball: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "cuecard-sdk-package-"));
  appDir = join(workDir, "app");
  // The platform's bundling and the pack's build are independent: run them side by side.
  const startedPlatform = startEphemeralPlatform("sdk-package").then(async (started) => {
    platform = started;
    readKey = (await seedPlatform(started)).readKey.secret;
  });
  const installed = (async () => {
    const packed = await run("npm", ["pack", "--json", "--pack-destination", workDir], sdkDir);
    const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
    tarball = join(workDir, filename);
    await mkdir(appDir);
    await writeFile(
      join(appDir, "package.json"),
      JSON.stringify({ name: "an-app", private: true, type: "module" }),
    );
    // From the npm cache when it has mustache and yaml already; from the registry otherwise.
    await run(
      "npm",
      ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", tarball],
      appDir,
    );
  })();
  await Promise.all([startedPlatform, installed]);
  // About 30 s on an idle 2-core machine; far longer when other builds share its cores.
}, 600_000);

afterAll(async () => {
  await platform?.dispose();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("the packed tarball", () => {
  it("holds compiled JavaScript and declarations only, and installs without @cuecard/core", async () => {
    const listed = await run("tar", ["-tzf", tarball], workDir);
    const files = listed.stdout.trim().split("\n");
    expect(files).toContain("package/dist/index.js");
    expect(files).toContain("package/dist/index.d.ts");
    expect(files).toContain("package/dist/observe/index.js");
    expect(files).toContain("package/dist/cli/main.js");
    expect(files.filter((file) => /\.(ts|mts|cts)$/.test(file) && !file.endsWith(".d.ts"))).toEqual(
      [],
    );
    const installedPackages = await readdir(join(appDir, "node_modules"));
    expect(installedPackages).not.toContain("tsx");
    expect(existsSync(join(appDir, "node_modules", "@cuecard", "core"))).toBe(false);
  });
});

describe("in Node", () => {
  it("getPrompt reads the production version from the edge and compiles it", async () => {
    await writeFile(
      join(appDir, "node-app.js"),
      `import { CuecardClient } from "@cuecard/sdk";
import { Telemetry } from "@cuecard/sdk/observe";
const [edgeUrl, apiKey, variables] = [process.argv[2], process.argv[3], JSON.parse(process.argv[4])];
const cuecard = new CuecardClient({ edgeUrl, apiKey });
const prompt = await cuecard.getPrompt(${JSON.stringify(promptName)}, { type: "chat" });
const telemetry = new Telemetry({ baseUrl: edgeUrl, apiKey });
await telemetry.shutdown();
console.log(JSON.stringify({
  version: prompt.version, source: prompt.source, config: prompt.config,
  messages: prompt.compile(variables), telemetry: typeof telemetry.stats,
}));
`,
    );
    const { stdout } = await run(
      process.execPath,
      ["node-app.js", platform.edgeUrl, readKey, JSON.stringify(variables)],
      appDir,
    );
    expect(JSON.parse(stdout)).toEqual({
      version: production.version,
      source: "edge",
      config: production.config,
      messages: expectedMessages,
      telemetry: "function",
    });
  });

  it("its declarations type-check an app compiled with moduleResolution nodenext", async () => {
    await writeFile(
      join(appDir, "typed-app.ts"),
      `import { CuecardClient, PromptNotFoundError, type ChatPrompt } from "@cuecard/sdk";
import { AdminClient } from "@cuecard/sdk/admin";
import { linkPrompt, Telemetry } from "@cuecard/sdk/observe";
const cuecard = new CuecardClient({ edgeUrl: "https://prompts.example.com", apiKey: "k" });
const prompt = await cuecard.getPrompt("support/triage", { type: "chat" });
const messages: ChatPrompt["prompt"] = prompt.compile({ ticket: "t" });
const version: number = prompt.version;
// @ts-expect-error: a version is a number; the types are real, not any.
const wrong: string = prompt.version;
new AdminClient({ adminUrl: "https://cuecard.example.com", apiKey: "k" });
new Telemetry({ baseUrl: "https://prompts.example.com", apiKey: "k" });
export { linkPrompt, messages, PromptNotFoundError, version, wrong };
`,
    );
    await writeFile(
      join(appDir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          // The package's own .d.ts files are checked too, as an app with default settings does.
          skipLibCheck: false,
          noEmit: true,
          lib: ["ES2023", "DOM"],
          types: [],
        },
        files: ["typed-app.ts"],
      }),
    );
    const tsc = join(repositoryRoot, "node_modules", "typescript", "bin", "tsc");
    const checked = await run(process.execPath, [tsc, "-p", "tsconfig.json"], appDir, {
      allowFailure: true,
    });
    expect(checked.stdout + checked.stderr).toBe("");
    expect(checked.code).toBe(0);
  });

  it("npx cuecard --help prints the usage and exits 0", async () => {
    const help = await run("npx", ["--no-install", "cuecard", "--help"], appDir);
    expect(help.stdout).toContain("Usage: cuecard <command> [options]");
    expect(help.stdout).toContain("promote");
    expect(help.code).toBe(0);
  });
});

describe("inside a Worker", () => {
  it("a bundled worker importing the package reads the prompt from the edge", async () => {
    await writeFile(
      join(appDir, "worker.js"),
      `import { CuecardClient } from "@cuecard/sdk";
export default {
  async fetch(request, env) {
    const cuecard = new CuecardClient({ edgeUrl: env.EDGE_URL, apiKey: env.READ_KEY });
    const prompt = await cuecard.getPrompt(${JSON.stringify(promptName)}, { type: "chat" });
    const variables = await request.json();
    return Response.json({ version: prompt.version, source: prompt.source, messages: prompt.compile(variables) });
  },
};
`,
    );
    // As wrangler bundles a worker: ESM, the workerd/worker/browser export conditions.
    const bundled = await build({
      absWorkingDir: appDir,
      entryPoints: ["worker.js"],
      bundle: true,
      write: false,
      format: "esm",
      platform: "neutral",
      mainFields: ["module", "main"],
      conditions: ["workerd", "worker", "browser"],
      logLevel: "silent",
    });
    const worker = new Miniflare({
      host: "127.0.0.1",
      port: 0,
      log: new Log(LogLevel.ERROR),
      modules: true,
      script: bundled.outputFiles[0]!.text,
      compatibilityDate: "2026-07-01",
      bindings: { EDGE_URL: platform.edgeUrl, READ_KEY: readKey },
    });
    try {
      const response = await worker.dispatchFetch("http://app.example/", {
        method: "POST",
        body: JSON.stringify(variables),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        version: production.version,
        source: "edge",
        messages: expectedMessages,
      });
    } finally {
      await worker.dispose();
    }
  });
});

describe("in a browser", () => {
  let browser: Browser | undefined;
  let server: Server | undefined;

  afterAll(async () => {
    await browser?.close();
    await new Promise((done) => (server ? server.close(done) : done(undefined)));
  });

  it("a page on another origin fetches the prompt from the edge (CORS)", async () => {
    await writeFile(
      join(appDir, "browser-app.js"),
      `import { CuecardClient } from "@cuecard/sdk";
window.loadTriage = async (edgeUrl, apiKey, variables) => {
  const cuecard = new CuecardClient({ edgeUrl, apiKey, retries: 0 });
  const prompt = await cuecard.getPrompt(${JSON.stringify(promptName)}, { type: "chat" });
  return { version: prompt.version, source: prompt.source, messages: prompt.compile(variables) };
};
`,
    );
    const bundled = await build({
      absWorkingDir: appDir,
      entryPoints: ["browser-app.js"],
      bundle: true,
      write: false,
      format: "esm",
      platform: "browser",
      target: "es2022",
      logLevel: "silent",
    });
    const script = bundled.outputFiles[0]!.text;
    const html = `<!doctype html><meta charset="utf-8"><title>an app</title><script type="module" src="/app.js"></script>`;
    server = createServer((request, response) => {
      const isScript = request.url === "/app.js";
      response.writeHead(200, {
        "content-type": isScript ? "text/javascript" : "text/html; charset=utf-8",
      });
      response.end(isScript ? script : html);
    });
    await new Promise<void>((listening) => server!.listen(0, "127.0.0.1", listening));
    const pageOrigin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect(pageOrigin).not.toBe(new URL(platform.edgeUrl).origin);

    browser = await chromium.launch(await chromiumLaunchOptions());
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(`${pageOrigin}/`);
    await page.waitForFunction(() => "loadTriage" in globalThis);
    const loaded = await page.evaluate(
      ([edgeUrl, apiKey, vars]) =>
        (
          globalThis as unknown as {
            loadTriage(edgeUrl: string, apiKey: string, vars: unknown): Promise<unknown>;
          }
        ).loadTriage(edgeUrl, apiKey, vars),
      [platform.edgeUrl, readKey, variables] as const,
    );
    expect(loaded).toEqual({
      version: production.version,
      source: "edge",
      messages: expectedMessages,
    });
    expect(pageErrors).toEqual([]);
  });
});

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion. npm's own `npm_*` variables (set when vitest runs under `npm
 * test`) are dropped, so the nested npm reads only the temp project's configuration.
 */
function run(
  command: string,
  args: string[],
  cwd: string,
  options: { allowFailure?: boolean } = {},
): Promise<RunResult> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith("npm_")),
  );
  return new Promise((resolveRun, reject) => {
    execFile(
      command,
      args,
      { cwd, env: { ...env, NO_COLOR: "1" }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        if (error && !options.allowFailure) {
          reject(new Error(`${command} ${args.join(" ")} failed (${code}):\n${stdout}\n${stderr}`));
          return;
        }
        resolveRun({ code, stdout, stderr });
      },
    );
  });
}
