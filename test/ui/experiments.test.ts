/**
 * Experiments in a real browser, from the prompt page: a draft made in the form (weights in
 * percentages; a wrong sum is refused with the focus on the field to fix), started, watched as
 * real edge traffic shows up as exposure counts, paused and stopped with a promotion. The
 * buttons, the links and the promotion's radio group are worked with the keyboard.
 */
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { project, startUiHarness, type UiHarness } from "./helpers";

let harness: UiHarness;
let page: Page;
let readKey: string;

const PROMPT = "ui/experiment-demo";
const encoded = encodeURIComponent(PROMPT);

beforeAll(async () => {
  harness = await startUiHarness();
  page = harness.page;
  const created = await harness.api("POST", `/projects/${project}/prompts`, {
    name: PROMPT,
    version: { prompt: "Hello {{name}}.", commitMessage: "first", labels: ["production"] },
  });
  expect(created.status).toBe(201);
  const second = await harness.api("POST", `/projects/${project}/prompts/${encoded}/versions`, {
    prompt: "Hello {{name}}, lovely to see you!",
    commitMessage: "warmer",
  });
  expect(second.status).toBe(201);
  readKey = await harness.createKey("ui experiments reader", "reader");
  await harness.signIn(harness.adminKey);
});

afterAll(async () => {
  await harness?.dispose();
});

afterEach(() => {
  expect(harness.consoleErrors).toEqual([]);
  harness.consoleErrors.length = 0;
});

const text = async (selector: string) => (await page.locator(selector).textContent())?.trim();

/** Each unit asks the edge for the prompt; answers how many units each variant was served. */
async function serveUnits(units: string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const unit of units) {
    const response = await fetch(
      `${harness.platform.edgeUrl}/v1/prompts/${encoded}?unit=${encodeURIComponent(unit)}`,
      { headers: { authorization: `Bearer ${readKey}` } },
    );
    expect(response.status).toBe(200);
    const { experiment } = (await response.json()) as { experiment: { variant: string } | null };
    if (!experiment) throw new Error(`${unit} was served no experiment`);
    counts[experiment.variant] = (counts[experiment.variant] ?? 0) + 1;
  }
  return counts;
}

/** The exposure counts the experiment page shows, by arm, reloading until they settle on `expected`. */
async function expectExposures(expected: Record<string, number>) {
  await expect
    .poll(
      async () => {
        await page.reload();
        return {
          control: await text('td[data-arm="control"]'),
          warm: await text('td[data-arm="warm"]'),
        };
      },
      { timeout: 45_000, interval: 750 },
    )
    .toEqual({ control: String(expected.control ?? 0), warm: String(expected.warm ?? 0) });
}

describe("experiments pages", () => {
  it("create, start, see exposures, pause and stop with a promotion, from the prompt page", async () => {
    await page.goto(harness.url(`/prompts/${encoded}`));
    await expect.poll(() => page.getByRole("heading", { name: "Experiments" }).count()).toBe(1);
    await page.getByRole("link", { name: "New experiment" }).focus();
    await page.keyboard.press("Enter");
    await page.waitForURL(harness.url(`/prompts/${encoded}/experiments/new`));

    await page.getByLabel("Key", { exact: true }).fill("ui-warmth");
    expect(await page.getByLabel("Label to split").inputValue()).toBe("production");
    await page.getByLabel("Variant 1 key").fill("warm");
    await page.getByLabel("Variant 1 version").selectOption("2");
    await page.getByLabel("Control weight (%)").fill("50");
    await page.getByLabel("Variant 1 weight (%)").fill("60");
    await page.getByLabel("Score or conversion name").fill("helpful");
    await page.getByLabel("Guardrail 1", { exact: true }).selectOption("latency_p95");
    await page.getByLabel("Guardrail 1 max. regression (%)").fill("10");
    // Enter in a field submits the form (the draft, not "Add a variant").
    await page.getByLabel("Variant 1 weight (%)").press("Enter");

    // Refused: announced, and the focus is on the first field to fix.
    await expect
      .poll(() => page.getByRole("alert").textContent())
      .toMatch(/one field needs attention/);
    // Focus is on the form's error summary (the first error on the page), which names the field.
    expect(await page.evaluate(() => document.activeElement?.getAttribute("role"))).toBe("alert");
    expect(await page.locator("#controlWeight").getAttribute("aria-invalid")).toBe("true");
    expect(await text("#weights-error")).toBe(
      "The weights, control included, must add up to 100 %; they add up to 110 %.",
    );
    expect(await page.getByLabel("Variant 1 key").inputValue()).toBe("warm");
    await harness.shoot("experiment-form-error.png");

    await page.getByLabel("Control weight (%)").fill("40");
    await page.getByLabel("Control weight (%)").press("Enter");
    await page.waitForURL(/\/experiments\/exp_[0-9a-f]{20}\?created=1$/);
    expect(await page.getByRole("status").first().textContent()).toContain("Draft created");
    expect(await text("h1 .status")).toBe("draft");
    const rows = await page
      .locator("table tbody tr")
      .evaluateAll((trs) =>
        trs.map((tr) =>
          Array.from(tr.querySelectorAll("th, td")).map((cell) => cell.textContent?.trim() ?? ""),
        ),
      );
    expect(rows).toEqual([
      ["control control", "v1 (served now; fixed at start)", "40 %", "0"],
      ["warm", "v2", "60 %", "0"],
    ]);
    const id = /experiments\/(exp_[0-9a-f]{20})/.exec(page.url())?.[1] as string;
    expect(await page.locator("dl.facts").textContent()).toContain(`${id}:1`);

    await page.getByRole("button", { name: "Start experiment" }).focus();
    await page.keyboard.press("Enter");
    await page.waitForURL(/\?done=start$/);
    expect(await text("h1 .status")).toBe("running");

    const served = await serveUnits(Array.from({ length: 30 }, (_, i) => `ui-user-${i}`));
    expect((served.control ?? 0) + (served.warm ?? 0)).toBe(30);
    await expectExposures(served);
    await harness.shoot("experiment-running.png");

    await page.getByRole("button", { name: /^Pause/ }).focus();
    await page.keyboard.press("Space");
    await page.waitForURL(/\?done=pause$/);
    expect(await text("h1 .status")).toBe("paused");

    // The promotion is a radio group: arrow keys choose, Tab goes on to the button.
    expect(
      await page.getByText("Stop without promoting: production keeps serving v1").count(),
    ).toBe(1);
    await page.getByRole("radio", { name: /^Stop without promoting/ }).focus();
    await page.keyboard.press("ArrowDown");
    expect(
      await page
        .getByRole("radio", { name: "Promote warm: production moves from v1 to v2" })
        .isChecked(),
    ).toBe(true);
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe(
      "Stop experiment",
    );
    await page.keyboard.press("Enter");
    await page.waitForURL(/\?done=stop$/);
    expect(await text("h1 .status")).toBe("stopped");
    expect(await page.locator("table tbody tr").nth(1).textContent()).toContain("promoted");
    expect(await page.getByRole("button", { name: "Stop experiment" }).count()).toBe(0);

    await page.getByRole("link", { name: PROMPT }).first().focus();
    await page.keyboard.press("Enter");
    await page.waitForURL(harness.url(`/prompts/${encoded}`));
    const section = page.locator("section", {
      has: page.getByRole("heading", { name: "Experiments" }),
    });
    expect(await section.locator("tbody tr").first().textContent()).toMatch(/ui-warmth.*stopped/);
    const labels = await harness.api("GET", `/projects/${project}/prompts/${encoded}`);
    const { labels: current } = (await labels.json()) as {
      labels: { name: string; version: number }[];
    };
    expect(current.find((label) => label.name === "production")?.version).toBe(2);
  });

  it("an editor may draft an experiment on production but not start it", async () => {
    const draft = await harness.api("POST", `/projects/${project}/experiments`, {
      prompt: PROMPT,
      label: "production",
      key: "ui-editor-draft",
      unit: "user id",
      control: { weight: 0.5 },
      variants: [{ key: "b", version: 1, weight: 0.5 }],
      metrics: { primary: { kind: "error_rate" } },
    });
    expect(draft.status).toBe(201);
    const { id } = (await draft.json()) as { id: string };
    const editor = await harness.openAs(await harness.createKey("ui experiments editor", "editor"));
    try {
      await editor.page.goto(harness.url(`/prompts/${encoded}`));
      expect(await editor.page.getByRole("link", { name: "New experiment" }).count()).toBe(1);
      await editor.page.goto(harness.url(`/prompts/${encoded}/experiments/${id}`));
      expect(await editor.page.getByRole("button", { name: "Start experiment" }).count()).toBe(0);
      expect(await editor.page.getByRole("status").first().textContent()).toContain(
        "need the rights to move it",
      );
    } finally {
      await editor.close();
    }
  });
});
