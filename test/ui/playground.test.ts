/**
 * The playground in a real browser, against the local model stub (scripts/model-stub.ts stands in
 * for the LLM provider: no network, no key, deterministic answers): an admin sets the project's
 * model provider, an author runs v2 of a prompt beside v1 and watches the answers stream in, the
 * runs show in the prompt's metrics, and provider failures (401, 500, nothing listening) are
 * shown for what they are. The API key appears in no page and no answer of the admin.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type ModelStub, startModelStub } from "../../scripts/model-stub";
import { project, startUiHarness, type UiHarness } from "./helpers";

let harness: UiHarness;
let page: Page;
let stub: ModelStub;

const suffix = randomUUID().slice(0, 8);
const PROMPT = `ui/playground-${suffix}`;
const encoded = encodeURIComponent(PROMPT);
const API_KEY = `sk-ui-playground-${randomUUID()}`;
const REPLY = "Hello from the model stub.";

beforeAll(async () => {
  // Slow enough chunks that a half-written answer can be seen on the page.
  stub = await startModelStub({ chunkDelayMs: 150 });
  harness = await startUiHarness({ adminVars: { MODEL_PROVIDER_ALLOW_LOOPBACK: "true" } });
  page = harness.page;
  const created = await harness.api("POST", `/projects/${project}/prompts`, {
    name: PROMPT,
    version: { prompt: "Greet {{customer}} warmly.", config: { model: "model-a" } },
  });
  expect(created.status).toBe(201);
  const second = await harness.api("POST", `/projects/${project}/prompts/${encoded}/versions`, {
    prompt: "Greet {{customer}} briefly.",
    config: { model: "model-b", temperature: 0.2 },
    commitMessage: "shorter",
  });
  expect(second.status).toBe(201);
  await harness.signIn(harness.adminKey);
  // Building and starting three workers on a shared 2-core machine can take minutes when it is busy.
}, 600_000);

afterAll(async () => {
  await harness?.dispose();
  await stub?.close();
});

afterEach(async () => {
  expect(harness.consoleErrors).toEqual([]);
  harness.consoleErrors.length = 0;
});

const panel = (which: "primary" | "compare") => page.locator(`[data-run-panel=${which}]`);

async function expectNoKeyInPage() {
  expect(await page.content()).not.toContain(API_KEY);
}

async function run(options: { model?: string; compare?: string } = {}) {
  await page.getByLabel("customer").fill("Ada");
  await page.getByLabel("Model", { exact: true }).fill(options.model ?? "");
  await page.getByLabel("Compare with").selectOption(options.compare ?? "");
  await page.getByRole("button", { name: "Run" }).click();
}

async function finished(which: "primary" | "compare") {
  await expect
    .poll(() => panel(which).getAttribute("data-state"), { timeout: 30_000 })
    .toMatch(/^(done|failed)$/);
}

describe("the model provider settings", () => {
  it("take the stub's URL and a key, and show only that a key is set and its last 4 characters", async () => {
    await page.goto(harness.url("/"));
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Settings" })
      .click();
    const section = page.getByRole("region", { name: "Model provider (playground)" });
    expect(await section.textContent()).toContain("None yet.");
    await section.getByRole("link", { name: "Set up a model provider" }).click();
    await page.getByLabel("Base URL").fill(stub.url);
    await page.getByLabel("Default model").fill("model-default");
    await page.getByLabel("API key").fill(API_KEY);
    await page.getByRole("button", { name: "Save provider" }).click();
    await expect
      .poll(() => page.getByRole("status").or(page.locator(".notice")).first().textContent())
      .toContain("Saved the model provider.");
    expect(await page.locator("#apiKey-hint").textContent()).toContain(
      `ends in …${API_KEY.slice(-4)}`,
    );
    expect(await page.getByLabel("API key").inputValue()).toBe("");
    expect(await page.getByLabel("Base URL").inputValue()).toBe(stub.url);
    await expectNoKeyInPage();

    // The settings page's section shows the same, and no more.
    await page.goto(harness.url("/settings"));
    const summary = await page
      .getByRole("region", { name: "Model provider (playground)" })
      .textContent();
    expect(summary).toContain(stub.url);
    expect(summary).toContain("model-default");
    expect(summary).toContain(`set (ends in …${API_KEY.slice(-4)})`);
    await expectNoKeyInPage();
    await page.goto(harness.url("/settings/model-provider"));
  });

  it("refuse a private address with the reason, and keep the key out of the page", async () => {
    await page.getByLabel("Base URL").fill("https://10.1.2.3/v1");
    await page.getByLabel("API key").fill(API_KEY);
    await page.getByRole("button", { name: "Save provider" }).click();
    await expect.poll(() => page.locator("#baseUrl-error").textContent()).toContain("private");
    await expectNoKeyInPage();
    const saved = await (await harness.api("GET", `/projects/${project}/model-provider`)).json();
    expect(saved).toMatchObject({ baseUrl: stub.url, defaultModel: "model-default" });
  });
});

describe("the playground", () => {
  it("streams v2's answer from the stub beside v1's, each from its own version's model", async () => {
    await page.goto(harness.url(`/prompts/${encoded}/versions/2`));
    await page.getByRole("link", { name: "Try in playground" }).click();
    await expect.poll(() => page.locator("h1").textContent()).toContain(`Playground ${PROMPT} v2`);
    const before = stub.requests.length;
    await run({ compare: "1" });

    // Progressive: the answer is on the page while the model is still writing it.
    await page.waitForFunction(
      (full) => {
        const primary = document.querySelector("[data-run-panel=primary]") as HTMLElement;
        const text = primary.querySelector("[data-run-answer]")?.textContent ?? "";
        return primary.dataset.state === "streaming" && text.length > 0 && text !== full;
      },
      REPLY,
      { timeout: 30_000 },
    );
    await finished("primary");
    await finished("compare");
    // 3 words in, 5 out: the stub counts words ("Greet Ada briefly." → "Hello from the model stub.").
    for (const [which, version, model] of [
      ["primary", "v2", "model-b-stub"],
      ["compare", "v1", "model-a-stub"],
    ] as const) {
      expect(await panel(which).getAttribute("data-state")).toBe("done");
      expect(await panel(which).locator("[data-run-title]").textContent()).toBe(version);
      expect(await panel(which).locator("[data-run-answer]").textContent()).toBe(REPLY);
      expect(await panel(which).locator("[data-run-model]").textContent()).toBe(model);
      expect(await panel(which).locator("[data-run-status]").textContent()).toMatch(
        /^Done in \d+ ms, 3 → 5 tokens\.$/,
      );
    }
    // What the provider was sent: each version's rendering, its model and parameters, the key.
    const sent = stub.requests.slice(before).map((request) => request.body);
    expect(sent).toHaveLength(2);
    expect(sent).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          model: "model-b",
          temperature: 0.2,
          stream: true,
          messages: [{ role: "user", content: "Greet Ada briefly." }],
        }),
        expect.objectContaining({
          model: "model-a",
          messages: [{ role: "user", content: "Greet Ada warmly." }],
        }),
      ]),
    );
    for (const request of stub.requests.slice(before)) {
      expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
    }
    await expectNoKeyInPage();
  });

  it("records each run as a call of its version in the prompt's metrics", async () => {
    const deadline = Date.now() + 60_000;
    let totals: Record<number, { calls: number; errors: number }> = {};
    for (;;) {
      const response = await harness.api("GET", `/projects/${project}/prompts/${encoded}/metrics`);
      expect(response.status).toBe(200);
      const metrics = (await response.json()) as {
        series: { version: number; total: { calls: number; errors: number } }[];
      };
      totals = Object.fromEntries(metrics.series.map((s) => [s.version, s.total]));
      if (totals[1]?.calls === 1 && totals[2]?.calls === 1) break;
      if (Date.now() > deadline) throw new Error(`runs not in metrics: ${JSON.stringify(totals)}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(totals[1]).toMatchObject({ calls: 1, errors: 0 });
    expect(totals[2]).toMatchObject({ calls: 1, errors: 0 });
  });

  it("shows a provider that refuses the key (401) and one that fails (500) for what they are", async () => {
    await run({ model: "stub-401" });
    await finished("primary");
    expect(await panel("primary").getAttribute("data-state")).toBe("failed");
    expect(await panel("compare").isHidden()).toBe(true);
    const refused = await panel("primary").getByRole("alert").textContent();
    expect(refused).toContain("HTTP 401 from the model provider");
    expect(refused).toContain("refused the API key");
    await expectNoKeyInPage();

    await run({ model: "stub-500" });
    await finished("primary");
    const failed = await panel("primary").getByRole("alert").textContent();
    expect(failed).toContain("HTTP 500 from the model provider");
    expect(failed).toContain("failed on its side");
    await expectNoKeyInPage();

    // Failed runs are calls too: they count as errors of v2.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const metrics = (await (
        await harness.api("GET", `/projects/${project}/prompts/${encoded}/metrics`)
      ).json()) as { series: { version: number; total: { calls: number; errors: number } }[] };
      const v2 = metrics.series.find((s) => s.version === 2)?.total;
      if (v2?.calls === 3 && v2.errors === 2) break;
      if (Date.now() > deadline) throw new Error(`errors not in metrics: ${JSON.stringify(v2)}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  });

  it("says when nothing answers at the provider's address", async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const moved = await harness.api("PUT", `/projects/${project}/model-provider`, {
      baseUrl: `http://127.0.0.1:${closedPort}/v1`,
      defaultModel: "model-default",
    });
    expect(moved.status).toBe(200);
    try {
      await page.reload();
      await run();
      await finished("primary");
      const message = await panel("primary").getByRole("alert").textContent();
      expect(message).toContain(`at http://127.0.0.1:${closedPort} could not be reached`);
      await expectNoKeyInPage();
    } finally {
      await harness.api("PUT", `/projects/${project}/model-provider`, {
        baseUrl: stub.url,
        defaultModel: "model-default",
      });
    }
  });

  it("works without the script: the form posts and both answers come back complete", async () => {
    const context = await harness.browser.newContext({ javaScriptEnabled: false });
    try {
      const plain = await context.newPage();
      harness.watchConsole(plain);
      await plain.goto(harness.url("/sign-in"));
      await plain.getByLabel("API key").fill(harness.adminKey);
      await plain.keyboard.press("Enter");
      await plain.waitForURL(harness.url("/"));
      await plain.goto(harness.url(`/prompts/${encoded}/versions/2/playground`));
      await plain.getByLabel("customer").fill("Ada");
      await plain.getByLabel("Compare with").selectOption("1");
      await plain.getByRole("button", { name: "Run" }).click();
      await plain.waitForLoadState("load");
      expect(await plain.locator("[data-run-panel=primary] [data-run-answer]").textContent()).toBe(
        REPLY,
      );
      expect(await plain.locator("[data-run-panel=compare] [data-run-answer]").textContent()).toBe(
        REPLY,
      );
      expect(await plain.locator("[data-run-panel=compare] [data-run-title]").textContent()).toBe(
        "v1",
      );
      expect(await plain.content()).not.toContain(API_KEY);
    } finally {
      await context.close();
    }
  });
});
