/**
 * An experiment's results page in a real browser, from data that went through the real edge and
 * telemetry worker: units fetched the prompt (the edge assigned and reported their exposures) and
 * the app reported conversions for some of them. With a large known effect the page shows the
 * table and a winner, and "Promote the winner" confirms with the diff, stops the experiment and
 * moves the label. Exposures that do not match the weights show the sample-ratio banner.
 */
import { randomUUID } from "node:crypto";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { project, startUiHarness, type UiHarness } from "./helpers";

let harness: UiHarness;
let page: Page;
let readKey: string;

// Bundling the workers and applying migrations takes seconds on an idle machine, minutes on a
// shared and busy one.
const PLATFORM_START_MS = 600_000;

beforeAll(async () => {
  harness = await startUiHarness();
  page = harness.page;
  readKey = await harness.createKey("ui results reader", "reader");
  await harness.signIn(harness.adminKey);
}, PLATFORM_START_MS);

afterAll(async () => {
  await harness?.dispose();
});

afterEach(() => {
  expect(harness.consoleErrors).toEqual([]);
  harness.consoleErrors.length = 0;
});

/** A prompt with v1 on production and a warmer v2; an experiment control vs warm (v2), started. */
async function runningExperiment(name: string, key: string) {
  const encoded = encodeURIComponent(name);
  expect(
    (
      await harness.api("POST", `/projects/${project}/prompts`, {
        name,
        version: { prompt: "Hello {{name}}.", commitMessage: "first", labels: ["production"] },
      })
    ).status,
  ).toBe(201);
  expect(
    (
      await harness.api("POST", `/projects/${project}/prompts/${encoded}/versions`, {
        prompt: "Hello {{name}}, lovely to see you!",
        commitMessage: "warmer",
      })
    ).status,
  ).toBe(201);
  const created = await harness.api("POST", `/projects/${project}/experiments`, {
    prompt: name,
    label: "production",
    key,
    unit: "user id",
    control: { weight: 0.5 },
    variants: [{ key: "warm", version: 2, weight: 0.5 }],
    metrics: { primary: { kind: "conversion", name: "resolved" } },
  });
  expect(created.status).toBe(201);
  const { id } = (await created.json()) as { id: string };
  expect((await harness.api("POST", `/projects/${project}/experiments/${id}/start`)).status).toBe(
    200,
  );
  return { id, encoded };
}

async function sendEvents(events: unknown[]) {
  for (let start = 0; start < events.length; start += 100) {
    const response = await fetch(`${harness.platform.edgeUrl}/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${readKey}`, "content-type": "application/json" },
      body: JSON.stringify({ events: events.slice(start, start + 100) }),
    });
    expect(response.status).toBe(200);
  }
}

/** Polls the results page until its decision badge says `decision`. */
async function resultsShow(path: string, decision: string) {
  await expect
    .poll(
      async () => {
        await page.goto(harness.url(path));
        return page.locator("[data-decision]").getAttribute("data-decision");
      },
      { timeout: 60_000, interval: 1000 },
    )
    .toBe(decision);
}

describe("the results page", () => {
  it("shows a clear winner with its table and plots, and promotes it through the diff confirmation", async () => {
    const name = "ui/results-winner";
    const { id, encoded } = await runningExperiment(name, "warmth");
    // 240 users ask the edge for the prompt; the edge assigns and reports each exposure.
    const served: Record<string, string[]> = { control: [], warm: [] };
    for (let i = 0; i < 240; i++) {
      const unit = `user-${i}`;
      const response = await fetch(
        `${harness.platform.edgeUrl}/v1/prompts/${encoded}?unit=${unit}`,
        { headers: { authorization: `Bearer ${readKey}` } },
      );
      const body = (await response.json()) as { experiment: { variant: string } };
      served[body.experiment.variant]?.push(unit);
    }
    expect(served.control!.length).toBeGreaterThanOrEqual(100);
    expect(served.warm!.length).toBeGreaterThanOrEqual(100);
    // Resolved: every 10th control user, 6 in 10 warm users.
    const converted = [
      ...served.control!.filter((_, index) => index % 10 === 0),
      ...served.warm!.filter((_, index) => index % 10 < 6),
    ];
    await sendEvents(
      converted.map((unit) => ({
        type: "conversion",
        id: randomUUID(),
        timestamp: new Date().toISOString(),
        name: "resolved",
        unit,
      })),
    );

    // The experiment page links to the results.
    await page.goto(harness.url(`/prompts/${encoded}/experiments/${id}`));
    await page.getByRole("link", { name: "Results", exact: true }).click();
    await page.waitForURL(harness.url(`/prompts/${encoded}/experiments/${id}/results`));
    // Read once at the planned size: fixed-horizon intervals (sequential ones need more users).
    const path = `/prompts/${encoded}/experiments/${id}/results?sequential=false`;
    await resultsShow(path, "winner");

    expect(await page.getByRole("heading", { level: 1 }).textContent()).toContain(
      "Results of warmth",
    );
    const headings = await page
      .locator("h1, h2, h3")
      .evaluateAll((all) => all.map((h) => Number(h.tagName.slice(1))));
    // Headings in order: none skips a level.
    headings.forEach((level, index) => {
      if (index > 0) expect(level - (headings[index - 1] as number)).toBeLessThanOrEqual(1);
    });
    expect(await page.locator("#srm-banner").count()).toBe(0);
    expect(await page.locator("[data-decision]").textContent()).toContain("Winner: warm");
    const row = (variant: string) =>
      page.locator(`table[data-metric] tr[data-variant="${variant}"]`);
    const control = served.control!.length;
    const warm = served.warm!.length;
    expect(await row("control").locator("td").first().textContent()).toBe(String(control));
    expect(await row("warm").locator("td").first().textContent()).toBe(String(warm));
    // Rates read as percents, one decimal below 10 %.
    const rate = (units: number, converted: number) => {
      const percent = (converted / units) * 100;
      return `${Number(percent.toFixed(percent < 10 ? 1 : 0))} %`;
    };
    const controlConverted = Math.ceil(control / 10);
    const warmConverted = served.warm!.filter((_, index) => index % 10 < 6).length;
    expect(await row("control").locator("td").nth(1).textContent()).toContain(
      rate(control, controlConverted),
    );
    expect(await row("warm").locator("td").nth(1).textContent()).toContain(
      rate(warm, warmConverted),
    );
    // The effect is relative: (warm rate − control rate) / control rate, a gain of about +500 %.
    const effect = (await row("warm").locator("td").nth(2).textContent()) ?? "";
    expect(effect.startsWith("+")).toBe(true);
    expect(await page.getByRole("columnheader", { name: /fixed-horizon/ }).count()).toBe(1);
    expect(await page.getByRole("columnheader", { name: "p-value" }).count()).toBe(1);
    expect(
      await page
        .getByRole("img", { name: /^conversion resolved: relative effect against the control/ })
        .count(),
    ).toBe(1);
    expect(
      await page.getByRole("img", { name: /^conversion resolved: relative effect by day/ }).count(),
    ).toBe(1);
    await harness.shoot("results-winner.png");

    // The Bayesian engine reads the same data as a chance to win.
    await page.getByLabel("Engine").selectOption("bayesian");
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForURL(/engine=bayesian/);
    expect(await page.getByRole("columnheader", { name: "Chance to win" }).count()).toBe(1);
    await page.goto(harness.url(path));

    await page.getByRole("link", { name: "Promote the winner (warm)" }).click();
    await page.waitForURL(/\/promote\?variant=warm$/);
    expect(await page.getByRole("heading", { name: "What changes for applications" }).count()).toBe(
      1,
    );
    expect(await page.locator(".card.confirm").textContent()).toContain("from v1 to v2");
    await page.getByRole("button", { name: "Stop and promote warm (v2)" }).click();
    await page.waitForURL(harness.url(`/prompts/${encoded}/experiments/${id}?done=stop`));
    expect(await page.locator("h1 .status").textContent()).toBe("stopped");

    // The label moved: every user now gets v2 from the edge, with no experiment.
    await expect
      .poll(
        async () => {
          const response = await fetch(
            `${harness.platform.edgeUrl}/v1/prompts/${encoded}?unit=user-0`,
            { headers: { authorization: `Bearer ${readKey}` } },
          );
          const body = (await response.json()) as { version: number; experiment: unknown };
          return { version: body.version, experiment: body.experiment };
        },
        { timeout: 20_000, interval: 500 },
      )
      .toEqual({ version: 2, experiment: null });
  });

  it("shows the sample-ratio mismatch banner when exposures do not match the weights", async () => {
    const name = "ui/results-srm";
    const { id, encoded } = await runningExperiment(name, "lopsided");
    // An SDK assigning locally reported 300 control units and 150 warm ones on a 50/50 split.
    const exposure = (unit: string, variant: string) => ({
      type: "exposure",
      id: randomUUID(),
      timestamp: new Date().toISOString(),
      experiment: { id, key: "lopsided", variant },
      unit,
      prompt: { name, version: variant === "warm" ? 2 : 1, label: "production" },
    });
    await sendEvents([
      ...Array.from({ length: 300 }, (_, i) => exposure(`c-${i}`, "control")),
      ...Array.from({ length: 150 }, (_, i) => exposure(`w-${i}`, "warm")),
    ]);
    await resultsShow(`/prompts/${encoded}/experiments/${id}/results`, "srm");
    const banner = page.getByRole("alert");
    expect(await banner.textContent()).toContain("Sample-ratio mismatch");
    expect(await banner.textContent()).toContain("control 300, warm 150");
    expect(await page.locator("#decision-reason").textContent()).toContain("find the cause");
    expect(await page.getByRole("link", { name: /Promote the winner/ }).count()).toBe(0);
  });
});
