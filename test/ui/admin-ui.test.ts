/**
 * The admin UI in a real browser (Chromium via playwright-core), against both workers
 * served by Miniflare over one shared state: what a prompt author does, checked where it matters
 * — on the pages, and at the edge that applications read from.
 */
import { randomUUID } from "node:crypto";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Platform } from "../../scripts/platform";
import { demoPrompts } from "../../scripts/seed";
import { project, startUiHarness, type UiHarness } from "./helpers";

let harness: UiHarness;
let platform: Platform;
let context: BrowserContext;
let page: Page;
let publisherKey: string;
let editorKey: string;
let readKey: string;

const suffix = randomUUID().slice(0, 6);
const name = `onboarding/welcome-${suffix}`;
const v1Template = "Hello {{customer}}, welcome to {{company}}.";
const v2Template =
  "Hi {{customer}}! Welcome to {{company}}.{{#vip}} As a VIP you get a personal onboarding call.{{/vip}}";
const v3Template =
  "Hi {{customer}}! Welcome aboard {{company}}.{{#vip}} As a VIP you get a personal onboarding call.{{/vip}}";

beforeAll(async () => {
  harness = await startUiHarness();
  ({ platform, context, page } = harness);
  publisherKey = await createKey("ui publisher", "publisher");
  editorKey = await createKey("ui editor", "editor");
  readKey = await createKey("ui reader", "reader");
});

afterAll(async () => {
  await harness?.dispose();
});

afterEach(() => {
  // No page may log an error or throw, whatever the test checked.
  expect(harness.consoleErrors).toEqual([]);
  harness.consoleErrors.length = 0;
});

const watchConsole = (opened: Page) => harness.watchConsole(opened);
const createKey = (keyName: string, role: string) => harness.createKey(keyName, role);
const api = (method: string, path: string, body?: unknown) => harness.api(method, path, body);
const shoot = (file: string) => harness.shoot(file);
const url = (path: string) => harness.url(path);
const signIn = (key: string) => harness.signIn(key);

/** What an application gets from the edge for the production label. */
async function edgeServes(promptName: string) {
  const response = await fetch(
    `${platform.edgeUrl}/v1/prompts/${encodeURIComponent(promptName)}?label=production`,
    { headers: { authorization: `Bearer ${readKey}` } },
  );
  return {
    status: response.status,
    body: (await response.json()) as { version: number; prompt: string },
  };
}

const promptUrl = (rest = "") => url(`/prompts/${encodeURIComponent(name)}${rest}`);

describe("admin UI: a prompt author's day", () => {
  it("sends a signed-out visitor to sign in, then signs in with a key and keeps only a safe session cookie", async () => {
    const response = await page.goto(url("/"));
    expect(page.url()).toBe(url("/sign-in"));
    expect(response?.headers()["content-security-policy"]).toContain("script-src 'self'");
    await expect(
      page.getByRole("heading", { name: "Sign in to Cuecard" }).isVisible(),
    ).resolves.toBe(true);

    await page.getByLabel("API key").fill("cc_publisher_not-a-real-key");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.locator("#key-error").textContent()).resolves.toContain("not valid");
    await expect(page.getByLabel("API key").getAttribute("aria-describedby")).resolves.toBe(
      "key-error",
    );

    await page.getByLabel("API key").fill(readKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.locator("#key-error").textContent()).resolves.toContain("Reader keys");
    await shoot("01-sign-in-error.png");

    await signIn(publisherKey);
    const cookie = (await context.cookies()).find((c) => c.name === "cc_session");
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict", path: "/" });
    await expect(page.locator(".who").textContent()).resolves.toContain("ui publisher");
  });

  it("lists the project's prompts with the version each label serves, searchable by name and filterable by tag and label", async () => {
    await page.goto(url("/"));
    for (const demo of demoPrompts) {
      await expect(
        page.getByRole("link", { name: demo.name, exact: true }).isVisible(),
      ).resolves.toBe(true);
    }
    const triage = page.getByRole("row").filter({ hasText: "support/triage" });
    await expect(triage.locator(".badge").allTextContents()).resolves.toEqual(
      expect.arrayContaining(["productionv2", "stagingv3", "latestv3"]),
    );
    await shoot("02-prompts.png");

    await page.getByLabel("Search by name").fill("support/");
    await page.getByRole("button", { name: "Filter" }).click();
    await expect(page.locator("tbody .prompt-name").allTextContents()).resolves.toEqual([
      "support/reply",
      "support/triage",
    ]);
    await page.getByLabel("Search by name").fill("");
    await page.getByLabel("Tag").selectOption("email");
    await page.getByRole("button", { name: "Filter" }).click();
    await expect(page.locator("tbody .prompt-name").allTextContents()).resolves.toEqual([
      "support/reply",
    ]);
    await page.getByLabel("Tag").selectOption("");
    await page.getByLabel("Label").selectOption("staging");
    await page.getByRole("button", { name: "Filter" }).click();
    await expect(page.locator("tbody .prompt-name").allTextContents()).resolves.toEqual([
      "support/triage",
    ]);
  });

  it("creates a prompt whose variables show as they are typed, then adds two versions", async () => {
    await page.goto(url("/"));
    await page.getByRole("link", { name: "New prompt" }).first().click();
    await page.getByLabel("Name", { exact: true }).fill(name);
    await page.getByLabel("Tags (comma-separated)").fill("onboarding, email");
    await page.getByLabel("Description").fill("Greets a new customer.");
    await page.getByLabel("Template").fill(v1Template);
    await page.locator("#variables-body").getByText("company").waitFor();
    await expect(page.locator("#variables-body code").allTextContents()).resolves.toEqual([
      "company",
      "customer",
    ]);
    await page
      .getByLabel("Model config (JSON)")
      .fill('{"model": "gpt-4o-mini", "temperature": 0.2}');
    await page.getByLabel("Commit message").fill("First welcome");
    await page.getByLabel("Set label on save (optional)").selectOption("production");
    await shoot("03-new-prompt.png");
    await page.getByRole("button", { name: "Create prompt" }).click();
    await page.waitForURL(promptUrl("?created=1"));
    await expect(page.getByRole("status").textContent()).resolves.toContain("Prompt created.");
    expect((await edgeServes(name)).body).toMatchObject({ version: 1, prompt: v1Template });

    for (const [template, message, config] of [
      [
        v2Template,
        "Mention the VIP onboarding call",
        '{"model": "gpt-4o-mini", "temperature": 0.2}',
      ],
      [
        v3Template,
        "Warmer welcome, a little more creative",
        '{"model": "gpt-4o-mini", "temperature": 0.5}',
      ],
    ] as const) {
      await page.getByRole("link", { name: "New version" }).click();
      await page.getByLabel("Template").fill(template);
      await page.getByLabel("Model config (JSON)").fill(config);
      await page.getByLabel("Commit message").fill(message);
      await page.getByRole("button", { name: /^Save v\d$/ }).click();
      await page
        .getByRole("status")
        .getByText(/Saved version \d\./)
        .waitFor();
    }
    const rows = page.locator("table.timeline tbody tr");
    await expect(rows.count()).resolves.toBe(3);
    await expect(rows.first().textContent()).resolves.toContain("Warmer welcome");
    await expect(rows.first().textContent()).resolves.toContain("ui publisher");
    await expect(rows.last().locator(".badge").allTextContents()).resolves.toEqual(["production"]);
    await shoot("04-prompt.png");
  });

  it("shows validation errors next to their field and keeps what was typed", async () => {
    await page.goto(promptUrl("/versions/new"));
    const unclosed = "Hi {{customer}}{{#vip}} VIP";
    await page.getByLabel("Template").fill(unclosed);
    await page.getByLabel("Model config (JSON)").fill('{"temperature": }');
    await page.getByRole("button", { name: "Save v4" }).click();
    const config = page.getByLabel("Model config (JSON)");
    await expect(page.locator("#config-error").textContent()).resolves.toContain("not valid JSON");
    await expect(config.getAttribute("aria-invalid")).resolves.toBe("true");
    await expect(config.getAttribute("aria-describedby")).resolves.toContain("config-error");
    await expect(page.getByLabel("Template").inputValue()).resolves.toBe(unclosed);
    await shoot("05-validation-error.png");

    await config.fill('{"temperature": 0.3}');
    await page.getByRole("button", { name: "Save v4" }).click();
    await expect(page.locator("#prompt-error").textContent()).resolves.toMatch(/unclosed section/i);
    await expect(page.getByLabel("Template").getAttribute("aria-describedby")).resolves.toContain(
      "prompt-error",
    );
    await expect(page.locator("#config-error").count()).resolves.toBe(0);

    await page.goto(url("/new-prompt"));
    await page.getByLabel("Name", { exact: true }).fill("Bad|Name");
    await page.getByLabel("Template").fill("Hi");
    await page.getByRole("button", { name: "Create prompt" }).click();
    await expect(page.locator("#name-error").textContent()).resolves.toContain("(no '|')");
    await expect(page.getByLabel("Name", { exact: true }).inputValue()).resolves.toBe("Bad|Name");
    // Nothing was saved: the prompt still has three versions.
    const versions = await api(
      "GET",
      `/projects/${project}/prompts/${encodeURIComponent(name)}/versions`,
    );
    expect(((await versions.json()) as { items: unknown[] }).items).toHaveLength(3);
  });

  it("compares two versions side by side with the changes highlighted", async () => {
    await page.goto(promptUrl());
    await page.getByRole("link", { name: "Compare versions" }).click();
    await page.getByLabel("From").selectOption("1");
    await page.getByLabel("To").selectOption("3");
    await page.getByRole("button", { name: "Compare" }).click();
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe(
      "Compare v1 and v3",
    );
    const template = page.locator(".diff-block").filter({ hasText: "Template" });
    await expect(template.locator("del").allTextContents()).resolves.toEqual(
      expect.arrayContaining(["Hello"]),
    );
    await expect(template.locator("ins").allTextContents()).resolves.toEqual(
      expect.arrayContaining(["Hi"]),
    );
    const config = page.locator(".diff-block").filter({ hasText: "Model config" });
    await expect(config.locator("td.diff-removed").allTextContents()).resolves.toEqual([
      expect.stringContaining('"temperature": 0.2'),
    ]);
    await expect(config.locator("td.diff-added").allTextContents()).resolves.toEqual([
      expect.stringContaining('"temperature": 0.5'),
    ]);
    await shoot("06-compare.png");
  });

  it("previews a version with variables exactly as the edge renders it", async () => {
    await page.goto(promptUrl("/versions/3"));
    await page.getByLabel("customer").fill("Ada");
    await page.getByLabel("vip").fill("true");
    await page.getByRole("button", { name: "Render preview" }).click();
    await expect(page.locator("#var-company-error").textContent()).resolves.toContain("Required");

    await page.getByLabel("company").fill("Acme");
    await page.getByRole("button", { name: "Render preview" }).click();
    const rendered = await page.locator(".rendered pre").textContent();
    expect(rendered).toBe(
      "Hi Ada! Welcome aboard Acme. As a VIP you get a personal onboarding call.",
    );
    await shoot("07-preview.png");

    const edge = await fetch(`${platform.edgeUrl}/v1/prompts/${encodeURIComponent(name)}/render`, {
      method: "POST",
      headers: { authorization: `Bearer ${readKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        version: 3,
        variables: { customer: "Ada", company: "Acme", vip: true },
      }),
    });
    expect(edge.status).toBe(200);
    expect(((await edge.json()) as { prompt: string }).prompt).toBe(rendered);
  });

  it("promotes a version to production after showing what changes, and the edge serves it", async () => {
    await page.goto(promptUrl());
    await page.getByRole("link", { name: "Promote v3 to production…" }).click();
    await expect(page.locator(".summary").textContent()).resolves.toMatch(
      /serves v1 now.*will serve v3/s,
    );
    await expect(page.locator(".diff-block ins").count()).resolves.toBeGreaterThan(0);
    await shoot("08-promote-confirm.png");
    await page.getByRole("button", { name: "Promote v3 to production" }).click();
    await page.getByRole("status").getByText("production now serves v3.").waitFor();
    expect((await edgeServes(name)).body).toMatchObject({ version: 3, prompt: v3Template });
  });

  it("rolls production back after a confirmation, and the edge serves the earlier version again", async () => {
    await page.getByRole("link", { name: "Roll back production…" }).click();
    await expect(page.locator(".summary").textContent()).resolves.toMatch(
      /serves v3 now.*will serve v1/s,
    );
    await shoot("09-rollback-confirm.png");
    await page.getByRole("button", { name: "Roll back production to v1" }).click();
    await page.getByRole("status").getByText("Rolled production back: it now serves v1.").waitFor();
    expect((await edgeServes(name)).body).toMatchObject({ version: 1, prompt: v1Template });
    const history = page.locator("section[aria-labelledby=history-title] tbody tr");
    await expect(history.first().textContent()).resolves.toMatch(
      /production.*v3.*v1.*ui publisher.*rollback/s,
    );
    await shoot("10-prompt-after-rollback.png");
  });

  it("refuses a promotion confirmed on a stale page with a clear conflict, never overwriting", async () => {
    await page.goto(promptUrl("/promote?version=2&label=production"));
    await expect(page.locator(".summary").textContent()).resolves.toMatch(
      /serves v1 now.*will serve v2/s,
    );
    // Meanwhile a colleague promotes v3 through the API.
    const labels = await api(
      "GET",
      `/projects/${project}/prompts/${encodeURIComponent(name)}/labels`,
    );
    const production = (
      (await labels.json()) as { items: { name: string; rev: number }[] }
    ).items.find((l) => l.name === "production");
    const moved = await api(
      "PUT",
      `/projects/${project}/prompts/${encodeURIComponent(name)}/labels/production`,
      {
        version: 3,
        expectedRev: production?.rev,
      },
    );
    expect(moved.status).toBe(200);

    const response = page.waitForResponse((r) => r.request().method() === "POST");
    await page.getByRole("button", { name: "Promote v2 to production" }).click();
    expect((await response).status()).toBe(409);
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe(
      "Someone else changed production first",
    );
    await expect(page.getByRole("alert").textContent()).resolves.toMatch(
      /Nothing was changed.*to v3/s,
    );
    await shoot("11-conflict.png");
    expect((await edgeServes(name)).body.version).toBe(3);

    await page.getByRole("link", { name: "Review again with the current state" }).click();
    await expect(page.locator(".summary").textContent()).resolves.toMatch(
      /serves v3 now.*will serve v2/s,
    );
  });

  it("edits a chat prompt's messages and compares them message by message", async () => {
    const triage = (rest: string) => url(`/prompts/${encodeURIComponent("support/triage")}${rest}`);
    await page.goto(triage("/versions/new"));
    await expect(page.locator("#variables-body code").allTextContents()).resolves.toEqual([
      "company",
      "ticket",
    ]);
    // Adding and removing messages works without the script: the form re-renders with the change.
    await page.getByRole("button", { name: "Add message" }).click();
    await page.getByLabel("Message 4 role").selectOption("assistant");
    await page.getByLabel("Message 4 content").fill("Noted. Anything about {{product}}?");
    await page.locator("#variables-body").getByText("product").waitFor();
    await page.getByRole("button", { name: "Remove message 2" }).click();
    await expect(page.getByLabel("Message 3 content").inputValue()).resolves.toBe(
      "Noted. Anything about {{product}}?",
    );
    await page.getByLabel("Commit message").fill("Ask about the product");
    await shoot("13-chat-editor.png");
    await page.getByLabel("Commit message").press("Enter");
    await page.getByRole("status").getByText("Saved version 4.").waitFor();

    await page.goto(triage("/compare?from=3&to=4"));
    // Messages are aligned: the removed one and the added one are marked, the moved one is not.
    const blocks = page.locator(".diff-block h3");
    await expect(blocks.allTextContents()).resolves.toEqual([
      "Message 1 — no changes",
      "Message 2 (removed)",
      "Message 2 (was 3) — no changes",
      "Message 3 (added)",
      "Model config — no changes",
    ]);
    // The seed's v3 is system, developer, user: removing message 2 removed the developer one.
    const removed = page.locator(".diff-block").filter({ hasText: "Message 2 (removed)" });
    await expect(removed.locator("td.diff-removed").first().textContent()).resolves.toContain(
      "[developer]",
    );
    const added = page.locator(".diff-block").filter({ hasText: "Message 3 (added)" });
    await expect(added.locator("td.diff-added").first().textContent()).resolves.toContain(
      "assistant",
    );
    await shoot("14-chat-compare.png");
  });

  it("refuses form posts without the session's CSRF token or from another origin", async () => {
    await page.goto(promptUrl());
    const token = await page.locator("input[name=_csrf]").first().inputValue();
    const archive = promptUrl("/archive");
    const missing = await page.request.post(archive, { form: { _csrf: "" } });
    expect(missing.status()).toBe(403);
    const crossSite = await page.request.post(archive, {
      form: { _csrf: token },
      headers: { origin: "https://evil.example" },
    });
    expect(crossSite.status()).toBe(403);
    expect((await edgeServes(name)).status).toBe(200);
  });

  it("hides what an editor's role cannot do", async () => {
    const editor = await context.browser()?.newContext({ viewport: { width: 1366, height: 860 } });
    if (!editor) throw new Error("no browser");
    const editorPage = await editor.newPage();
    watchConsole(editorPage);
    await editorPage.goto(url("/sign-in"));
    await editorPage.getByLabel("API key").fill(editorKey);
    await editorPage.getByRole("button", { name: "Sign in" }).click();
    await editorPage.goto(promptUrl());
    await expect(editorPage.getByRole("link", { name: "New version" }).count()).resolves.toBe(1);
    await expect(editorPage.getByRole("link", { name: /Roll back/ }).count()).resolves.toBe(0);
    await expect(editorPage.getByRole("link", { name: /Archive/ }).count()).resolves.toBe(0);
    await expect(editorPage.getByRole("link", { name: /Promote/ }).count()).resolves.toBe(0);
    await editor.close();
  });

  it("archives a prompt after a confirmation: it leaves the list and the edge", async () => {
    await page.goto(promptUrl());
    await page.getByRole("link", { name: "Archive…" }).click();
    await shoot("12-archive-confirm.png");
    await page.getByRole("button", { name: `Archive ${name}` }).click();
    await page.waitForURL(/\/\?archived-name=/);
    await expect(page.getByRole("status").textContent()).resolves.toContain(`Archived ${name}.`);
    await expect(page.getByRole("link", { name, exact: true }).count()).resolves.toBe(0);
    expect((await edgeServes(name)).status).toBe(404);
  });

  it("signs out: the session ends and pages ask to sign in again", async () => {
    await page.goto(url("/"));
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByText("You are signed out.").waitFor();
    await page.goto(url("/"));
    expect(page.url()).toBe(url("/sign-in"));
  });
});
