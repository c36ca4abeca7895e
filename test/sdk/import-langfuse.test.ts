/**
 * `cuecard import langfuse` against the real Cuecard workers (scripts/platform.ts, Miniflare) and
 * a stand-in for a Langfuse instance, which cannot run here: a small Node HTTP server answering
 * the two prompt reads of Langfuse's public API as documented in the Langfuse contract notes —
 * Basic auth checked, pages with meta.totalPages, version numbers with gaps where versions were
 * deleted, `{message, error}` error bodies, 429 with Retry-After.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startEphemeralPlatform } from "../../scripts/platform";
import { AdminClient } from "../../sdk/src/admin";
import { LangfusePrompts } from "../../sdk/src/cli/langfuse";
import { main } from "../../sdk/src/cli/main";

interface LangfuseVersion {
  version: number;
  type: "text" | "chat";
  prompt: unknown;
  config: unknown;
  labels: string[];
  commitMessage: string | null;
}

interface LangfuseProject {
  publicKey: string;
  secretKey: string;
  /** name → versions, oldest first; tags are the prompt's, as in Langfuse. */
  prompts: Map<string, { tags: string[]; versions: LangfuseVersion[] }>;
}

/** A Langfuse stand-in: the project is the one the Basic-auth key pair belongs to. */
class FakeLangfuse {
  readonly projects: LangfuseProject[] = [];
  /** Answer the next N requests with 429, as Langfuse's rate limiter does. */
  rateLimitNext = 0;
  requests: string[] = [];
  #server?: Server;
  url = "";

  project(publicKey: string, secretKey: string): LangfuseProject {
    const project = { publicKey, secretKey, prompts: new Map() };
    this.projects.push(project);
    return project;
  }

  async start() {
    this.#server = createServer((request, response) => {
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        response.writeHead(status, { "content-type": "application/json", ...headers });
        response.end(JSON.stringify(body));
      };
      const url = new URL(request.url ?? "/", "http://langfuse.test");
      this.requests.push(`${request.method} ${url.pathname}${url.search}`);
      const [scheme, encoded] = (request.headers.authorization ?? "").split(" ");
      const [publicKey, secretKey] = Buffer.from(encoded ?? "", "base64")
        .toString()
        .split(":");
      const project = this.projects.find(
        (candidate) => candidate.publicKey === publicKey && candidate.secretKey === secretKey,
      );
      if (scheme !== "Basic" || !project) {
        send(401, {
          message: "Invalid credentials. Confirm that you've configured the correct host.",
          error: "UnauthorizedError",
        });
        return;
      }
      if (this.rateLimitNext > 0) {
        this.rateLimitNext--;
        send(
          429,
          { message: "Rate limit exceeded", error: "TooManyRequestsError" },
          { "retry-after": "1" },
        );
        return;
      }
      if (request.method !== "GET") {
        send(405, { message: "Method not allowed", error: "MethodNotAllowedError" });
        return;
      }
      const list = url.pathname === "/api/public/v2/prompts";
      const one = /^\/api\/public\/v2\/prompts\/([^/]+)$/.exec(url.pathname);
      if (list) {
        const page = Number(url.searchParams.get("page") ?? 1);
        const limit = Number(url.searchParams.get("limit") ?? 10);
        if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
          send(400, { message: "limit must be between 1 and 100", error: "InvalidRequestError" });
          return;
        }
        const all = [...project.prompts.entries()].map(([name, prompt]) => {
          const newest = prompt.versions.at(-1) as LangfuseVersion;
          return {
            name,
            type: newest.type,
            versions: prompt.versions.map((version) => version.version),
            labels: [...new Set(prompt.versions.flatMap((version) => labelsOf(prompt, version)))],
            tags: prompt.tags,
            lastUpdatedAt: "2026-11-30T10:00:00.000Z",
            lastConfig: newest.config,
          };
        });
        send(200, {
          data: all.slice((page - 1) * limit, page * limit),
          meta: { page, limit, totalItems: all.length, totalPages: Math.ceil(all.length / limit) },
        });
        return;
      }
      if (one) {
        const name = decodeURIComponent(one[1] as string);
        const label = url.searchParams.get("label");
        const versionNumber = Number(url.searchParams.get("version"));
        const prompt = project.prompts.get(name);
        const version = prompt?.versions.find((candidate) =>
          label === null
            ? candidate.version === versionNumber
            : labelsOf(prompt, candidate).includes(label),
        );
        if (!prompt || !version) {
          send(404, {
            message:
              label === null
                ? `Prompt not found: '${name}' with version ${versionNumber}`
                : `Prompt not found: '${name}' with label '${label}'`,
            error: "LangfuseNotFoundError",
          });
          return;
        }
        send(200, {
          id: randomUUID(),
          name,
          version: version.version,
          type: version.type,
          prompt: version.prompt,
          config: version.config,
          labels: labelsOf(prompt, version),
          tags: prompt.tags,
          commitMessage: version.commitMessage,
          resolutionGraph: null,
          createdAt: "2026-11-30T10:00:00.000Z",
          updatedAt: "2026-11-30T10:00:00.000Z",
          projectId: "lf-project",
          createdBy: "API",
          isActive: null,
        });
        return;
      }
      send(404, { message: "Route not found", error: "NotFoundError" });
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop() {
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

/** Langfuse returns `latest` on the newest version besides the labels set on it. */
function labelsOf(prompt: { versions: LangfuseVersion[] }, version: LangfuseVersion): string[] {
  return prompt.versions.at(-1) === version ? [...version.labels, "latest"] : version.labels;
}

let platform: Platform;
let langfuse: FakeLangfuse;
let workDir: string;
let project: string;
let adminKey: string;
let editorKey: string;
let admin: AdminClient;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    cwd: workDir,
    env: { CUECARD_API_KEY: adminKey, ...env },
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
  });
  return { code, stdout, stderr };
}

function importFrom(keys: LangfuseProject, ...flags: string[]) {
  return cli([
    "import",
    "langfuse",
    "--host",
    langfuse.url,
    "--public-key",
    keys.publicKey,
    "--secret-key",
    keys.secretKey,
    ...flags,
  ]);
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "cuecard-import-"));
  langfuse = new FakeLangfuse();
  await langfuse.start();
  platform = await startEphemeralPlatform("import-langfuse");
  project = `lfi-${randomUUID().slice(0, 8)}`;
  const bootstrap = await fetch(`${platform.adminUrl}/api/v1/bootstrap`, {
    method: "POST",
    headers: { authorization: `Bearer ${platform.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ project, keyName: "import tests" }),
  });
  expect(bootstrap.status).toBe(201);
  adminKey = ((await bootstrap.json()) as { secret: string }).secret;
  admin = new AdminClient({ adminUrl: platform.adminUrl, apiKey: adminKey });
  const editor = await admin.call("post", "/v1/projects/{project}/keys", {
    path: { project },
    body: { name: "importer", role: "editor" },
  });
  editorKey = editor.secret;
  const init = await cli([
    "init",
    "--admin-url",
    platform.adminUrl,
    "--edge-url",
    platform.edgeUrl,
    "--project",
    project,
  ]);
  expect(init.code, init.stderr).toBe(0);
});

afterAll(async () => {
  await platform?.dispose();
  await langfuse?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("cuecard import langfuse", () => {
  const team = () => langfuse.projects[0] as LangfuseProject;

  beforeAll(() => {
    const keys = langfuse.project("pk-lf-team", "sk-lf-team");
    // Version 2 was deleted in Langfuse: the numbers have a gap.
    keys.prompts.set("support/triage", {
      tags: ["support", "triage"],
      versions: [
        {
          version: 1,
          type: "text",
          prompt: "Sort this ticket: {{ticket}}",
          config: { model: "gpt-4o-mini", temperature: 0 },
          labels: [],
          commitMessage: "First triage",
        },
        {
          version: 3,
          type: "text",
          prompt: "Sort this ticket by urgency: {{ticket}}",
          config: { model: "gpt-4o-mini", temperature: 0.1 },
          labels: ["production"],
          commitMessage: "Ask for urgency",
        },
        {
          version: 4,
          type: "text",
          prompt: "Sort this ticket by urgency and product: {{ticket}}",
          config: { model: "gpt-4o", temperature: 0.1 },
          labels: ["staging"],
          commitMessage: null,
        },
      ],
    });
    keys.prompts.set("chat/greeter", {
      tags: [],
      versions: [
        {
          version: 1,
          type: "chat",
          prompt: [
            { role: "system", content: "You greet customers of {{company}}." },
            { role: "user", content: "Hello, I am {{customer}}" },
          ],
          config: {},
          labels: ["production"],
          commitMessage: "Greeter",
        },
        {
          version: 2,
          type: "chat",
          prompt: [
            { role: "system", content: "You greet customers of {{company}} warmly." },
            { role: "user", content: "Hello, I am {{customer}}" },
          ],
          config: { temperature: 0.7 },
          labels: [],
          commitMessage: "Warmer",
        },
      ],
    });
  });

  it("refuses wrong Langfuse keys clearly, with nothing written", async () => {
    const before = await admin.listPrompts(project);
    const run = await cli([
      "import",
      "langfuse",
      "--host",
      langfuse.url,
      "--public-key",
      "pk-lf-team",
      "--secret-key",
      "sk-lf-wrong",
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `Langfuse at ${langfuse.url} refused the keys: Invalid credentials. Confirm that you've configured the correct host. (UnauthorizedError)`,
    );
    expect(run.stderr).toContain("Check --public-key and --secret-key");
    expect(await admin.listPrompts(project)).toEqual(before);
  });

  it("imports every version in order, with labels, tags, configs and commit messages", async () => {
    // Langfuse's rate limiter answers the first request with 429: the import waits and retries.
    langfuse.rateLimitNext = 1;
    langfuse.requests = [];
    const run = await importFrom(team());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(
      "support/triage: created with v1–v3 from Langfuse v1, v3, v4 (text); production v2; staging v3; tags added: support, triage",
    );
    expect(run.stdout).toContain(
      "chat/greeter: created with v1–v2 from Langfuse v1, v2 (chat); production v1",
    );
    expect(run.stdout).toContain(
      "2 prompt(s) created, 0 updated, 0 unchanged, 0 conflict(s), 0 skipped; 5 version(s) added, 3 label(s) moved, 2 tag(s) added.",
    );

    const triage = await admin.getPrompt(project, "support/triage");
    expect(triage.type).toBe("text");
    expect(triage.tags).toEqual(["support", "triage"]);
    expect(triage.latestVersion).toBe(3);
    const versions = await admin.allVersions(project, "support/triage");
    expect(
      versions.map(({ version, prompt, config, commitMessage, labels }) => ({
        version,
        prompt,
        config,
        commitMessage,
        labels,
      })),
    ).toEqual([
      {
        version: 1,
        prompt: "Sort this ticket: {{ticket}}",
        config: { model: "gpt-4o-mini", temperature: 0 },
        commitMessage: "First triage",
        labels: [],
      },
      {
        version: 2,
        prompt: "Sort this ticket by urgency: {{ticket}}",
        config: { model: "gpt-4o-mini", temperature: 0.1 },
        commitMessage: "Ask for urgency",
        labels: ["production"],
      },
      {
        version: 3,
        prompt: "Sort this ticket by urgency and product: {{ticket}}",
        config: { model: "gpt-4o", temperature: 0.1 },
        commitMessage: null,
        labels: ["latest", "staging"],
      },
    ]);

    const greeter = await admin.allVersions(project, "chat/greeter");
    expect(
      greeter.map(({ type, prompt, config, labels }) => ({ type, prompt, config, labels })),
    ).toEqual([
      {
        type: "chat",
        prompt: [
          { role: "system", content: "You greet customers of {{company}}." },
          { role: "user", content: "Hello, I am {{customer}}" },
        ],
        config: {},
        labels: ["production"],
      },
      {
        type: "chat",
        prompt: [
          { role: "system", content: "You greet customers of {{company}} warmly." },
          { role: "user", content: "Hello, I am {{customer}}" },
        ],
        config: { temperature: 0.7 },
        labels: ["latest"],
      },
    ]);
    // The rate-limited request was retried.
    expect(langfuse.requests.slice(0, 2)).toEqual([
      "GET /api/public/v2/prompts?page=1&limit=100",
      "GET /api/public/v2/prompts?page=1&limit=100",
    ]);
  });

  it("changes nothing when run again and nothing changed in Langfuse", async () => {
    const history = await admin.labelHistory(project, "support/triage", "production");
    const run = await importFrom(team());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(
      "chat/greeter: unchanged (2 versions already imported)\nsupport/triage: unchanged (3 versions already imported)",
    );
    expect(run.stdout).toContain(
      "0 prompt(s) created, 0 updated, 2 unchanged, 0 conflict(s), 0 skipped; 0 version(s) added, 0 label(s) moved, 0 tag(s) added.",
    );
    expect((await admin.getPrompt(project, "support/triage")).latestVersion).toBe(3);
    expect(await admin.labelHistory(project, "support/triage", "production")).toEqual(history);
  });

  it("takes only a new Langfuse version, and plans it first with --dry-run", async () => {
    team()
      .prompts.get("support/triage")
      ?.versions.push({
        version: 5,
        type: "text",
        prompt: "Sort this ticket by urgency, product and language: {{ticket}}",
        config: { model: "gpt-4o", temperature: 0.1 },
        labels: [],
        commitMessage: "Language too",
      });
    // production moves in Langfuse from its v3 to its v5.
    const versions = team().prompts.get("support/triage")?.versions ?? [];
    for (const version of versions) {
      version.labels = version.labels.filter((label) => label !== "production");
    }
    versions.at(-1)?.labels.push("production");

    const plan = await importFrom(team(), "--dry-run");
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain(
      "support/triage: v4 from Langfuse v5 would be added; production v2 → v4",
    );
    expect(plan.stdout).toContain(
      "Dry run, nothing written: 0 prompt(s) created, 1 updated, 1 unchanged, 0 conflict(s), 0 skipped; 1 version(s) added, 1 label(s) moved, 0 tag(s) added.",
    );
    expect((await admin.getPrompt(project, "support/triage")).latestVersion).toBe(3);

    const run = await importFrom(team());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("support/triage: v4 from Langfuse v5 added; production v2 → v4");
    expect(run.stdout).toContain("chat/greeter: unchanged (2 versions already imported)");
    const triage = await admin.getPrompt(project, "support/triage");
    expect(triage.latestVersion).toBe(4);
    expect(Object.fromEntries(triage.labels.map((label) => [label.name, label.version]))).toEqual({
      latest: 4,
      production: 4,
      staging: 3,
    });
    const newest = await admin.getVersion(project, "support/triage", 4);
    expect(newest.prompt).toBe("Sort this ticket by urgency, product and language: {{ticket}}");
    expect(newest.commitMessage).toBe("Language too");
  });

  it("keeps a version deleted in Langfuse after the import, and changes nothing for it", async () => {
    // Langfuse v3 became Cuecard v2; deleting it in Langfuse leaves Cuecard's history whole.
    const triage = team().prompts.get("support/triage");
    if (!triage) throw new Error("support/triage is set up above");
    triage.versions = triage.versions.filter((version) => version.version !== 3);
    const run = await importFrom(team());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("support/triage: unchanged (3 versions already imported)");
    expect((await admin.getPrompt(project, "support/triage")).latestVersion).toBe(4);
    expect((await admin.getVersion(project, "support/triage", 2)).prompt).toBe(
      "Sort this ticket by urgency: {{ticket}}",
    );
  });

  it("reports a Cuecard prompt with other content as a conflict and leaves it alone", async () => {
    await admin.createPrompt(project, {
      name: "billing/refund",
      version: { prompt: "Written in Cuecard: {{order}}", labels: ["production"] },
    });
    const keys = langfuse.project("pk-lf-billing", "sk-lf-billing");
    keys.prompts.set("billing/refund", {
      tags: ["billing"],
      versions: [
        {
          version: 1,
          type: "text",
          prompt: "Written in Langfuse: {{order}}",
          config: {},
          labels: ["production"],
          commitMessage: null,
        },
      ],
    });
    keys.prompts.set("billing/invoice", {
      tags: [],
      versions: [
        {
          version: 1,
          type: "text",
          prompt: "Invoice {{number}}",
          config: {},
          labels: [],
          commitMessage: null,
        },
      ],
    });
    const run = await importFrom(keys);
    expect(run.code).toBe(4);
    expect(run.stdout).toContain(
      "billing/refund: conflict, not changed: it exists in Cuecard (v1) with content that matches no Langfuse version",
    );
    expect(run.stdout).toContain("billing/invoice: created with v1 from Langfuse v1 (text)");
    expect(run.stdout).toContain("1 prompt(s) created, 0 updated, 0 unchanged, 1 conflict(s)");
    const refund = await admin.getPrompt(project, "billing/refund");
    expect(refund.latestVersion).toBe(1);
    expect(refund.tags).toEqual([]);
    expect((await admin.getVersion(project, "billing/refund", 1)).prompt).toBe(
      "Written in Cuecard: {{order}}",
    );

    // A version written in Cuecard after the import is not overwritten either.
    await admin.createVersion(project, "billing/invoice", {
      prompt: "Edited in Cuecard {{number}}",
    });
    const again = await importFrom(keys);
    expect(again.code).toBe(4);
    expect(again.stdout).toContain(
      "billing/invoice: conflict, not changed: Cuecard v2 is not in Langfuse (edited in Cuecard, or deleted in Langfuse)",
    );
    expect((await admin.getPrompt(project, "billing/invoice")).latestVersion).toBe(2);
  });

  it("says which key moves protected labels, and moves them on the next run with it", async () => {
    const keys = langfuse.project("pk-lf-ops", "sk-lf-ops");
    keys.prompts.set("ops/pager", {
      tags: [],
      versions: [
        {
          version: 1,
          type: "text",
          prompt: "Page {{team}}",
          config: {},
          labels: ["production", "canary"],
          commitMessage: null,
        },
      ],
    });
    const asEditor = await cli(
      [
        "import",
        "langfuse",
        "--host",
        langfuse.url,
        "--public-key",
        keys.publicKey,
        "--secret-key",
        keys.secretKey,
      ],
      { CUECARD_API_KEY: editorKey },
    );
    expect(asEditor.code).toBe(2);
    expect(asEditor.stdout).toContain(
      "ops/pager: created with v1 from Langfuse v1 (text); production not moved to v1:",
    );
    expect(asEditor.stderr).toContain(
      "Cuecard refused to move the protected label(s) production: this key's role may not. Run the import again with a publisher or admin key (cc_publisher_… or cc_admin_…) in CUECARD_API_KEY",
    );
    const pager = await admin.getPrompt(project, "ops/pager");
    expect(pager.labels.map((label) => label.name).sort()).toEqual(["canary", "latest"]);

    const asAdmin = await importFrom(keys);
    expect(asAdmin.code, asAdmin.stderr).toBe(0);
    expect(asAdmin.stdout).toContain("ops/pager: production v1");
    expect((await admin.getPrompt(project, "ops/pager")).latestVersion).toBe(1);
  });

  it("skips a prompt whose name Cuecard refuses, with Cuecard's reason, and imports the rest", async () => {
    const keys = langfuse.project("pk-lf-mail", "sk-lf-mail");
    const version: LangfuseVersion = {
      version: 1,
      type: "text",
      prompt: "Welcome {{name}}",
      config: {},
      labels: [],
      commitMessage: null,
    };
    // Langfuse allows parentheses in names; Cuecard's rule does not. Upper case and spaces pass.
    keys.prompts.set("Onboarding (copy)", { tags: [], versions: [version] });
    keys.prompts.set("Onboarding Email", { tags: [], versions: [version] });
    const run = await importFrom(keys);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain("Onboarding (copy): skipped: Cuecard refused it:");
    expect(run.stdout).toContain("use letters, digits, spaces");
    expect(run.stdout).toContain("Onboarding Email: created with v1 from Langfuse v1 (text)");
    expect((await admin.getPrompt(project, "Onboarding Email")).latestVersion).toBe(1);
  });
});

describe("the Langfuse prompt reader", () => {
  it("reads every page of a project's prompts", async () => {
    const keys = langfuse.project("pk-lf-big", "sk-lf-big");
    for (let index = 0; index < 105; index++) {
      keys.prompts.set(`many/p${index}`, {
        tags: [],
        versions: [
          { version: 1, type: "text", prompt: "x", config: {}, labels: [], commitMessage: null },
        ],
      });
    }
    langfuse.requests = [];
    const reader = new LangfusePrompts({
      baseUrl: langfuse.url,
      publicKey: "pk-lf-big",
      secretKey: "sk-lf-big",
    });
    const prompts = await reader.listPrompts();
    expect(prompts).toHaveLength(105);
    expect(prompts.at(-1)?.name).toBe("many/p104");
    expect(langfuse.requests).toEqual([
      "GET /api/public/v2/prompts?page=1&limit=100",
      "GET /api/public/v2/prompts?page=2&limit=100",
    ]);
  });
});
