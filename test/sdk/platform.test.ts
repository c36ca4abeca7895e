/**
 * The SDK and the CLI against the real platform: both workers bundled by wrangler and served by
 * Miniflare over one D1/KV (scripts/platform.ts). One platform for the whole file; each test
 * works in its own project-scoped prompts so tests do not see each other's changes.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  findFreePort,
  type Platform,
  repositoryRoot,
  startEphemeralPlatform,
} from "../../scripts/platform";
import { AdminClient } from "../../sdk/src/admin";
import { main } from "../../sdk/src/cli/main";
import {
  CuecardClient,
  CuecardRequestError,
  PromptNotFoundError,
  RenderError,
} from "../../sdk/src/index";

let platform: Platform;
let workDir: string;
let project: string;
let adminKey: string;
let readKey: string;
let admin: AdminClient;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "cuecard-repo-"));
  platform = await startEphemeralPlatform("sdk-tests");
  project = `sdk-${randomUUID().slice(0, 8)}`;
  const bootstrap = await fetch(`${platform.adminUrl}/api/v1/bootstrap`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${platform.adminToken}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ project, keyName: "sdk tests" }),
  });
  expect(bootstrap.status).toBe(201);
  adminKey = ((await bootstrap.json()) as { secret: string }).secret;
  admin = new AdminClient({ adminUrl: platform.adminUrl, apiKey: adminKey });
  const reader = await admin.call("post", "/v1/projects/{project}/keys", {
    path: { project },
    body: { name: "sdk reader", role: "reader" },
  });
  readKey = reader.secret;
});

afterAll(async () => {
  await platform?.dispose();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("render parity: the SDK renders exactly like the edge", () => {
  const textTemplate =
    "Hi {{customer}}!{{#vip}} You are {{tier}}.{{/vip}}{{^vip}} Welcome.{{/vip}} <{{html}}> {{{triple}}}\n{{#items}}- {{name}} × {{qty}}\n{{/items}}Tone: {{tone}}";
  const chatTemplate = [
    {
      role: "system" as const,
      content: "You answer for {{company}}.{{#strict}} Be brief.{{/strict}}",
    },
    { role: "user" as const, content: "{{ticket}}" },
  ];
  const cases: {
    name: string;
    prompt: string | typeof chatTemplate;
    variables: Record<string, unknown>;
  }[] = [
    {
      name: "sections, inverted sections, lists, no HTML escaping, a declared default",
      prompt: textTemplate,
      variables: {
        customer: "Ada <ada@example.com>",
        vip: true,
        tier: "gold & platinum",
        html: "<b>&'\"</b>",
        triple: "{{not a tag}}",
        items: [
          { name: "tea", qty: 2 },
          { name: "scones", qty: 12 },
        ],
      },
    },
    {
      name: "falsy section values and an overridden default",
      prompt: textTemplate,
      variables: { customer: "Bo", vip: false, html: "", items: [], tone: "formal", triple: 0 },
    },
    {
      name: "chat messages",
      prompt: chatTemplate,
      variables: { company: "Acme", ticket: "My invoice is wrong", strict: true },
    },
    { name: "a missing required variable", prompt: textTemplate, variables: { vip: true } },
    {
      name: "unknown variables",
      prompt: chatTemplate,
      variables: { company: "Acme", ticket: "x", customer: "not a variable of this prompt" },
    },
  ];

  it.each(cases)("$name", async ({ prompt, variables }) => {
    const name = `parity/${randomUUID().slice(0, 8)}`;
    await admin.createPrompt(project, {
      name,
      version: {
        prompt,
        labels: ["production"],
        ...(typeof prompt === "string" ? { variables: { tone: { default: "friendly" } } } : {}),
      },
    });
    const edgeResponse = await fetch(
      `${platform.edgeUrl}/v1/prompts/${encodeURIComponent(name)}/render`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${readKey}`, "content-type": "application/json" },
        body: JSON.stringify({ variables }),
      },
    );
    const edge = (await edgeResponse.json()) as {
      prompt?: unknown;
      missing?: string[];
      unknown?: string[];
    };
    const client = new CuecardClient({ edgeUrl: platform.edgeUrl, apiKey: readKey });
    const local = await client.getPrompt(name);
    let rendered: unknown;
    let problems: { missing: string[]; unknown: string[] } | undefined;
    try {
      rendered = local.compile(variables);
    } catch (error) {
      if (!(error instanceof RenderError)) throw error;
      problems = error.problems;
    }
    if (edgeResponse.status === 200) {
      expect(problems).toBeUndefined();
      expect(rendered).toEqual(edge.prompt);
    } else {
      expect(edgeResponse.status).toBe(422);
      expect(problems).toEqual({ missing: edge.missing, unknown: edge.unknown });
      expect([...(problems?.missing ?? []), ...(problems?.unknown ?? [])].length).toBeGreaterThan(
        0,
      );
    }
  });
});

describe("SDK against the running edge", () => {
  it("prefetches in one batch, then follows a promotion once its TTL has passed", async () => {
    const names = [`app/${randomUUID().slice(0, 6)}`, `app/${randomUUID().slice(0, 6)}`];
    for (const name of names) {
      await admin.createPrompt(project, {
        name,
        version: { prompt: `${name} says {{what}}`, labels: ["production"] },
      });
    }
    const clock = { now: 0 };
    const client = new CuecardClient({
      edgeUrl: platform.edgeUrl,
      apiKey: readKey,
      ttlMs: 1_000,
      staleWhileRevalidateMs: 0,
      now: () => clock.now,
    });
    const prefetched = await client.prefetch([...names, "app/not-there"]);
    expect(prefetched.prompts.map((prompt) => prompt.name)).toEqual(names);
    expect(prefetched.missing).toEqual(["app/not-there"]);
    const first = names[0] as string;
    expect(await client.getPrompt(first)).toMatchObject({ version: 1, source: "cache" });

    const v2 = await admin.createVersion(project, first, { prompt: "v2 says {{what}}" });
    await admin.moveLabel(project, first, "production", { version: v2.version });
    expect((await client.getPrompt(first)).version).toBe(1);
    clock.now += 1_001;
    const promoted = await client.getPrompt(first);
    expect(promoted).toMatchObject({ version: 2, source: "edge" });
    expect(promoted.compile({ what: "hello" })).toBe("v2 says hello");
  });
});

describe("options users coming from Langfuse expect, against the running edge", () => {
  it("serves the fallback for a prompt the edge does not have only with fallbackOn: ['missing']", async () => {
    const name = `absent/${randomUUID().slice(0, 8)}`;
    const strict = new CuecardClient({ edgeUrl: platform.edgeUrl, apiKey: readKey });
    await expect(strict.getPrompt(name, { fallback: "Hi {{who}}" })).rejects.toBeInstanceOf(
      PromptNotFoundError,
    );
    const lenient = new CuecardClient({
      edgeUrl: platform.edgeUrl,
      apiKey: readKey,
      fallbackOn: ["missing"],
    });
    const prompt = await lenient.getPrompt(name, { fallback: "Hi {{who}}" });
    expect(prompt).toMatchObject({ source: "fallback", version: 0 });
    expect(prompt.compile({ who: "Ada" })).toBe("Hi Ada");
  });

  it("serves the fallback when the edge refuses the key only with fallbackOn: ['refused']", async () => {
    const options = { edgeUrl: platform.edgeUrl, apiKey: "cc_reader_not-a-real-key" };
    const error = await new CuecardClient(options)
      .getPrompt("app/anything", { fallback: "Hi" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CuecardRequestError);
    expect((error as CuecardRequestError).status).toBe(401);
    const prompt = await new CuecardClient({ ...options, fallbackOn: ["refused"] }).getPrompt(
      "app/anything",
      { fallback: "Hi" },
    );
    expect(prompt).toMatchObject({ source: "fallback", prompt: "Hi" });
  });

  it("returns labels and tags, compiles leniently on request, and honours a call's TTL", async () => {
    const name = `habits/${randomUUID().slice(0, 8)}`;
    await admin.createPrompt(project, {
      name,
      tags: ["email", "billing"],
      version: { prompt: "Dear {{customer}}, re {{topic}}", labels: ["production", "staging"] },
    });
    const clock = { now: 0 };
    const client = new CuecardClient({
      edgeUrl: platform.edgeUrl,
      apiKey: readKey,
      now: () => clock.now,
    });
    // A label's read tells every label of the version and the prompt's tags; a pinned read, whose
    // record is immutable, tells neither.
    const production = await client.getPrompt(name);
    expect(production).toMatchObject({
      version: 1,
      labels: ["latest", "production", "staging"],
      tags: ["email", "billing"],
    });
    expect((await client.getPrompt(name, { label: "staging" })).labels).toEqual([
      "latest",
      "production",
      "staging",
    ]);
    expect(await client.getPrompt(name, { version: 1 })).toMatchObject({ labels: [], tags: [] });
    expect(() => production.compile({ customer: "Ada" })).toThrow(RenderError);
    expect(production.compile({ customer: "Ada", extra: 1 }, { strict: false })).toBe(
      "Dear Ada, re ",
    );

    const v2 = await admin.createVersion(project, name, { prompt: "v2 {{customer}} {{topic}}" });
    await admin.moveLabel(project, name, "production", { version: v2.version });
    clock.now += 10_000;
    // The client's 60 s TTL still holds; a call that accepts 5 s gets the old copy at once and
    // refreshes it from the edge behind itself.
    expect((await client.getPrompt(name)).version).toBe(1);
    expect(await client.getPrompt(name, { cacheTtlSeconds: 5 })).toMatchObject({
      version: 1,
      source: "stale",
    });
    await expect
      .poll(async () => (await client.getPrompt(name, { cacheTtlSeconds: 5 })).version)
      .toBe(2);
  });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in process, in the test repository, with the keys in its environment. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    cwd: workDir,
    env: { CUECARD_API_KEY: adminKey, CUECARD_READ_KEY: readKey, ...env },
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
  });
  return { code, stdout, stderr };
}

const greeting = "app/greeting";
const triage = "app/triage";
const promptFile = (name: string) => join(workDir, "prompts", `${name}.prompt.md`);

describe("cuecard CLI: pull → edit → push → test → promote → rollback", () => {
  beforeAll(async () => {
    // What authors made in the UI before the repository took the prompts in.
    await admin.createPrompt(project, {
      name: greeting,
      description: "Greets a customer",
      tags: ["app"],
      version: {
        prompt: "Hello {{customer}}, thanks for writing in.",
        config: { model: "gpt-4o-mini", temperature: 0.2 },
        commitMessage: "First greeting",
        labels: ["production"],
      },
    });
    await admin.createPrompt(project, {
      name: triage,
      version: {
        prompt: [
          {
            role: "system",
            content: "Classify tickets for {{company}}.\n\n## Categories\nbilling, bug",
          },
          { role: "user", content: "{{ticket}}" },
        ],
        variables: { company: { default: "Acme", description: "Who we answer for" } },
        commitMessage: "First triage",
        labels: ["production"],
      },
    });
  });

  it("walks the whole loop, creating versions only for prompts that changed", async () => {
    const init = await cli([
      "init",
      "--admin-url",
      platform.adminUrl,
      "--edge-url",
      platform.edgeUrl,
      "--project",
      project,
    ]);
    expect(init.code).toBe(0);
    expect(JSON.parse(await readFile(join(workDir, "cuecard.json"), "utf8"))).toMatchObject({
      project,
      promptsDir: "prompts",
    });

    const pulled = await cli(["pull", greeting, triage]);
    expect(pulled.code).toBe(0);
    const greetingText = await readFile(promptFile(greeting), "utf8");
    expect(greetingText).toBe(
      "---\ntype: text\ndescription: Greets a customer\ntags:\n  - app\nconfig:\n  model: gpt-4o-mini\n  temperature: 0.2\ncommitMessage: First greeting\n---\nHello {{customer}}, thanks for writing in.\n",
    );
    expect(await readFile(promptFile(triage), "utf8")).toContain(
      "## system\n\nClassify tickets for {{company}}.\n\n## Categories\nbilling, bug\n\n## user\n\n{{ticket}}\n",
    );

    // Nothing edited: nothing to push.
    const noop = await cli(["push", "--json", greeting, triage]);
    expect(noop.code).toBe(0);
    expect(JSON.parse(noop.stdout).prompts.map((p: { status: string }) => p.status)).toEqual([
      "unchanged",
      "unchanged",
    ]);
    expect((await admin.getPrompt(project, greeting)).latestVersion).toBe(1);
    expect((await admin.getPrompt(project, triage)).latestVersion).toBe(1);

    await writeFile(
      promptFile(greeting),
      greetingText
        .replace(
          "thanks for writing in.",
          "thanks for reaching out!{{#vip}} You are a VIP.{{/vip}}",
        )
        .replace("First greeting", "Friendlier greeting with a VIP line"),
    );
    const dryRun = await cli(["push", "--dry-run", greeting, triage]);
    expect(dryRun.code).toBe(0);
    expect(dryRun.stdout).toContain("-Hello {{customer}}, thanks for writing in.");
    expect(dryRun.stdout).toContain("+Hello {{customer}}, thanks for reaching out!");
    expect(dryRun.stderr).toContain(`${greeting}: would get v2`);
    expect((await admin.getPrompt(project, greeting)).latestVersion).toBe(1);

    const pushed = await cli(["push", greeting, triage]);
    expect(pushed.code).toBe(0);
    expect(pushed.stderr).toContain(`[1/2] ${greeting}: new version v2`);
    expect(pushed.stderr).toContain(`[2/2] ${triage}: unchanged, skipped`);
    const v2 = await admin.getVersion(project, greeting, 2);
    expect(v2.commitMessage).toBe("Friendlier greeting with a VIP line");
    expect((await admin.getPrompt(project, triage)).latestVersion).toBe(1);

    await writeFile(
      join(workDir, "prompts", "app", "greeting.test.yaml"),
      [
        "- name: greets VIPs by name",
        "  variables: { customer: Ada, vip: true }",
        "  expect:",
        "    contains: [Ada, VIP]",
        "    regex: ^Hello",
        "    maxLength: 200",
        "- name: says nothing about VIPs to others",
        "  variables: { customer: Bo, vip: false }",
        "  expect: { notContains: VIP }",
        "- name: a case that fails",
        "  variables: { customer: Cy, vip: false }",
        "  expect: { contains: refund, maxLength: 10 }",
      ].join("\n"),
    );
    const failing = await cli(["test", greeting]);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain("✓ greets VIPs by name");
    expect(failing.stdout).toContain("✗ a case that fails");
    expect(failing.stdout).toContain('does not contain "refund"');
    expect(failing.stdout).toContain("2 passed, 1 failed");
    const casesPath = join(workDir, "prompts", "app", "greeting.test.yaml");
    const cases = await readFile(casesPath, "utf8");
    await writeFile(casesPath, cases.slice(0, cases.indexOf("- name: a case that fails")));
    const passing = await cli(["test", "--json", greeting]);
    expect(passing.code).toBe(0);
    expect(JSON.parse(passing.stdout)).toMatchObject({ passed: 2, failed: 0 });

    // production still serves v1: the local file differs from it.
    const behind = await cli(["diff", greeting, "--label", "production"]);
    expect(behind.code).toBe(1);
    expect(behind.stdout).toContain("+Hello {{customer}}, thanks for reaching out!");

    const edge = new CuecardClient({
      edgeUrl: platform.edgeUrl,
      apiKey: readKey,
      ttlMs: 0,
      staleWhileRevalidateMs: 0,
    });
    const promoted = await cli(["promote", greeting, "--to", "production"]);
    expect(promoted.code).toBe(0);
    expect(promoted.stdout).toContain("production v1 → v2");
    expect((await edge.getPrompt(greeting)).version).toBe(2);
    expect((await cli(["diff", greeting, "--label", "production"])).code).toBe(0);

    const rendered = await cli(["render", greeting, "--var", "customer=Ada", "--var", "vip=yes"]);
    expect(rendered.code).toBe(0);
    expect(rendered.stdout).toBe("Hello Ada, thanks for reaching out! You are a VIP.\n");

    const rolledBack = await cli(["rollback", greeting, "--json"]);
    expect(rolledBack.code).toBe(0);
    expect(JSON.parse(rolledBack.stdout)).toMatchObject({
      previous: 2,
      label: { name: "production", version: 1 },
      changed: true,
    });
    expect((await edge.getPrompt(greeting)).version).toBe(1);

    const history = await cli(["log", greeting, "--label", "production"]);
    expect(history.code).toBe(0);
    expect(history.stdout.split("\n")[0]).toMatch(/v2 → v1 .*rollback$/);
    const versions = await cli(["log", greeting]);
    expect(versions.stdout).toMatch(
      /^v2 \(latest\) .*\n {4}Friendlier greeting with a VIP line\nv1 \(production\)/,
    );
  });

  it("creates a prompt that exists only as a file, and renders a local file", async () => {
    await writeFile(
      promptFile("app/welcome"),
      "---\ntype: chat\ncommitMessage: Welcome message\n---\n## system\n\nWelcome to {{product}}.\n",
    );
    const local = await cli([
      "render",
      "prompts/app/welcome.prompt.md",
      "--var",
      "product=Cuecard",
    ]);
    expect(local.stdout).toBe("## system\n\nWelcome to Cuecard.\n");
    const pushed = await cli(["push", "app/welcome", "--label", "staging"]);
    expect(pushed.code).toBe(0);
    expect(pushed.stderr).toContain("app/welcome: created as v1");
    const created = await admin.getPrompt(project, "app/welcome");
    expect(created.labels.map((label) => label.name).sort()).toEqual(["latest", "staging"]);
  });
  it("reports a push that makes a new version and updates the description and tags as both", async () => {
    const name = "app/faq";
    // Its own cuecard.json (as the first test writes it), so it also runs alone.
    await writeFile(
      join(workDir, "cuecard.json"),
      JSON.stringify({
        adminUrl: platform.adminUrl,
        edgeUrl: platform.edgeUrl,
        project,
        promptsDir: "prompts",
      }),
    );
    await admin.createPrompt(project, {
      name,
      description: "Answers FAQs",
      tags: ["app", "faq"],
      version: { prompt: "Q: {{question}}", commitMessage: "First FAQ" },
    });
    expect((await cli(["pull", name])).code).toBe(0);
    const pulledText = await readFile(promptFile(name), "utf8");
    expect(pulledText).toContain("tags:\n  - app\n  - faq\n");
    await writeFile(
      promptFile(name),
      pulledText
        .replace("description: Answers FAQs", "description: Answers frequently asked questions")
        .replace("tags:\n  - app\n  - faq\n", "")
        .replace("Q: {{question}}", "Question: {{question}}")
        .replace("First FAQ", "Spell out Question"),
    );
    const pushed = await cli(["push", name]);
    expect(pushed.code).toBe(0);
    expect(pushed.stderr).toContain(`${name}: new version v2; description and tags updated`);
    expect(pushed.stdout).toContain(
      "0 created, 1 new version(s), 1 metadata update(s), 0 unchanged.",
    );
    const updated = await admin.getPrompt(project, name);
    expect(updated).toMatchObject({
      latestVersion: 2,
      description: "Answers frequently asked questions",
      tags: [],
    });

    // Metadata alone: no version, and still counted.
    await writeFile(
      promptFile(name),
      (await readFile(promptFile(name), "utf8")).replace(
        "description: Answers frequently asked questions",
        "description: FAQ answers",
      ),
    );
    const json = await cli(["push", "--json", name]);
    expect(JSON.parse(json.stdout).prompts).toEqual([
      { name, status: "metadata", metadataUpdated: ["description"] },
    ]);
    expect((await admin.getPrompt(project, name)).latestVersion).toBe(2);
  });
});

describe("cuecard CLI failures and their exit codes", () => {
  it("refuses a bad file with 2, and pushes nothing from that run", async () => {
    const before = (await admin.getPrompt(project, triage)).latestVersion;
    const triageText = await readFile(promptFile(triage), "utf8");
    await writeFile(
      promptFile(triage),
      triageText.replace("billing, bug", "billing, bug, security"),
    );
    await writeFile(promptFile("app/broken"), "---\ntype: poem\n---\nRoses are {{red}}\n");
    try {
      const run = await cli(["push"]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        "app/broken.prompt.md: type must be 'text' or 'chat', not 'poem'",
      );
      expect((await admin.getPrompt(project, triage)).latestVersion).toBe(before);

      await writeFile(promptFile("app/broken"), "---\ntype: text\n---\nHello {{#open}}\n");
      const unclosed = await cli(["push", "app/broken"]);
      expect(unclosed.code).toBe(2);
      expect(unclosed.stderr).toContain("the template is not valid");
    } finally {
      await rm(promptFile("app/broken"));
      await writeFile(promptFile(triage), triageText);
    }
  });

  it("answers 3 for a prompt that does not exist", async () => {
    const promote = await cli(["promote", "app/does-not-exist", "--json"]);
    expect(promote.code).toBe(3);
    expect(JSON.parse(promote.stdout).error).toMatchObject({ exitCode: 3, code: "not_found" });
    expect((await cli(["render", "app/does-not-exist"])).code).toBe(3);
    expect((await cli(["log", "app/does-not-exist"])).code).toBe(3);
  });

  it("answers 4 when the label moved since the revision the caller saw", async () => {
    const seen = (await admin.getPrompt(project, greeting)).labels.find(
      (label) => label.name === "production",
    );
    if (!seen) throw new Error("production label missing");
    await admin.moveLabel(project, greeting, "production", { version: 2, expectedRev: seen.rev });
    const stale = await cli([
      "promote",
      greeting,
      "--version",
      "1",
      "--expected-rev",
      String(seen.rev),
    ]);
    expect(stale.code).toBe(4);
    expect(stale.stderr).toMatch(/^error: /);
    expect((await admin.getPrompt(project, greeting)).labels).toContainEqual(
      expect.objectContaining({ name: "production", version: 2 }),
    );
  });

  it("answers 5 when the server cannot be reached", async () => {
    const closedPort = await findFreePort();
    const run = await cli(["pull"], { CUECARD_ADMIN_URL: `http://127.0.0.1:${closedPort}` });
    expect(run.code).toBe(5);
    expect(run.stderr).toContain("could not be reached");
  });

  it("answers 2 for usage mistakes and a missing key", async () => {
    expect((await cli(["frobnicate"])).code).toBe(2);
    expect((await cli(["push", "--no-such-flag"])).code).toBe(2);
    const keyless = await main(["pull"], {
      cwd: workDir,
      env: {},
      stdout: () => {},
      stderr: () => {},
    });
    expect(keyless).toBe(2);
  });
});

describe("the cuecard bin", () => {
  it("runs from node_modules/.bin after npm install, with no build step", async () => {
    const bin = join(repositoryRoot, "node_modules", ".bin", "cuecard");
    expect(existsSync(bin)).toBe(true);
    const run = await new Promise<Run>((resolve) => {
      execFile(
        process.execPath,
        [bin, "test", "--json", greeting],
        { cwd: workDir, env: { ...process.env, NO_COLOR: "1" } },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
      );
    });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ passed: 2, failed: 0 });
  });
});
