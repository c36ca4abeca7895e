/**
 * The admin's pages of the UI in a real browser: API keys, webhooks with their delivery log, and
 * the audit log — and that editors see none of them. A local receiver stands in for a webhook
 * endpoint that answers 410 and then recovers (loopback is allowed for it, as in development).
 */
import { randomUUID } from "node:crypto";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startWebhookReceiver, type WebhookReceiver } from "../../scripts/webhook-receiver";
import { project, startUiHarness, type UiHarness } from "./helpers";

let harness: UiHarness;
let page: Page;
let editorKey: string;
let publisherKey: string;
let receiver: WebhookReceiver;
let receiverUrl: string;
/** What the local receiver answers next. */
let receiverStatus = 410;

const suffix = randomUUID().slice(0, 6);
const keyName = `ci deploy ${suffix}`;
let keySecret = "";
let keyId = "";
let endpointPath = "";

beforeAll(async () => {
  receiver = await startWebhookReceiver(() => ({
    status: receiverStatus,
    headers: { "content-type": "text/plain" },
    body: receiverStatus === 410 ? "gone for now" : "ok",
  }));
  receiverUrl = `${receiver.origin}/hook`;
  harness = await startUiHarness({ adminVars: { WEBHOOK_ALLOW_LOOPBACK: "true" } });
  page = harness.page;
  editorKey = await harness.createKey("settings editor", "editor");
  publisherKey = await harness.createKey("settings publisher", "publisher");
});

afterAll(async () => {
  await harness?.dispose();
  await receiver?.close();
});

afterEach(() => {
  // No page may log an error or throw, whatever the test checked.
  expect(harness.consoleErrors).toEqual([]);
  harness.consoleErrors.length = 0;
});

const url = (path: string) => harness.url(path);
const shoot = (file: string, target?: Page) => harness.shoot(file, target);

async function navLinks(target: Page) {
  return target.locator("nav[aria-label=Main] a").allTextContents();
}

/** Reloads the endpoint page until a delivery row matches, as the queue works in the background. */
async function waitForDelivery(matches: (row: string) => boolean, timeoutMs = 45_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await page.goto(url(endpointPath));
    const rows = await page.locator(".deliveries-table tbody tr").allTextContents();
    if (rows.some(matches)) return rows;
    if (Date.now() > deadline) throw new Error(`no matching delivery; rows: ${rows.join(" | ")}`);
    await page.waitForTimeout(750);
  }
}

function inDays(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

describe("admin UI: keys, webhooks and the audit log", () => {
  it("shows an admin every section in the navigation", async () => {
    await harness.signIn(harness.adminKey);
    await expect(navLinks(page)).resolves.toEqual([
      "Prompts",
      "New prompt",
      "Keys",
      "Webhooks",
      "Audit",
      "Settings",
      "API",
    ]);
  });

  it("creates a key whose secret is shown once, lists it without the secret, and revokes it", async () => {
    await page.getByRole("link", { name: "Keys", exact: true }).click();
    await page.waitForURL(url("/keys"));
    await page.getByRole("link", { name: "New key" }).click();

    // A key needs a name; the error is next to the field and the rest is kept.
    await page.getByLabel("Role").selectOption("publisher");
    await page.getByRole("button", { name: "Create key" }).click();
    await expect(page.locator("#name-error").textContent()).resolves.toContain("name");
    await expect(page.getByLabel("Name").getAttribute("aria-describedby")).resolves.toContain(
      "name-error",
    );
    await expect(page.getByLabel("Role").inputValue()).resolves.toBe("publisher");

    await page.getByLabel("Name").fill(keyName);
    await page.getByLabel("Expires on (optional)").fill(inDays(30));
    await shoot("20-key-new.png");
    await page.getByRole("button", { name: "Create key" }).click();
    await page.getByRole("heading", { name: `Key “${keyName}” created` }).waitFor();
    await expect(page.getByRole("alert").textContent()).resolves.toContain(
      "Copy it now: it will not be shown again.",
    );
    keySecret = await page.getByLabel("Secret API key").inputValue();
    expect(keySecret).toMatch(/^cc_publisher_/);
    await shoot("21-key-created.png");

    // The new key works on the admin API at once.
    const asKey = await harness.api("GET", `/projects/${project}/prompts`, undefined, keySecret);
    expect(asKey.status).toBe(200);

    await page.getByRole("link", { name: "Done: back to keys" }).click();
    const row = page.getByRole("row").filter({ hasText: keyName });
    await expect(row.textContent()).resolves.toMatch(/publisher.*cc_publisher_.*active/s);
    await expect(page.content()).resolves.not.toContain(keySecret);
    await expect(
      page.getByRole("link", { name: `Revoke ${keyName}…` }).getAttribute("href"),
    ).resolves.toMatch(/^\/keys\/key_[a-f0-9]{20}\/revoke$/);
    keyId = (
      (await page.getByRole("link", { name: `Revoke ${keyName}…` }).getAttribute("href")) ?? ""
    ).split("/")[2] as string;
    await shoot("22-keys.png");

    await page.getByRole("link", { name: `Revoke ${keyName}…` }).click();
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe(
      `Revoke “${keyName}”?`,
    );
    await shoot("23-key-revoke-confirm.png");
    await page.getByRole("button", { name: `Revoke ${keyName}` }).click();
    await page.getByRole("status").getByText(`Revoked ${keyName}.`).waitFor();
    await expect(row.textContent()).resolves.toContain("revoked");
    await expect(page.getByRole("link", { name: `Revoke ${keyName}…` }).count()).resolves.toBe(0);

    const revoked = await harness.api("GET", `/projects/${project}/prompts`, undefined, keySecret);
    expect(revoked.status).toBe(401);
  });

  it("refuses an internal webhook URL next to the field, then creates one and shows its secret once", async () => {
    await page.getByRole("link", { name: "Webhooks", exact: true }).click();
    await page.waitForURL(url("/webhooks"));
    await page.getByRole("link", { name: "New webhook" }).first().click();
    const field = page.getByLabel("URL", { exact: true });
    await field.fill("http://169.254.169.254/");
    await page.getByLabel("prompt.label.moved").check();
    const refused = page.waitForResponse((r) => r.request().method() === "POST");
    await page.getByRole("button", { name: "Create webhook" }).click();
    expect((await refused).status()).toBe(422);
    await expect(field.getAttribute("aria-describedby")).resolves.toContain("url-error");
    await expect(field.getAttribute("aria-invalid")).resolves.toBe("true");
    await expect(field.inputValue()).resolves.toBe("http://169.254.169.254/");
    await expect(page.getByLabel("prompt.label.moved").isChecked()).resolves.toBe(true);
    await expect(page.locator("#url-error").textContent()).resolves.toBe(
      "This URL must use https.",
    );
    await field.fill("https://169.254.169.254/latest/meta-data");
    await page.getByRole("button", { name: "Create webhook" }).click();
    await page.locator("#url-error", { hasText: "points at" }).waitFor();
    await expect(page.locator("#url-error").textContent()).resolves.toMatch(
      /^This URL points at a .+ address\.$/,
    );
    await shoot("24-webhook-url-refused.png");
    const listed = await harness.api("GET", `/projects/${project}/webhooks`);
    expect(((await listed.json()) as { items: unknown[] }).items).toHaveLength(0);

    await field.fill("https://ci.example.com/hook");
    await page.getByLabel("Description (optional)").fill("CI: re-run prompt evals");
    await page.getByLabel("prompt.version.created").check();
    await page.getByRole("button", { name: "Create webhook" }).click();
    await page.getByRole("heading", { name: "Webhook created" }).waitFor();
    await expect(page.getByRole("alert").textContent()).resolves.toContain(
      "it will not be shown again",
    );
    const secret = await page.getByLabel("Signing secret").inputValue();
    expect(secret).toMatch(/^whsec_/);
    await shoot("25-webhook-created.png");

    await page.getByRole("link", { name: "Done: go to the webhook" }).click();
    await expect(page.content()).resolves.not.toContain(secret);
    endpointPath = new URL(page.url()).pathname;
    expect(endpointPath).toMatch(/^\/webhooks\/whk_[a-f0-9]{20}$/);
    await page.goto(url("/webhooks"));
    const row = page.getByRole("row").filter({ hasText: "https://ci.example.com/hook" });
    await expect(row.textContent()).resolves.toMatch(
      /CI: re-run prompt evals.*prompt\.version\.created.*prompt\.label\.moved.*active/s,
    );
    await shoot("26-webhooks.png");
  });

  it("sends a test event and shows its delivery in the endpoint's log", async () => {
    await page.goto(url(endpointPath));
    await page.getByRole("button", { name: "Send test event" }).click();
    await page.getByRole("status").getByText("Test event sent.").waitFor();
    // ci.example.com does not resolve here: the first attempt fails and a retry is scheduled.
    const rows = await waitForDelivery((text) => /webhook\.test.*retrying/s.test(text));
    expect(rows[0]).toMatch(/webhook\.test.*retrying.*1/s);
    await shoot("27-webhook-deliveries.png");
  });

  it("edits the subscriptions and rotates the signing secret, the old one kept for the overlap", async () => {
    await page.goto(url(endpointPath));
    await page.getByLabel("Description", { exact: true }).fill("CI evals");
    await page.getByLabel("prompt.label.moved").uncheck();
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByRole("status").getByText("Changes saved.").waitFor();
    await expect(page.getByLabel("prompt.label.moved").isChecked()).resolves.toBe(false);
    await expect(page.getByLabel("prompt.version.created").isChecked()).resolves.toBe(true);
    await expect(page.getByLabel("Description", { exact: true }).inputValue()).resolves.toBe(
      "CI evals",
    );

    // A URL change is checked by the same guard as on creation.
    await page.getByLabel("URL", { exact: true }).fill("https://10.0.0.8/hook");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.locator("#url-error", { hasText: "points at a" }).waitFor();

    await page.goto(url(endpointPath));
    await page.getByRole("link", { name: "Rotate secret…" }).click();
    await shoot("28-webhook-rotate-confirm.png");
    await page.getByRole("button", { name: "Rotate secret" }).click();
    await page.getByRole("heading", { name: "New signing secret" }).waitFor();
    await expect(page.getByRole("alert").textContent()).resolves.toMatch(
      /not be shown again.*also signed with the previous secret/s,
    );
    expect(await page.getByLabel("Signing secret").inputValue()).toMatch(/^whsec_/);
    await page.getByRole("link", { name: "Done: go to the webhook" }).click();
    await expect(page.getByRole("status").first().textContent()).resolves.toContain(
      "previous signing secret also signs",
    );
  });

  it("shows a failed delivery, re-enables the disabled endpoint and redelivers it", async () => {
    await page.goto(url("/webhooks/new"));
    await page.getByLabel("URL", { exact: true }).fill(receiverUrl);
    await page.getByRole("button", { name: "Create webhook" }).click();
    await page.getByRole("link", { name: "Done: go to the webhook" }).click();
    const localPath = new URL(page.url()).pathname;
    await page.getByRole("button", { name: "Send test event" }).click();
    const ciPath = endpointPath;
    endpointPath = localPath;
    // The receiver answers 410 Gone: the delivery fails and the endpoint is disabled.
    await waitForDelivery((text) => /failed/.test(text));
    await expect(page.locator(".deliveries-table tbody tr").first().textContent()).resolves.toMatch(
      /webhook\.test.*failed.*410.*gone for now/s,
    );
    await expect(page.getByRole("button", { name: "Send test event" }).isDisabled()).resolves.toBe(
      true,
    );
    await shoot("29-webhook-failed-delivery.png");

    await page.getByLabel("Active: send deliveries to this endpoint").check();
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByRole("status").getByText("Changes saved.").waitFor();
    receiverStatus = 204;
    await page.getByRole("button", { name: "Redeliver" }).click();
    await page.getByRole("status").getByText("Delivery queued again").waitFor();
    await waitForDelivery((text) => /succeeded/.test(text));
    await expect(page.locator(".deliveries-table tbody tr").first().textContent()).resolves.toMatch(
      /webhook\.test.*succeeded.*2.*204/s,
    );
    const bodies = receiver.received.map((r) => r.body);
    expect(bodies).toHaveLength(2);
    expect(bodies[1]).toBe(bodies[0]);

    await page.locator(".deliveries-table tbody tr").first().getByRole("link").click();
    await expect(page.locator("table tbody tr").count()).resolves.toBe(2);
    await shoot("30-webhook-delivery.png");
    // The payload's link for people leads to the webhooks page.
    const payload = JSON.parse((await page.locator("pre.code").textContent()) ?? "{}");
    await page.goto(payload.data.links.admin.replace(/^https?:\/\/[^/]+/, url("")));
    expect(page.url()).toBe(url("/webhooks"));
    endpointPath = ciPath;
  });

  it("shows these actions in the audit log, filtered by action, and pages to older entries", async () => {
    await page.getByRole("link", { name: "Audit", exact: true }).click();
    await page.waitForURL(url("/audit"));
    await shoot("31-audit.png");
    const endpointId = endpointPath.split("/")[2] ?? "";
    for (const [action, target] of [
      ["key.create", keyId],
      ["key.revoke", keyId],
      ["webhook.create", endpointId],
      ["webhook.test", endpointId],
      ["webhook.rotate_secret", endpointId],
      ["webhook.redeliver", "msg_"],
    ] as const) {
      await page.getByLabel("Action").fill(action);
      await page.getByRole("button", { name: "Filter" }).click();
      await page.waitForURL((u) => u.searchParams.get("action") === action);
      const rows = page.locator(".audit-table tbody tr");
      const actions = await rows.locator(".action-name").allTextContents();
      expect(actions.length).toBeGreaterThan(0);
      expect(new Set(actions)).toEqual(new Set([action]));
      const texts = await rows.allTextContents();
      expect(texts.some((text) => text.includes(target))).toBe(true);
      expect(texts.every((text) => text.includes("admin"))).toBe(true);
    }
    await page.getByLabel("Action").fill("key.create");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL((u) => u.searchParams.get("action") === "key.create");
    await expect(page.locator(".audit-table tbody tr").first().textContent()).resolves.toMatch(
      new RegExp(`${keyName}.*publisher`, "s"),
    );
    await shoot("32-audit-filtered.png");

    // Paging: two entries a page, then the older ones by cursor.
    await page.goto(url("/audit?limit=2"));
    const first = await page.locator(".audit-table tbody tr").allTextContents();
    expect(first).toHaveLength(2);
    await page.getByRole("link", { name: "Older entries" }).click();
    await page.waitForURL(/[?&]before=\d+/);
    expect(page.url()).toContain("limit=2");
    const second = await page.locator(".audit-table tbody tr").allTextContents();
    expect(second).toHaveLength(2);
    expect(second).not.toEqual(first);
    await page.getByRole("link", { name: "Back to the newest" }).click();
    await page.waitForURL((u) => !u.searchParams.has("before"));
    await expect(page.locator(".audit-table tbody tr").allTextContents()).resolves.toEqual(first);
  });

  it("shows a publisher the audit log but not keys or webhooks", async () => {
    const publisher = await harness.openAs(publisherKey);
    await expect(navLinks(publisher.page)).resolves.toEqual([
      "Prompts",
      "New prompt",
      "Audit",
      "Settings",
      "API",
    ]);
    expect((await publisher.page.goto(url("/audit")))?.status()).toBe(200);
    expect((await publisher.page.goto(url("/keys")))?.status()).toBe(403);
    await publisher.close();
  });

  it("shows an editor none of these sections and refuses their pages and forms", async () => {
    const editor = await harness.openAs(editorKey);
    await expect(navLinks(editor.page)).resolves.toEqual([
      "Prompts",
      "New prompt",
      "Settings",
      "API",
    ]);
    for (const path of [
      "/keys",
      "/keys/new",
      `/keys/${keyId}/revoke`,
      "/webhooks",
      "/webhooks/new",
      endpointPath,
      "/audit",
    ]) {
      const response = await editor.page.goto(url(path));
      expect(response?.status(), path).toBe(403);
      await expect(
        editor.page.getByRole("heading", { level: 1 }).textContent(),
        path,
      ).resolves.toBe("You can't do that");
    }
    await shoot("33-editor-forbidden.png", editor.page);
    const token = await editor.page.locator("input[name=_csrf]").first().inputValue();
    for (const path of ["/keys/new", `${endpointPath}/test`, `${endpointPath}/delete`]) {
      const response = await editor.page.request.post(url(path), {
        form: { _csrf: token, name: "sneaky", role: "admin" },
      });
      expect(response.status(), path).toBe(403);
      await expect(response.text()).resolves.toContain("Your role (editor) cannot manage");
    }
    await editor.close();
    // Nothing changed: no key named "sneaky", the webhook is still there.
    const keys = await harness.api("GET", `/projects/${project}/keys`);
    const names = ((await keys.json()) as { items: { name: string }[] }).items.map((k) => k.name);
    expect(names).not.toContain("sneaky");
    const webhook = await harness.api("GET", `/projects/${project}${endpointPath}`);
    expect(webhook.status).toBe(200);
  });

  it("deletes a webhook after a confirmation", async () => {
    await page.goto(url(endpointPath));
    await page.getByRole("link", { name: "Delete…" }).click();
    await page.getByRole("button", { name: "Delete webhook" }).click();
    await page
      .getByRole("status")
      .getByText("Deleted the webhook to https://ci.example.com/hook.")
      .waitFor();
    await expect(
      page.getByRole("row").filter({ hasText: "https://ci.example.com/hook" }).count(),
    ).resolves.toBe(0);
  });
});
