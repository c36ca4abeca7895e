/**
 * What every UI test file needs: both workers served by Miniflare over a fresh state seeded with
 * the demo project, Chromium through playwright-core (see `browser.ts`), and a record of console
 * errors.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { expect } from "vitest";
import { type Platform, repositoryRoot, startEphemeralPlatform } from "../../scripts/platform";
import { demoProject, seedPlatform } from "../../scripts/seed";
import { chromiumLaunchOptions } from "./browser";

export const project = demoProject;
export const screenshots = join(repositoryRoot, "test-results", "screenshots");
const VIEWPORT = { width: 1366, height: 860 };

export interface UiHarness {
  platform: Platform;
  browser: Browser;
  context: BrowserContext;
  /** The main page, in `context`. */
  page: Page;
  /** The demo project's admin key, from the seed. */
  adminKey: string;
  /** Console errors and uncaught exceptions of every page the tests opened. */
  consoleErrors: string[];
  url(path: string): string;
  /** The admin JSON API, as the admin key unless another key is given. */
  api(method: string, path: string, body?: unknown, key?: string): Promise<Response>;
  /** A new key of the demo project, made through the API; returns its secret. */
  createKey(name: string, role: string): Promise<string>;
  shoot(file: string, target?: Page): Promise<Buffer>;
  /** Signs in with the keyboard only: type the key and press Enter. */
  signIn(key: string, target?: Page): Promise<void>;
  watchConsole(opened: Page): void;
  /** A separate browser context (its own cookies), signed in with `key`. */
  openAs(key: string): Promise<{ page: Page; close(): Promise<void> }>;
  dispose(): Promise<void>;
}

export async function startUiHarness(
  options: { adminVars?: Record<string, string> } = {},
): Promise<UiHarness> {
  await mkdir(screenshots, { recursive: true });
  const platform = await startEphemeralPlatform("ui", { adminVars: options.adminVars });
  const adminKey = (await seedPlatform(platform)).adminKey.secret;
  const browser = await chromium.launch(await chromiumLaunchOptions());
  const consoleErrors: string[] = [];

  function watchConsole(opened: Page) {
    opened.on("console", (message) => {
      if (message.type() !== "error") return;
      // Chromium logs a page's own 4xx status (a refused form is 422, a conflict 409) as a failed
      // load; the tests assert those statuses. Any other resource failing is an error.
      const documentStatus =
        message.text().startsWith("Failed to load resource") &&
        message.location().url === opened.url();
      if (!documentStatus) consoleErrors.push(`${opened.url()}: ${message.text()}`);
    });
    opened.on("pageerror", (error) => consoleErrors.push(`${opened.url()}: ${error.message}`));
  }

  const context = await browser.newContext({ viewport: VIEWPORT });
  context.on("page", watchConsole);
  const page = await context.newPage();
  const url = (path: string) => `${platform.adminUrl}${path}`;

  function api(method: string, path: string, body?: unknown, key = adminKey) {
    return fetch(`${platform.adminUrl}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async function signIn(key: string, target = page) {
    await target.goto(url("/sign-in"));
    await target.getByLabel("API key").focus();
    await target.keyboard.type(key);
    await target.keyboard.press("Enter");
    await target.waitForURL(url("/"));
  }

  return {
    platform,
    browser,
    context,
    page,
    adminKey,
    consoleErrors,
    url,
    api,
    async createKey(name, role) {
      const response = await api("POST", `/projects/${project}/keys`, { name, role });
      expect(response.status).toBe(201);
      return ((await response.json()) as { secret: string }).secret;
    },
    shoot(file, target = page) {
      return target.screenshot({ path: join(screenshots, file), fullPage: true });
    },
    signIn,
    watchConsole,
    async openAs(key) {
      const other = await browser.newContext({ viewport: VIEWPORT });
      other.on("page", watchConsole);
      const opened = await other.newPage();
      await signIn(key, opened);
      return { page: opened, close: () => other.close() };
    },
    async dispose() {
      await browser.close();
      await platform.dispose();
    },
  };
}
