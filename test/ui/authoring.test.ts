/**
 * A prompt author's work in the admin UI in a real browser: the whole create → edit → promote →
 * roll back journey with the keyboard only, the label picker that never creates a label by a
 * typo, the settings page, chat diffs aligned by message; then every page, in its states, at a
 * desktop and a phone width: no serious or critical axe finding, no horizontal scrolling, no
 * skipped heading level, and a screenshot of each.
 */
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { repositoryRoot } from "../../scripts/platform";
import { seedDemoExperiment } from "../../scripts/seed";
import { project, startUiHarness, type UiHarness } from "./helpers";

let harness: UiHarness;
let page: Page;
let readKey: string;
let editorKey: string;

const suffix = randomUUID().slice(0, 6);
const journeyName = `journey/welcome-${suffix}`;
const WIDTHS = [1280, 390] as const;
const HEIGHT = 860;
/** The journey and the sweep visit dozens of pages; a shared 2-core machine can be slow. */
const SLOW = 600_000;
const axeSource = readFileSync(
  createRequire(import.meta.url).resolve("axe-core/axe.min.js"),
  "utf8",
);

beforeAll(async () => {
  harness = await startUiHarness();
  page = harness.page;
  await page.setViewportSize({ width: WIDTHS[0], height: HEIGHT });
  // Injected through the browser's own channel, so the pages' CSP (script-src 'self') stays on.
  await harness.context.addInitScript({ content: axeSource });
  readKey = await harness.createKey("authoring reader", "reader");
  editorKey = await harness.createKey("authoring editor", "editor");
  await harness.signIn(harness.adminKey);
});

afterAll(async () => {
  await harness?.dispose();
});

afterEach(() => {
  expect(harness.consoleErrors).toEqual([]);
  harness.consoleErrors.length = 0;
});

const url = (path: string) => harness.url(path);
const promptPath = (name: string, rest = "") => `/prompts/${encodeURIComponent(name)}${rest}`;
const api = (method: string, path: string, body?: unknown) => harness.api(method, path, body);
const promptApi = (name: string, rest = "") =>
  `/projects/${project}/prompts/${encodeURIComponent(name)}${rest}`;

/** The focused element's accessible name as a user hears it: its label, aria-label or text. */
function focusedName(): Promise<string> {
  return page.evaluate(() => {
    const element = document.activeElement as HTMLElement | null;
    if (!element || element === document.body) return "";
    const label = (element as HTMLInputElement).labels?.[0]?.textContent;
    const name = element.getAttribute("aria-label") ?? label ?? element.textContent ?? "";
    return name.replace(/\s+/g, " ").trim();
  });
}

/** Presses Tab until the element named `name` has focus: it is reachable by keyboard. */
async function tabTo(name: string, maxPresses = 80) {
  const seen: string[] = [];
  for (let i = 0; i < maxPresses; i++) {
    await page.keyboard.press("Tab");
    const focused = await focusedName();
    if (focused === name) return;
    seen.push(focused);
  }
  throw new Error(`Tab never reached "${name}"; it went through: ${seen.join(" | ")}`);
}

/** Presses Enter on the focused control and waits for the page it leads to. */
async function enterAndWait(urlPart: string | RegExp) {
  const waiting = page.waitForURL((u) =>
    typeof urlPart === "string" ? u.href.includes(urlPart) : urlPart.test(u.href),
  );
  await page.keyboard.press("Enter");
  await waiting;
  await page.waitForLoadState("load");
}

/** Presses Enter on a control that posts its form and re-renders the same page. */
async function enterAndRerender() {
  const response = page.waitForResponse((r) => r.request().method() === "POST");
  const loaded = page.waitForEvent("load");
  await page.keyboard.press("Enter");
  const status = (await response).status();
  await loaded;
  return status;
}

async function edgeServes(name: string, label: string) {
  const response = await fetch(
    `${harness.platform.edgeUrl}/v1/prompts/${encodeURIComponent(name)}?label=${label}`,
    { headers: { authorization: `Bearer ${readKey}` } },
  );
  return { status: response.status, body: (await response.json()) as { version: number } };
}

describe("admin UI: authoring with the keyboard only", () => {
  it(
    "creates a prompt with typed variables, fixes a refused default, edits, promotes and rolls back",
    async () => {
      await page.goto(url("/"));
      await tabTo("New prompt");
      await enterAndWait("/new-prompt");

      await tabTo("Name");
      await page.keyboard.type(journeyName);
      await tabTo("Template");
      await page.keyboard.type("Hello {{customer}}, you have {{count}} new messages.");
      // The declarations' fields follow the template once the list is updated (no script needed).
      await tabTo("Update variable list");
      expect(await enterAndRerender()).toBe(200);
      await tabTo("Type of customer");
      await page.keyboard.type("string");
      await tabTo("Default of customer");
      await page.keyboard.type("there");
      await tabTo("Description of customer");
      await page.keyboard.type("Who is greeted");
      await tabTo("Type of count");
      await page.keyboard.type("number");
      await tabTo("Default of count");
      await page.keyboard.type("many");
      await tabTo("Commit message");
      await page.keyboard.type("First welcome");
      // The label is picked from the offered ones (typing on a select picks by first letters).
      await tabTo("Set label on save (optional)");
      await page.keyboard.type("production");
      await tabTo("New label name");
      expect(await enterAndRerender()).toBe(422);
      // The refused form keeps the pick.
      await expect(page.getByLabel("Set label on save (optional)").inputValue()).resolves.toBe(
        "production",
      );

      // Focus lands on the one refused field, with its message tied to it.
      await expect(focusedName()).resolves.toBe("Default of count");
      const countDefault = page.getByLabel("Default of count");
      await expect(countDefault.getAttribute("aria-describedby")).resolves.toContain(
        "var.count.default-error",
      );
      await expect(page.locator("[id='var.count.default-error']").textContent()).resolves.toContain(
        "Write a number",
      );
      await expect(page.getByLabel("Description of customer").inputValue()).resolves.toBe(
        "Who is greeted",
      );
      await page.keyboard.press("Control+A");
      await page.keyboard.type("3");
      await enterAndWait("created=1");

      const v1 = await api("GET", promptApi(journeyName, "/versions/1"));
      expect(((await v1.json()) as { variables: unknown }).variables).toEqual([
        { name: "count", type: "number", required: false, default: 3 },
        {
          name: "customer",
          type: "string",
          required: false,
          default: "there",
          description: "Who is greeted",
        },
      ]);

      await tabTo("New version");
      await enterAndWait("/versions/new");
      // The declarations carry over from the version it starts from.
      await expect(page.getByLabel("Default of customer").inputValue()).resolves.toBe("there");
      await tabTo("Template");
      await page.keyboard.press("Control+A");
      await page.keyboard.type("Hi {{customer}}! {{count}} new messages are waiting.");
      await tabTo("Commit message");
      await page.keyboard.type("Friendlier greeting");
      await enterAndWait("saved=2");

      await tabTo("View & preview v2");
      await enterAndWait("/versions/2");
      await tabTo("Promote v2…");
      await enterAndWait("/promote?version=2");
      await expect(page.getByLabel("Label", { exact: true }).inputValue()).resolves.toBe(
        "production",
      );
      await expect(page.locator(".summary").textContent()).resolves.toMatch(
        /serves v1 now.*will serve v2/s,
      );
      await tabTo("Promote v2 to production");
      await enterAndWait("moved=production");
      expect((await edgeServes(journeyName, "production")).body.version).toBe(2);

      await tabTo("Roll back production…");
      await enterAndWait("/labels/production/rollback");
      // Preselected: the version production served before, not the newest one.
      await expect(page.getByLabel("Roll back to").inputValue()).resolves.toBe("1");
      await tabTo("Roll back production to v1");
      await enterAndWait("rollback=1");
      expect((await edgeServes(journeyName, "production")).body.version).toBe(1);
    },
    SLOW,
  );
});

describe("admin UI: labels, comparisons and settings", () => {
  it("refuses a mistyped label instead of creating it, and creates one only through “New label…”", async () => {
    const response = await page.goto(
      url(promptPath(journeyName, "/promote?version=2&label=prodution")),
    );
    expect(response?.status()).toBe(422);
    await expect(page.locator("#newLabel-error").textContent()).resolves.toContain(
      "'prodution' is not a label of this prompt",
    );
    await expect(page.getByRole("button", { name: /^Promote v2/ }).count()).resolves.toBe(0);
    await expect(focusedName()).resolves.toBe("New label name");

    await page.getByLabel("Label", { exact: true }).selectOption("+new");
    await page.getByLabel("New label name").fill("canary");
    await page.getByRole("button", { name: "Show changes" }).click();
    await expect(
      page.getByText("This promotion creates the new label canary.").count(),
    ).resolves.toBe(1);
    await page.getByRole("button", { name: "Promote v2 to canary" }).click();
    await page.waitForURL((u) => u.href.includes("moved=canary"));
    expect((await edgeServes(journeyName, "canary")).body.version).toBe(2);
    const labels = await api("GET", promptApi(journeyName, "/labels"));
    expect(
      ((await labels.json()) as { items: { name: string }[] }).items.map((l) => l.name).sort(),
    ).toEqual(["canary", "latest", "production"]);
  });

  it("preselects nothing when a label has no earlier version, and says so", async () => {
    await page.goto(url(promptPath(journeyName, "/labels/canary/rollback")));
    await expect(page.getByRole("status").textContent()).resolves.toContain(
      "canary has no earlier version in its history. Choose the version to roll back to.",
    );
    await expect(page.getByLabel("Roll back to").inputValue()).resolves.toBe("");
    await expect(page.getByRole("button", { name: /^Roll back canary to/ }).count()).resolves.toBe(
      0,
    );
    await page.getByLabel("Roll back to").selectOption("1");
    await page.getByRole("button", { name: "Show changes" }).click();
    await page.getByRole("button", { name: "Roll back canary to v1" }).waitFor();
  });

  it("compares against what production serves, and the version page offers that comparison", async () => {
    const v3 = await api("POST", promptApi(journeyName, "/versions"), {
      prompt: "Hi {{customer}}! You have {{count}} new messages.",
      commitMessage: "Shorter",
    });
    expect(v3.status).toBe(201);
    await page.goto(url(promptPath(journeyName, "/compare")));
    // production serves v1 (after the rollback): that is what v3 would replace.
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe(
      "Compare v1 and v3",
    );
    await page.goto(url(promptPath(journeyName, "/versions/3")));
    await page.getByRole("link", { name: "Compare with production (v1)" }).click();
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe(
      "Compare v1 and v3",
    );
  });

  it("marks only the inserted message of a chat prompt as added", async () => {
    const name = `journey/chat-${suffix}`;
    const system = { role: "system", content: "You sort support tickets for {{company}}." };
    const user = { role: "user", content: "{{ticket}}" };
    const example = { role: "assistant", content: "Example: billing, high urgency." };
    const created = await api("POST", `/projects/${project}/prompts`, {
      name,
      version: { prompt: [system, user], commitMessage: "Two messages" },
    });
    expect(created.status).toBe(201);
    const v2 = await api("POST", promptApi(name, "/versions"), {
      prompt: [system, example, user],
      commitMessage: "An example between them",
    });
    expect(v2.status).toBe(201);
    await page.goto(url(promptPath(name, "/compare?from=1&to=2")));
    const blocks = page.locator(".diff-block");
    await expect(blocks.locator("h3").allTextContents()).resolves.toEqual([
      "Message 1 — no changes",
      "Message 2 (added)",
      "Message 3 (was 2) — no changes",
      "Model config — no changes",
    ]);
    await expect(page.locator("td.diff-removed").count()).resolves.toBe(0);
    await expect(blocks.nth(1).locator("td.diff-added").allTextContents()).resolves.toEqual([
      "added: [assistant]",
      "added: Example: billing, high urgency.",
    ]);
  });

  it("edits the protected labels on the settings page, which an editor can only read", async () => {
    await page.goto(url("/"));
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Settings" })
      .click();
    await expect(page.getByRole("heading", { level: 2 }).allTextContents()).resolves.toEqual([
      "Protected labels",
      "Telemetry and experiments",
      "Model provider (playground)",
    ]);
    // This platform runs the telemetry worker.
    await expect(page.locator("#telemetry-title + dl").textContent()).resolves.toContain(
      "Deployed.",
    );

    await page.getByLabel("Also protect (optional)").fill("Canary!");
    await page.getByRole("button", { name: "Save protected labels" }).click();
    await expect(focusedName()).resolves.toBe("Also protect (optional)");
    await expect(page.locator("#newLabel-error").textContent()).resolves.toContain("a-z");
    await page.getByLabel("Also protect (optional)").fill("canary");
    await page.getByRole("button", { name: "Save protected labels" }).click();
    await page.getByRole("status").getByText("Saved the protected labels.").waitFor();
    const saved = await api("GET", `/projects/${project}`);
    expect(((await saved.json()) as { protectedLabels: string[] }).protectedLabels).toEqual([
      "production",
      "canary",
    ]);
    // Unticking unprotects.
    await page.getByLabel("canary", { exact: true }).uncheck();
    await page.getByRole("button", { name: "Save protected labels" }).click();
    await page.getByRole("status").getByText("Saved the protected labels.").waitFor();
    const after = await api("GET", `/projects/${project}`);
    expect(((await after.json()) as { protectedLabels: string[] }).protectedLabels).toEqual([
      "production",
    ]);

    const editor = await harness.openAs(editorKey);
    await editor.page.goto(url("/settings"));
    await expect(
      editor.page.getByRole("button", { name: "Save protected labels" }).count(),
    ).resolves.toBe(0);
    await expect(
      editor.page.locator("#protected-labels-title + p").textContent(),
    ).resolves.toContain("Only publishers and admins can move these labels");
    await editor.close();
  });
});

/** The UI's GET routes, read from where they are registered. */
function uiGetRoutes(): string[] {
  const files = [join(repositoryRoot, "workers/admin/ui.tsx")];
  const modules = join(repositoryRoot, "workers/modules");
  for (const module of readdirSync(modules)) {
    const pages = join(modules, module, "pages");
    try {
      for (const file of readdirSync(pages)) files.push(join(pages, file));
    } catch {
      // A module without pages.
    }
  }
  const routes = new Set<string>();
  for (const file of files) {
    for (const match of readFileSync(file, "utf8").matchAll(/ui\.get\(\s*["`]([^"`]+)["`]/g)) {
      if (match[1]) routes.add(match[1]);
    }
  }
  return [...routes].sort();
}

/** Not pages: files the pages load. */
const NOT_PAGES = new Set(["/assets/cuecard.css", "/assets/cuecard.js", "/assets/favicon.svg"]);

interface PageState {
  /** A file name for its screenshots. */
  name: string;
  path: string;
  /** Expected status of the document (the page of a refusal is a page too). */
  status?: number;
  /** What to do after loading (submit a form to see its errors). */
  afterLoad?: (target: Page) => Promise<void>;
}

async function a11yFindings(target: Page) {
  return target.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (...args: unknown[]) => Promise<unknown> } })
      .axe;
    const result = (await axe.run(document, {
      resultTypes: ["violations"],
      // Experimental in axe, required here: a link's accessible name contains its visible text.
      rules: { "label-content-name-mismatch": { enabled: true } },
    })) as {
      violations: { id: string; impact: string; nodes: { target: string[] }[] }[];
    };
    const serious = result.violations
      .filter(
        (v) =>
          v.impact === "serious" ||
          v.impact === "critical" ||
          v.id === "label-content-name-mismatch",
      )
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
    const levels = Array.from(document.querySelectorAll("h1, h2, h3, h4, h5, h6")).map((h) =>
      Number(h.tagName.slice(1)),
    );
    const skipped = levels.flatMap((level, i) =>
      level > (i === 0 ? 1 : (levels[i - 1] ?? 1) + 1)
        ? [`h${levels[i - 1] ?? 0} → h${level}`]
        : [],
    );
    const scroller = document.scrollingElement ?? document.documentElement;
    return {
      serious,
      skipped,
      overflow: scroller.scrollWidth > window.innerWidth ? scroller.scrollWidth : 0,
    };
  });
}

describe("admin UI: every page is accessible and fits a phone", () => {
  it(
    "has no serious axe finding, no horizontal scroll and no skipped heading on any page at 1280 and 390 px",
    async () => {
      // States worth seeing: history for production of support/triage, a webhook with a delivery,
      // a key to revoke, the demo experiment.
      const triage = "support/triage";
      const labels = (await (await api("GET", promptApi(triage, "/labels"))).json()) as {
        items: { name: string; version: number; rev: number }[];
      };
      const production = labels.items.find((l) => l.name === "production");
      expect(production).toBeDefined();
      const moved = await api("PUT", promptApi(triage, "/labels/production"), {
        version: 1,
        expectedRev: production?.rev,
      });
      expect(moved.status).toBe(200);
      const experiment = await seedDemoExperiment({
        adminUrl: harness.platform.adminUrl,
        adminKey: harness.adminKey,
      });
      expect(experiment).toBeDefined();
      const key = await api("POST", `/projects/${project}/keys`, {
        name: "sweep key",
        role: "editor",
      });
      const keyId = ((await key.json()) as { key: { id: string } }).key.id;
      const hook = await api("POST", `/projects/${project}/webhooks`, {
        url: "https://hooks.example.com/cuecard",
        description: "Deploy notifications",
      });
      expect(hook.status).toBe(201);
      const hookId = ((await hook.json()) as { webhook: { id: string } }).webhook.id;
      expect((await api("POST", `/projects/${project}/webhooks/${hookId}/test`)).status).toBe(202);
      // The test event is delivered from a queue: wait for its delivery to be recorded.
      let deliveryId: string | undefined;
      for (let tries = 0; !deliveryId && tries < 60; tries++) {
        const listed = await api("GET", `/projects/${project}/webhooks/${hookId}/deliveries`);
        deliveryId = ((await listed.json()) as { items: { id: string }[] }).items[0]?.id;
        if (!deliveryId) await new Promise((resolve) => setTimeout(resolve, 500));
      }
      expect(deliveryId).toBeDefined();

      const reply = "support/reply";
      const states: Record<string, PageState[]> = {
        "/": [
          { name: "prompts", path: "/" },
          { name: "prompts-empty", path: "/?q=nothing-matches" },
        ],
        "/new-prompt": [
          { name: "new-prompt", path: "/new-prompt" },
          { name: "new-prompt-chat", path: "/new-prompt?type=chat" },
          {
            name: "new-prompt-refused",
            path: "/new-prompt",
            afterLoad: async (target) => {
              await target.getByLabel("Name", { exact: true }).fill("Not|A Name");
              const response = target.waitForResponse((r) => r.request().method() === "POST");
              const loaded = target.waitForEvent("load");
              await target.getByRole("button", { name: "Create prompt" }).click();
              expect((await response).status()).toBe(422);
              await loaded;
            },
          },
        ],
        "/prompts/:name": [
          { name: "prompt-chat", path: promptPath(triage) },
          { name: "prompt-text", path: promptPath(journeyName) },
          { name: "prompt-missing", path: promptPath("no/such-prompt"), status: 404 },
        ],
        "/prompts/:name/archive": [{ name: "archive", path: promptPath(journeyName, "/archive") }],
        "/prompts/:name/versions/new": [
          { name: "new-version-text", path: promptPath(journeyName, "/versions/new") },
          { name: "new-version-chat", path: promptPath(triage, "/versions/new") },
        ],
        "/prompts/:name/versions/:version{[0-9]+}": [
          { name: "version", path: promptPath(journeyName, "/versions/2") },
          { name: "version-preview-refused", path: promptPath(triage, "/versions/1?preview=1") },
        ],
        "/prompts/:name/versions/:version{[0-9]+}/playground": [
          { name: "playground", path: promptPath(journeyName, "/versions/2/playground?compare=1") },
        ],
        "/prompts/:name/compare": [
          { name: "compare-text", path: promptPath(journeyName, "/compare") },
          { name: "compare-chat", path: promptPath(triage, "/compare") },
        ],
        "/prompts/:name/promote": [
          { name: "promote", path: promptPath(triage, "/promote?version=3") },
          {
            name: "promote-typo",
            path: promptPath(triage, "/promote?label=prodution"),
            status: 422,
          },
        ],
        "/prompts/:name/labels/:label/rollback": [
          { name: "rollback", path: promptPath(triage, "/labels/production/rollback") },
          { name: "rollback-no-history", path: promptPath(triage, "/labels/staging/rollback") },
        ],
        "/prompts/:name/metrics": [{ name: "metrics", path: promptPath(reply, "/metrics") }],
        "/prompts/:name/metrics/compare": [
          { name: "metrics-compare", path: promptPath(reply, "/metrics/compare") },
        ],
        "/prompts/:name/experiments/new": [
          { name: "experiment-new", path: promptPath(triage, "/experiments/new") },
        ],
        "/prompts/:name/experiments/:id": [
          { name: "experiment", path: promptPath(reply, `/experiments/${experiment?.id}`) },
        ],
        "/prompts/:name/experiments/:id/results": [
          {
            name: "experiment-results",
            path: promptPath(reply, `/experiments/${experiment?.id}/results`),
          },
        ],
        "/prompts/:name/experiments/:id/promote": [
          {
            name: "experiment-promote",
            path: promptPath(reply, `/experiments/${experiment?.id}/promote?variant=concise`),
          },
        ],
        "/keys": [{ name: "keys", path: "/keys" }],
        "/keys/new": [{ name: "key-new", path: "/keys/new" }],
        "/keys/:keyId/revoke": [{ name: "key-revoke", path: `/keys/${keyId}/revoke` }],
        "/webhooks": [{ name: "webhooks", path: "/webhooks" }],
        "/webhooks/new": [{ name: "webhook-new", path: "/webhooks/new" }],
        "/webhooks/:id": [{ name: "webhook", path: `/webhooks/${hookId}` }],
        "/webhooks/:id/rotate": [{ name: "webhook-rotate", path: `/webhooks/${hookId}/rotate` }],
        "/webhooks/:id/delete": [{ name: "webhook-delete", path: `/webhooks/${hookId}/delete` }],
        "/webhooks/:id/deliveries/:deliveryId": [
          { name: "delivery", path: `/webhooks/${hookId}/deliveries/${deliveryId}` },
        ],
        "/projects/:project/webhooks": [
          { name: "project-webhooks", path: `/projects/${project}/webhooks` },
        ],
        "/projects/:project/prompts/:name": [
          {
            name: "project-prompt",
            path: `/projects/${project}/prompts/${encodeURIComponent(reply)}`,
          },
        ],
        "/audit": [{ name: "audit", path: "/audit" }],
        "/settings": [{ name: "settings", path: "/settings" }],
        "/settings/model-provider": [{ name: "model-provider", path: "/settings/model-provider" }],
        // Last: it signs out.
        "/sign-in": [
          {
            name: "sign-in",
            path: "/sign-in",
            afterLoad: async (target) => {
              await target.context().clearCookies();
              await target.goto(url("/sign-in"));
            },
          },
        ],
      };
      // Every page the UI registers is swept: a new page must say here which states to check.
      expect(Object.keys(states).sort()).toEqual(uiGetRoutes().filter((r) => !NOT_PAGES.has(r)));

      const problems: string[] = [];
      for (const state of Object.values(states).flat()) {
        for (const width of WIDTHS) {
          await page.setViewportSize({ width, height: HEIGHT });
          const response = await page.goto(url(state.path));
          expect(response?.status(), state.path).toBe(state.status ?? 200);
          await state.afterLoad?.(page);
          const found = await a11yFindings(page);
          const where = `${state.name} @${width}px`;
          for (const finding of found.serious) problems.push(`${where}: ${finding}`);
          for (const skip of found.skipped) problems.push(`${where}: skipped heading ${skip}`);
          if (found.overflow)
            problems.push(`${where}: scrolls sideways (${found.overflow}px wide)`);
          await harness.shoot(`a11y-${state.name}-${width}.png`);
        }
      }
      expect(problems).toEqual([]);
      await page.setViewportSize({ width: WIDTHS[0], height: HEIGHT });
    },
    SLOW,
  );
});
