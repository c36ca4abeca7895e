/**
 * The metrics pages in a real browser, over real telemetry: a known set of events goes through
 * the edge (`POST /v1/events`, explicit timestamps over the last day, two versions), the telemetry
 * worker's consumer rolls them up, and a signed-in admin reads the totals, the charts, the
 * comparison of the two versions and the prompt page's 7-day trend.
 *
 * The expected figures follow from the events and the documented rules: percentiles are the upper
 * bound of their `LATENCY_BUCKETS_MS` bucket (p50 = the 50 %-rank value's bucket), booleans score
 * 0/1, and the totals table prints exact figures (counts with separators, rates with one decimal,
 * dollars with four below $1, score means with two).
 */
import { randomUUID } from "node:crypto";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { project, startUiHarness, type UiHarness } from "./helpers";

let harness: UiHarness;
let page: Page;
let readKey: string;

const PROMPT = "ui/metrics-demo";
const encoded = encodeURIComponent(PROMPT);
const HOUR_MS = 3600 * 1000;

type Event = Record<string, unknown>;

/** `count` generations of one version, spread over the last 20 hours. */
function generations(version: number, count: number, call: (i: number) => Partial<Event>): Event[] {
  return Array.from({ length: count }, (_, i) => ({
    type: "generation",
    id: randomUUID(),
    timestamp: new Date(Date.now() - (1 + (i % 20)) * HOUR_MS - i * 1000).toISOString(),
    prompt: { name: PROMPT, version, label: "production" },
    provider: "openai",
    operation: "chat",
    model: "gpt-4o-mini",
    ...call(i),
  }));
}

// v1: 10 calls of 120 ms (bucket ≤150), 2 errors, 100 in / 20 out, $0.001 each; scores 0.5, 0.5.
const v1 = generations(1, 10, (i) => ({
  latencyMs: 120,
  inputTokens: 100,
  outputTokens: 20,
  costUsd: 0.001,
  error: i < 2 ? { type: "InternalServerError", status: 500, message: "boom" } : null,
}));
// v2: 20 streamed calls, 18 of 300 ms (≤400) and 2 of 2000 ms (≤2500), first token 50 ms (≤60),
// 1 error, 200 in / 50 out, $0.002 each; scores 1, 0.8, 0.9.
const v2 = generations(2, 20, (i) => ({
  latencyMs: i < 18 ? 300 : 2000,
  stream: true,
  timeToFirstTokenMs: 50,
  inputTokens: 200,
  outputTokens: 50,
  costUsd: 0.002,
  error: i === 5 ? { type: "RateLimitError", status: 429, message: "slow down" } : null,
}));
const score = (generation: Event, value: number | boolean): Event => ({
  type: "score",
  id: randomUUID(),
  timestamp: new Date().toISOString(),
  name: "helpfulness",
  value,
  generationId: generation.id,
});
const scores = [
  score(v1[3]!, 0.5),
  score(v1[4]!, 0.5),
  score(v2[0]!, true),
  score(v2[1]!, 0.8),
  score(v2[2]!, 0.9),
];

// Version, calls, errors, error rate, latency p50, p95, TTFT p50, p95, input and output tokens,
// cost, helpfulness mean.
const V2_ROW = [
  "v2",
  "20",
  "1",
  "5.0 %",
  "400 ms",
  "2,500 ms",
  "60 ms",
  "60 ms",
  "4,000",
  "1,000",
  "$0.0400",
  "0.90",
];
const V1_ROW = [
  "v1",
  "10",
  "2",
  "20.0 %",
  "150 ms",
  "150 ms",
  "–",
  "–",
  "1,000",
  "200",
  "$0.0100",
  "0.50",
];

const CHART_TITLES = [
  "Calls",
  "Error rate",
  "Latency p50",
  "Latency p95",
  "Time to first token p50",
  "Time to first token p95",
  "Input tokens",
  "Output tokens",
  "Cost",
  "Score: helpfulness (mean)",
];

beforeAll(async () => {
  harness = await startUiHarness();
  page = harness.page;
  const created = await harness.api("POST", `/projects/${project}/prompts`, {
    name: PROMPT,
    version: { prompt: "Say hello to {{name}}.", commitMessage: "first" },
  });
  expect(created.status).toBe(201);
  const second = await harness.api("POST", `/projects/${project}/prompts/${encoded}/versions`, {
    prompt: "Say hello to {{name}}, warmly.",
    commitMessage: "warmer",
    labels: ["production"],
  });
  expect(second.status).toBe(201);

  readKey = await harness.createKey("ui telemetry", "reader");
  const sent = await fetch(`${harness.platform.edgeUrl}/v1/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${readKey}`, "content-type": "application/json" },
    body: JSON.stringify({ events: [...v1, ...v2, ...scores] }),
  });
  expect(sent.status).toBe(200);
  expect(await sent.json()).toMatchObject({ accepted: 35, rejected: 0 });

  // The consumer rolls up in the background: wait until the API shows every event.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const response = await harness.api("GET", `/projects/${project}/prompts/${encoded}/metrics`);
    const metrics = (await response.json()) as {
      series: {
        version: number;
        total: { calls: number; scores: Record<string, { n: number }> };
      }[];
    };
    const total = (version: number) => metrics.series.find((s) => s.version === version)?.total;
    const scored = (total(1)?.scores.helpfulness?.n ?? 0) + (total(2)?.scores.helpfulness?.n ?? 0);
    if (total(1)?.calls === 10 && total(2)?.calls === 20 && scored === 5) break;
    if (Date.now() > deadline) throw new Error(`not rolled up: ${JSON.stringify(metrics)}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  await harness.signIn(harness.adminKey);
});

afterAll(async () => {
  await harness?.dispose();
});

afterEach(() => {
  expect(harness.consoleErrors).toEqual([]);
  harness.consoleErrors.length = 0;
});

async function rowsOf(table: string): Promise<string[][]> {
  return page
    .locator(`${table} tbody tr`)
    .evaluateAll((rows) =>
      rows.map((row) =>
        Array.from(row.querySelectorAll("th, td")).map((cell) => cell.textContent?.trim() ?? ""),
      ),
    );
}

/** Each chart is an svg image named by its title, drawn at a real size, with a line in it. */
async function expectChartsDrawn(scope: ReturnType<Page["locator"]>, titles: string[]) {
  for (const title of titles) {
    const chart = scope.getByRole("img", { name: new RegExp(`^${literal(title)} `) });
    await expect.poll(() => chart.count()).toBe(1);
    const box = await chart.boundingBox();
    expect(box?.width, title).toBeGreaterThan(200);
    expect(box?.height, title).toBeGreaterThan(60);
  }
}

const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("metrics pages", () => {
  it("the metrics page: exact totals per version, and every chart drawn", async () => {
    await page.goto(harness.url(`/prompts/${encoded}/metrics`));
    await expect.poll(() => page.locator("h1").textContent()).toBe(`Metrics of ${PROMPT}`);
    const headers = await page
      .locator("table.totals thead th")
      .evaluateAll((cells) => cells.map((cell) => cell.textContent?.trim()));
    expect(headers).toEqual(["Version", "Calls", "Errors", ...CHART_TITLES.slice(1)]);
    const rows = await rowsOf("table.totals");
    expect(rows).toHaveLength(2);
    expect(rows).toContainEqual(V2_ROW);
    expect(rows).toContainEqual(V1_ROW);

    await expectChartsDrawn(page.locator("main"), CHART_TITLES);
    for (const title of CHART_TITLES) {
      // Every chart has data here: a dot is drawn per point, even for a lone bucket.
      const chart = page.getByRole("img", { name: new RegExp(`^${literal(title)} `) });
      expect(await chart.locator("circle").count(), title).toBeGreaterThan(0);
    }
    // Two versions: each chart has a legend naming both.
    const legend = page
      .getByRole("figure", { name: "Calls", exact: true })
      .locator(".chart-legend");
    expect(await legend.locator("li").allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining("v1"), expect.stringContaining("v2")]),
    );
    await page.screenshot({ path: "/tmp/metrics-7d.png", fullPage: true });

    // Per hour over the last 24 h: the same totals, spread over many points.
    await page
      .getByRole("navigation", { name: "Range" })
      .getByRole("link", { name: "24 h" })
      .click();
    await page.waitForURL(/range=24h/);
    expect(await rowsOf("table.totals")).toEqual(expect.arrayContaining([V2_ROW, V1_ROW]));
    const calls = page.getByRole("img", { name: /^Calls / });
    expect(await calls.locator("circle").count()).toBeGreaterThan(10);
    // Counts step by whole numbers on the y axis (its labels are the right-aligned ones), even
    // where an hour has a single call.
    const callTicks = await page
      .getByRole("img", { name: /^Calls / })
      .locator("text[text-anchor=end]")
      .allTextContents();
    expect(callTicks.length).toBeGreaterThanOrEqual(2);
    for (const tick of callTicks) expect(tick).toMatch(/^\d+$/);
    await page.screenshot({ path: "/tmp/metrics-24h.png", fullPage: true });
  });

  it("compare: both versions side by side, with their totals and charts", async () => {
    await page.goto(harness.url(`/prompts/${encoded}/metrics/compare?a=1&b=2`));
    const rows = await rowsOf("table.compare-totals");
    const row = (metric: string) => rows.find((cells) => cells[0] === metric)?.slice(1);
    expect(row("Calls")).toEqual(["10", "20"]);
    expect(row("Errors")).toEqual(["2", "1"]);
    expect(row("Error rate")).toEqual(["20.0 %", "5.0 %"]);
    expect(row("Latency p95")).toEqual(["150 ms", "2,500 ms"]);
    expect(row("Cost")).toEqual(["$0.0100", "$0.0400"]);
    expect(row("Score: helpfulness (mean)")).toEqual(["0.50", "0.90"]);
    expect(await page.locator("#left-title").textContent()).toBe("v1");
    expect(await page.locator("#right-title").textContent()).toBe("v2");
    const main = page.locator("main");
    for (const title of CHART_TITLES) {
      await expectChartsDrawn(main, [`${title} · v1`, `${title} · v2`]);
      // Side by side: each metric's two charts start at the same height, even where v1 has no
      // data (its time to first token).
      const [left, right] = await Promise.all(
        ["v1", "v2"].map((v) =>
          main
            .getByRole("img", { name: new RegExp(`^${literal(`${title} · ${v}`)} `) })
            .boundingBox(),
        ),
      );
      expect(left!.y, title).toBe(right!.y);
      expect(left!.x, title).toBeLessThan(right!.x);
    }
    await page.screenshot({ path: "/tmp/metrics-compare.png", fullPage: true });
  });

  it("the prompt page shows the last 7 days: calls, error rate, and their sparklines", async () => {
    await page.goto(harness.url(`/prompts/${encoded}`));
    const trend = page.locator("section[aria-labelledby=trend-title]");
    expect(await trend.locator(".trend-number").allTextContents()).toEqual(["30", "10.0 %"]);
    const callsLine = trend.getByRole("img", { name: /^Calls per day, last 7 days: / });
    const label = (await callsLine.getAttribute("aria-label")) ?? "";
    const perDay = label.replace(/^.*: /, "").split(", ").map(Number);
    // One number per day of the range; the events of the last 20 hours are in the last two.
    expect(perDay.length).toBeGreaterThanOrEqual(7);
    expect(perDay.reduce((sum, n) => sum + n, 0)).toBe(30);
    const box = await callsLine.boundingBox();
    expect(box?.width).toBeGreaterThan(100);
    expect(await trend.getByRole("img", { name: /^Error rate per day/ }).count()).toBe(1);
    await trend.screenshot({ path: "/tmp/metrics-prompt-trend.png" });
    await trend.getByRole("link", { name: "All metrics" }).click();
    await page.waitForURL(harness.url(`/prompts/${encoded}/metrics`));
  });
});
