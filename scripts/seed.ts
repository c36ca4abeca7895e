/**
 * Demo data for local development, written through the admin HTTP API (so it goes through the
 * same validation, audit and KV publishing as a user's edits). Safe to run again: prompts that
 * already exist are left alone, and the dev admin and read keys are reused from
 * `<persistDir>/dev-keys.json` (the API shows a key's secret only once).
 *
 * Standalone, against a running `npm run dev`: `npx tsx scripts/seed.ts`.
 */
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseEnv } from "node:util";
import { langfusePublicKey } from "../workers/core/langfuse";
import type { Platform } from "./platform";

export const demoProject = "default";

/**
 * Pages on any local port may call the edge with the demo project's keys (browser apps and the
 * SDK's browser test, served from localhost or 127.0.0.1).
 */
export const demoAllowedOrigins = ["http://localhost:*", "http://127.0.0.1:*"];

type ChatMessage = { role: "system" | "developer" | "user" | "assistant"; content: string };

interface DemoVersion {
  prompt: string | ChatMessage[];
  config: Record<string, unknown>;
  commitMessage: string;
  labels?: string[];
}

interface DemoPrompt {
  name: string;
  description: string;
  tags: string[];
  /** In creation order: version 1 first. */
  versions: [DemoVersion, ...DemoVersion[]];
}

const triageInstructions =
  "You are the support triage assistant for {{company}}. Classify the customer's ticket.";

export const demoPrompts: DemoPrompt[] = [
  {
    name: "support/triage",
    description: "Classifies an incoming support ticket by category and urgency.",
    tags: ["support", "classification"],
    versions: [
      {
        prompt: [
          {
            role: "system",
            content: `${triageInstructions} Categories: billing, bug, account, how-to. Answer with JSON: {"category": "...", "urgency": "low|normal|high"}.`,
          },
          { role: "user", content: "{{ticket}}" },
        ],
        config: { model: "gpt-4o-mini", temperature: 0 },
        commitMessage: "First triage prompt",
      },
      {
        prompt: [
          {
            role: "system",
            content: `${triageInstructions} Categories: billing, bug, account, how-to, security. A ticket that may expose customer data is always security and high urgency. Answer with JSON: {"category": "...", "urgency": "low|normal|high"}.`,
          },
          { role: "user", content: "{{ticket}}" },
        ],
        config: { model: "gpt-4o-mini", temperature: 0 },
        commitMessage: "Add a security category; data exposure is always urgent",
        labels: ["production"],
      },
      {
        prompt: [
          {
            role: "system",
            content: `${triageInstructions} Categories: billing, bug, account, how-to, security. A ticket that may expose customer data is always security and high urgency.`,
          },
          {
            role: "developer",
            content:
              'Reply with one JSON object and nothing else: {"category": "...", "urgency": "low|normal|high", "summary": "one sentence"}.',
          },
          { role: "user", content: "{{ticket}}" },
        ],
        config: { model: "gpt-4.1-mini", temperature: 0, response_format: "json_object" },
        commitMessage: "Try gpt-4.1-mini with a one-sentence summary",
        labels: ["staging"],
      },
    ],
  },
  {
    name: "support/reply",
    description: "Drafts a reply to a customer once the ticket has been resolved.",
    tags: ["support", "email"],
    versions: [
      {
        prompt:
          "Write a short, friendly reply to {{customer}} explaining how their issue was resolved: {{resolution}}",
        config: { model: "gpt-4o-mini", temperature: 0.4, max_tokens: 400 },
        commitMessage: "First reply draft",
      },
      {
        prompt:
          "Write a short, friendly reply to {{customer}} explaining how their issue was resolved: {{resolution}}\n{{#vip}}Thank them for being a Premium customer and mention their dedicated account manager.{{/vip}}\nSign off as the {{company}} support team.",
        config: { model: "gpt-4o-mini", temperature: 0.4, max_tokens: 400 },
        commitMessage: "Thank VIP customers and sign off as the team",
        labels: ["production"],
      },
    ],
  },
  {
    name: "marketing/tagline",
    description: "Suggests taglines for a product launch.",
    tags: ["marketing"],
    versions: [
      {
        prompt:
          "Suggest five taglines of at most eight words for {{product}}, aimed at {{audience}}. Avoid superlatives.",
        config: { model: "gpt-4o", temperature: 0.9 },
        commitMessage: "Launch tagline generator",
        labels: ["production"],
      },
    ],
  },
];

/** A key the seed created; its secret is shown once by the API, so it is kept in dev-keys.json. */
export type DevRole = "admin" | "publisher" | "editor" | "reader";

export interface DevKey {
  id: string;
  name: string;
  role: DevRole;
  secret: string;
  project: string;
  createdAt: string;
}

/** The pair the Langfuse SDKs take (a view of the publisher key), and the edge as their baseUrl. */
export interface DevLangfusePair {
  publicKey: string;
  secretKey: string;
  baseUrl: string;
}

type StoredDevKeys = Partial<Record<DevRole, DevKey>> & { langfuse?: DevLangfusePair };

export interface SeedResult {
  createdPrompts: string[];
  existingPrompts: string[];
  /** The demo project's admin key, for the admin API and UI. */
  adminKey: DevKey;
  /** A read key of the demo project, for the edge. */
  readKey: DevKey;
  /** One key of every role, to try the role model (admin first). */
  keys: DevKey[];
  /** The keys created by this run; the others came from dev-keys.json. */
  createdKeys: DevKey["role"][];
  /**
   * The publisher key as a Langfuse key pair (it may create versions and move `production`), with
   * the edge as the base URL; undefined without an edge URL.
   */
  langfuse?: DevLangfusePair;
}

export interface SeedOptions {
  adminUrl: string;
  /** The deployment's bootstrap token; it can only create the demo project's first admin key. */
  bootstrapToken: string;
  /** Where dev-keys.json lives: the platform's persist dir, so it goes when the state goes. */
  persistDir: string;
  /** When given, a stored read key the edge rejects is replaced. */
  edgeUrl?: string;
}

/** Seeds a platform this process started (see `scripts/platform.ts`). */
export function seedPlatform(
  platform: Pick<Platform, "adminUrl" | "adminToken" | "edgeUrl" | "persistDir">,
): Promise<SeedResult> {
  return seedDemo({
    adminUrl: platform.adminUrl,
    bootstrapToken: platform.adminToken,
    edgeUrl: platform.edgeUrl,
    persistDir: platform.persistDir,
  });
}

export async function seedDemo(options: SeedOptions): Promise<SeedResult> {
  const keysFile = join(options.persistDir, "dev-keys.json");
  const stored = readStoredKeys(keysFile);
  const createdKeys: DevKey["role"][] = [];

  let adminKey = stored.admin;
  if (!adminKey || !(await adminAccepts(options.adminUrl, adminKey.secret))) {
    adminKey = await bootstrapAdminKey(options, keysFile);
    createdKeys.push("admin");
  }
  const admin = adminClient(options.adminUrl, adminKey.secret);
  // Before any key is checked at the edge, so no isolate caches a record without the origins.
  await allowDemoOrigins(admin);

  const keys: StoredDevKeys = { admin: adminKey };
  for (const role of ["publisher", "editor"] as const) {
    const key = stored[role];
    keys[role] =
      key && (await adminAccepts(options.adminUrl, key.secret))
        ? key
        : await createKey(admin, role);
    if (keys[role] !== key) createdKeys.push(role);
  }
  let readKey = stored.reader;
  if (readKey && !(await telemetryAccepts(options.edgeUrl, readKey.secret))) {
    // A state from before telemetry existed: its keys' KV records do not say they may send
    // telemetry. Republishing rewrites them (README: Upgrading).
    await expectStatus(
      await admin.request("POST", `/projects/${demoProject}/republish`),
      200,
      "republish the demo project",
    );
  }
  if (!readKey || !(await edgeAccepts(options.edgeUrl, readKey.secret))) {
    readKey = await createKey(admin, "reader");
    createdKeys.push("reader");
  }
  keys.reader = readKey;
  const publisher = keys.publisher;
  const langfuse =
    publisher && options.edgeUrl
      ? {
          publicKey: langfusePublicKey(publisher.id),
          secretKey: publisher.secret,
          baseUrl: options.edgeUrl,
        }
      : undefined;
  keys.langfuse = langfuse;
  // Written when the edge moved too: the pair's baseUrl names it.
  if (createdKeys.length > 0 || JSON.stringify(stored.langfuse) !== JSON.stringify(langfuse)) {
    await writeFile(keysFile, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  }

  const existing = await listPromptNames(admin, demoProject);
  const createdPrompts: string[] = [];
  const existingPrompts: string[] = [];
  for (const demo of demoPrompts) {
    if (existing.has(demo.name)) {
      existingPrompts.push(demo.name);
      continue;
    }
    const [first, ...later] = demo.versions;
    const created = await admin.request("POST", `/projects/${demoProject}/prompts`, {
      name: demo.name,
      description: demo.description,
      tags: demo.tags,
      version: first,
    });
    // 409: an archived prompt of that name exists (archived prompts are not listed).
    if (created.status === 409) {
      existingPrompts.push(demo.name);
      continue;
    }
    await expectStatus(created, 201, `create ${demo.name}`);
    for (const version of later) {
      const response = await admin.request(
        "POST",
        `/projects/${demoProject}/prompts/${encodeURIComponent(demo.name)}/versions`,
        version,
      );
      await expectStatus(response, 201, `add a version to ${demo.name}`);
    }
    createdPrompts.push(demo.name);
  }

  const allKeys = (["admin", "publisher", "editor", "reader"] as const).flatMap((role) => {
    const key = keys[role];
    return key ? [key] : [];
  });
  return {
    createdPrompts,
    existingPrompts,
    adminKey,
    readKey,
    keys: allKeys,
    createdKeys,
    langfuse,
  };
}

/** The demo experiment: `production` of support/reply split between v2 (control) and v3. */
export const demoExperiment = {
  prompt: "support/reply",
  label: "production",
  key: "reply-concise",
  /** The variant's version, added to support/reply when it has only the two demo versions. */
  variantVersion: {
    prompt:
      "Reply to {{customer}} in at most three sentences: say what was wrong, how it was fixed ({{resolution}}), and that they can answer this email if anything is still off.\n{{#vip}}Mention their dedicated account manager.{{/vip}}\nSign off as the {{company}} support team.",
    config: { model: "gpt-4o-mini", temperature: 0.3, max_tokens: 200 },
    commitMessage: "Concise reply: three sentences at most",
  },
};

export interface DemoExperiment {
  id: string;
  key: string;
  prompt: string;
  label: string;
  state: string;
  /** True when this run created (and started) it. */
  created: boolean;
}

/**
 * Starts the demo experiment unless support/reply already has one (in any state: one the
 * developer stopped stays stopped). Adds the variant's version first if the prompt lacks it.
 * Not part of `seedPlatform`: tests that seed the demo project must be free to move its labels.
 */
export async function seedDemoExperiment(options: {
  adminUrl: string;
  adminKey: string;
}): Promise<DemoExperiment | undefined> {
  const admin = adminClient(options.adminUrl, options.adminKey);
  const base = `/projects/${demoProject}/experiments`;
  const listed = await admin.request(
    "GET",
    `${base}?prompt=${encodeURIComponent(demoExperiment.prompt)}&limit=1`,
  );
  await expectStatus(listed, 200, "list the demo experiments");
  const [existing] = ((await listed.json()) as { items: DemoExperiment[] }).items;
  if (existing) return { ...existing, created: false };

  const promptPath = `/projects/${demoProject}/prompts/${encodeURIComponent(demoExperiment.prompt)}`;
  const prompt = await admin.request("GET", promptPath);
  // The developer archived or never had the prompt: no demo experiment then.
  if (prompt.status === 404) return undefined;
  await expectStatus(prompt, 200, `read ${demoExperiment.prompt}`);
  const { latestVersion, labels } = (await prompt.json()) as {
    latestVersion: number;
    labels: { name: string; version: number }[];
  };
  const control = labels.find((label) => label.name === demoExperiment.label);
  if (!control) return undefined;
  let variantVersion = latestVersion;
  if (latestVersion === control.version) {
    const added = await admin.request(
      "POST",
      `${promptPath}/versions`,
      demoExperiment.variantVersion,
    );
    await expectStatus(added, 201, `add the demo variant's version to ${demoExperiment.prompt}`);
    variantVersion = ((await added.json()) as { version: number }).version;
  }
  const created = await admin.request("POST", base, {
    prompt: demoExperiment.prompt,
    label: demoExperiment.label,
    key: demoExperiment.key,
    description: "Does a shorter reply get as many thumbs-up, faster?",
    unit: "user id",
    control: { key: "control", weight: 0.5 },
    variants: [{ key: "concise", version: variantVersion, weight: 0.5 }],
    coverage: 1,
    metrics: {
      primary: { kind: "score", name: "helpful" },
      guardrails: [
        { metric: { kind: "latency_p95" }, maxRegressionPct: 10 },
        { metric: { kind: "error_rate" }, maxRegressionPct: 5 },
      ],
    },
  });
  await expectStatus(created, 201, "create the demo experiment");
  const { id } = (await created.json()) as { id: string };
  const started = await admin.request("POST", `${base}/${id}/start`);
  await expectStatus(started, 200, "start the demo experiment");
  return { ...((await started.json()) as DemoExperiment), created: true };
}

/** The bootstrap token gives a project its first admin key, and only that. */
async function bootstrapAdminKey(options: SeedOptions, keysFile: string): Promise<DevKey> {
  const response = await fetch(`${options.adminUrl}/api/v1/bootstrap`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${options.bootstrapToken}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ project: demoProject, keyName: "dev admin" }),
  });
  if (response.status === 409) {
    throw new Error(
      `seed: project '${demoProject}' already has an admin key, but ${keysFile} does not hold a working one. ` +
        `Restore that file, or delete ${options.persistDir} to start from a fresh local state.`,
    );
  }
  await expectStatus(response, 201, "bootstrap the dev admin key");
  return devKeyFrom(await response.json(), "admin");
}

async function createKey(admin: AdminClient, role: Exclude<DevRole, "admin">): Promise<DevKey> {
  const response = await admin.request("POST", `/projects/${demoProject}/keys`, {
    name: `dev ${role}`,
    role,
  });
  await expectStatus(response, 201, `create the dev ${role} key`);
  return devKeyFrom(await response.json(), role);
}

function devKeyFrom(body: unknown, role: DevKey["role"]): DevKey {
  const { key, secret } = body as {
    key: { id: string; name: string; createdAt: string };
    secret: string;
  };
  return {
    id: key.id,
    name: key.name,
    role,
    secret,
    project: demoProject,
    createdAt: key.createdAt,
  };
}

function readStoredKeys(path: string): StoredDevKeys {
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, "utf8")) as StoredDevKeys;
  } catch {
    return {};
  }
}

/** A stored key may belong to a state that was since wiped, or have been revoked. */
async function adminAccepts(adminUrl: string, secret: string): Promise<boolean> {
  const response = await adminClient(adminUrl, secret).request(
    "GET",
    `/projects/${demoProject}/prompts?limit=1`,
  );
  await response.body?.cancel();
  return response.status === 200;
}

async function edgeAccepts(edgeUrl: string | undefined, secret: string): Promise<boolean> {
  if (!edgeUrl) return true;
  const response = await fetch(`${edgeUrl}/v1/prompts/${encodeURIComponent("marketing/tagline")}`, {
    headers: { authorization: `Bearer ${secret}` },
  });
  await response.body?.cancel();
  return response.status !== 401 && response.status !== 403;
}

/** Whether the edge lets this key send telemetry (an empty batch is checked for the key only). */
async function telemetryAccepts(edgeUrl: string | undefined, secret: string): Promise<boolean> {
  if (!edgeUrl) return true;
  const response = await fetch(`${edgeUrl}/v1/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify({ events: [] }),
  });
  await response.body?.cancel();
  return response.status !== 403;
}

async function listPromptNames(admin: AdminClient, project: string): Promise<Set<string>> {
  const names = new Set<string>();
  let cursor: string | null = null;
  do {
    const query: string = cursor ? `?limit=200&cursor=${encodeURIComponent(cursor)}` : "?limit=200";
    const response = await admin.request("GET", `/projects/${project}/prompts${query}`);
    await expectStatus(response, 200, "list prompts");
    const page = (await response.json()) as {
      items: { name: string }[];
      nextCursor: string | null;
    };
    for (const item of page.items) names.add(item.name);
    // A cursor that does not advance would loop forever.
    cursor = page.nextCursor && page.nextCursor !== cursor ? page.nextCursor : null;
  } while (cursor);
  return names;
}

interface AdminClient {
  request(method: string, path: string, body?: unknown): Promise<Response>;
}

function adminClient(adminUrl: string, adminKey: string): AdminClient {
  return {
    request(method, path, body) {
      return fetch(`${adminUrl}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminKey}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    },
  };
}

/** Sets the demo project's allowed origins unless it has exactly them (no audit row per run). */
async function allowDemoOrigins(admin: AdminClient): Promise<void> {
  const current = await admin.request("GET", `/projects/${demoProject}`);
  await expectStatus(current, 200, "read the demo project");
  const { allowedOrigins } = (await current.json()) as { allowedOrigins: string[] };
  if (JSON.stringify(allowedOrigins) === JSON.stringify(demoAllowedOrigins)) return;
  await expectStatus(
    await admin.request("PATCH", `/projects/${demoProject}`, {
      allowedOrigins: demoAllowedOrigins,
    }),
    200,
    "allow the demo project's local origins",
  );
}

async function expectStatus(response: Response, status: number, action: string): Promise<void> {
  if (response.status === status) return;
  const detail = await response.text();
  throw new Error(`seed: ${action} answered ${response.status}, expected ${status}: ${detail}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const bootstrapToken =
    process.env.CUECARD_BOOTSTRAP_TOKEN ??
    parseEnv(readFileSync(".dev.vars", "utf8")).ADMIN_BOOTSTRAP_TOKEN;
  if (!bootstrapToken) {
    throw new Error("set CUECARD_BOOTSTRAP_TOKEN or ADMIN_BOOTSTRAP_TOKEN in .dev.vars");
  }
  const result = await seedDemo({
    adminUrl: process.env.CUECARD_ADMIN_URL ?? "http://127.0.0.1:8787",
    edgeUrl: process.env.CUECARD_EDGE_URL ?? "http://127.0.0.1:8788",
    bootstrapToken,
    persistDir: process.env.CUECARD_PERSIST_DIR ?? ".wrangler/state",
  });
  console.log(JSON.stringify(result, null, 2));
}
