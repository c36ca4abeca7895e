import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../workers/admin";
import { addVersion, api, enc, json, keyFor, uniqueName } from "./api";

/**
 * The metrics API and pages over the TELEMETRY service binding. The binding is a Node stand-in
 * (telemetry-fake.ts) serving canned figures: v1 has 1,200 calls, 36 errors, p50 400 ms, p95
 * 1,500 ms, 2.4M input tokens, $12.50 and a helpfulness mean of 0.82; v2 has 300 calls; v99 (no
 * prompt has it) 7 failed calls. It records each query, read back through the binding.
 */

const origin = "http://admin.test";
const DAY_MS = 24 * 3600 * 1000;

interface Received {
  prompt: string;
  projectId: string;
  path: string;
  query: Record<string, string>;
}

/** The queries the stand-in telemetry worker got for `prompt`, oldest first. */
async function telemetryQueries(prompt: string): Promise<Received[]> {
  const response = await env.TELEMETRY.fetch(
    `http://telemetry.test/__test/requests?prompt=${enc(prompt)}`,
  );
  return json(response);
}

/** A prompt with versions 1 and 2, named under `prefix` (which picks the stand-in's answer). */
async function promptWithTwoVersions(prefix = "metrics/prompt"): Promise<string> {
  const name = uniqueName(prefix);
  const created = await api("POST", "/projects/default/prompts", {
    name,
    version: { prompt: "Hello {{who}}" },
  });
  expect(created.status).toBe(201);
  await addVersion(name, "Hi {{who}}");
  return name;
}

const metricsPath = (name: string, query = "") =>
  `/projects/default/prompts/${enc(name)}/metrics${query}`;

describe("GET /v1/projects/{project}/prompts/{name}/metrics", () => {
  it("asks telemetry for this project and prompt with exactly the parameters given", async () => {
    const name = await promptWithTwoVersions();
    const from = "2026-07-01T00:00:00.000Z";
    const to = "2026-07-02T00:00:00.000Z";
    const response = await api(
      "GET",
      metricsPath(
        name,
        `?groupBy=label&from=${from}&to=${to}&granularity=hour&version=2&label=production`,
      ),
    );
    expect(response.status).toBe(200);
    const queries = await telemetryQueries(name);
    expect(queries).toHaveLength(1);
    expect(queries[0]).toEqual({
      prompt: name,
      projectId: "default",
      // The name (it has a '/') travels as one encoded path segment.
      path: `/internal/projects/default/prompts/${enc(name)}/metrics`,
      query: { groupBy: "label", from, to, granularity: "hour", version: "2", label: "production" },
    });
    const body = await json(response);
    expect(body.series.map((s: { label: string | null }) => s.label)).toEqual([null, "production"]);
  });

  it("defaults: per version, the last 7 days per day; 2 days or less per hour", async () => {
    const name = await promptWithTwoVersions();
    const before = Date.now();
    expect((await api("GET", metricsPath(name))).status).toBe(200);
    expect(
      (await api("GET", metricsPath(name, "?from=2026-07-01T00:00:00Z&to=2026-07-03T00:00:00Z")))
        .status,
    ).toBe(200);
    expect(
      (await api("GET", metricsPath(name, "?from=2026-07-01T00:00:00Z&to=2026-07-03T00:00:01Z")))
        .status,
    ).toBe(200);
    const [byDefault, twoDays, overTwoDays] = await telemetryQueries(name);
    expect(byDefault!.query.groupBy).toBe("version");
    expect(byDefault!.query.granularity).toBe("day");
    const to = Date.parse(byDefault!.query.to!);
    expect(to).toBeGreaterThanOrEqual(before);
    expect(to).toBeLessThanOrEqual(Date.now());
    expect(to - Date.parse(byDefault!.query.from!)).toBe(7 * DAY_MS);
    expect(twoDays!.query.granularity).toBe("hour");
    expect(overTwoDays!.query.granularity).toBe("day");
  });

  it("passes the figures on and marks versions the prompt does not have", async () => {
    const name = await promptWithTwoVersions();
    const body = await json(await api("GET", metricsPath(name)));
    expect(body.telemetry).toBe("deployed");
    expect(body.prompt).toBe(name);
    expect(body.series.map((s: { version: number }) => s.version)).toEqual([1, 2, 99]);
    const [v1, v2, v99] = body.series;
    expect(v1.unknownVersion).toBeUndefined();
    expect(v2.unknownVersion).toBeUndefined();
    expect(v99.unknownVersion).toBe(true);
    expect(v1.total).toMatchObject({
      calls: 1200,
      errors: 36,
      errorRate: 0.03,
      latencyMs: { p50: 400, p95: 1500 },
      inputTokens: 2_400_000,
      costUsd: 12.5,
      scores: { helpfulness: { n: 300, mean: 0.82, sd: 0.1 } },
    });
    expect(v1.points).toHaveLength(2);
  });

  const invalid: [string, string][] = [
    ["?groupBy=week", "query.groupBy"],
    ["?granularity=minute", "query.granularity"],
    ["?from=yesterday", "query.from"],
    ["?to=2026-13-01T00:00:00Z", "query.to"],
    ["?from=2026-07-02T00:00:00Z&to=2026-07-01T00:00:00Z", "query.from"],
    ["?from=2026-01-01T00:00:00Z&to=2026-04-02T00:00:00Z", "query.from"],
    ["?version=0", "query.version"],
    ["?version=two", "query.version"],
    ["?label=Not%20A%20Label", "query.label"],
  ];
  for (const [query, field] of invalid) {
    it(`${query} → 422 naming ${field}, and telemetry is not asked`, async () => {
      const name = await promptWithTwoVersions();
      const response = await api("GET", metricsPath(name, query));
      expect(response.status).toBe(422);
      expect(response.headers.get("content-type")).toContain("application/problem+json");
      const problem = await json(response);
      expect(problem.code).toBe("validation_failed");
      expect(problem.errors.map((e: { field: string }) => e.field)).toContain(field);
      expect(await telemetryQueries(name)).toEqual([]);
    });
  }

  it("90 days is the widest range allowed", async () => {
    const name = await promptWithTwoVersions();
    const response = await api(
      "GET",
      metricsPath(name, "?from=2026-01-01T00:00:00Z&to=2026-04-01T00:00:00Z"),
    );
    expect(response.status).toBe(200);
  });

  it("404 for a prompt that does not exist, or in another project; telemetry is not asked", async () => {
    const missing = uniqueName("metrics/missing");
    const response = await api("GET", metricsPath(missing));
    expect(response.status).toBe(404);
    expect((await json(response)).code).toBe("not_found");
    const name = await promptWithTwoVersions();
    const other = await api("GET", `/projects/elsewhere/prompts/${enc(name)}/metrics`);
    expect(other.status).toBe(404);
    expect(await telemetryQueries(missing)).toEqual([]);
    expect(await telemetryQueries(name)).toEqual([]);
  });

  it("needs prompts:read: editors may read metrics, reader keys (edge only) may not", async () => {
    const name = await promptWithTwoVersions();
    const editor = await keyFor("editor");
    const allowed = await api("GET", metricsPath(name), undefined, {
      authorization: `Bearer ${editor}`,
    });
    expect(allowed.status).toBe(200);
    const reader = await keyFor("reader");
    const refused = await api("GET", metricsPath(name), undefined, {
      authorization: `Bearer ${reader}`,
    });
    expect(refused.status).toBe(403);
    expect((await json(refused)).permission).toBe("prompts:read");
    const anonymous = await exports.default.fetch(`${origin}/api/v1${metricsPath(name)}`);
    expect(anonymous.status).toBe(401);
  });

  it("telemetry down → 503 problem; telemetry refusing the query → 422 with its field", async () => {
    const broken = await promptWithTwoVersions("broken/prompt");
    const down = await api("GET", metricsPath(broken));
    expect(down.status).toBe(503);
    expect(down.headers.get("content-type")).toContain("application/problem+json");
    expect((await json(down)).code).toBe("unavailable");

    const refused = await promptWithTwoVersions("refused/prompt");
    const response = await api("GET", metricsPath(refused));
    expect(response.status).toBe(422);
    expect((await json(response)).errors).toEqual([
      { field: "query.granularity", message: "hourly data is kept for 14 days" },
    ]);
  });

  it("without the TELEMETRY binding: 200, empty series, telemetry not_deployed", async () => {
    const name = await promptWithTwoVersions();
    const ctx = createExecutionContext();
    const response = await worker.fetch(
      new Request(`${origin}/api/v1${metricsPath(name, "?groupBy=variant")}`, {
        headers: { authorization: `Bearer ${await keyFor("editor")}` },
      }),
      { ...env, TELEMETRY: undefined } as unknown as AdminEnv,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(200);
    const body = await json(response);
    expect(body).toMatchObject({ telemetry: "not_deployed", groupBy: "variant", series: [] });
    expect(await telemetryQueries(name)).toEqual([]);
  });
});

describe("metrics pages", () => {
  let cookie: string;
  beforeAll(async () => {
    const response = await exports.default.fetch(`${origin}/sign-in`, {
      method: "POST",
      redirect: "manual",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        origin,
        "cf-connecting-ip": "192.0.2.77",
      },
      body: new URLSearchParams({ key: await keyFor("editor") }),
    });
    expect(response.status).toBe(303);
    cookie = (response.headers.get("set-cookie") ?? "").split(";")[0]!;
  });

  async function page(path: string, environment?: AdminEnv) {
    const request = new Request(`${origin}${path}`, { headers: { cookie } });
    let response: Response;
    if (environment) {
      const ctx = createExecutionContext();
      response = await worker.fetch(request, environment, ctx);
      await waitOnExecutionContext(ctx);
    } else {
      response = await exports.default.fetch(request);
    }
    return { status: response.status, html: await response.text() };
  }

  /** The rows of the first table whose caption contains `caption`, as cell texts. */
  function tableRows(html: string, caption: string): string[][] {
    const start = html.indexOf(caption);
    expect(start, `table "${caption}"`).toBeGreaterThan(-1);
    const table = html.slice(start, html.indexOf("</table>", start));
    return [...table.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((row) =>
      [...row[1]!.matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((cell) =>
        cell[1]!.replace(/<[^>]+>/g, "").trim(),
      ),
    );
  }

  const chartCount = (html: string) =>
    html.match(/<svg[^>]*role="img"[^>]*class="chart-svg"/g)?.length ?? 0;

  it("shows the totals per version, one chart per metric, each labelled with a data table", async () => {
    const name = await promptWithTwoVersions();
    const { status, html } = await page(`/prompts/${enc(name)}/metrics?range=30d`);
    expect(status).toBe(200);
    const rows = tableRows(html, "The last 30 d, per version");
    expect(rows[0]).toEqual([
      "Version",
      "Calls",
      "Errors",
      "Error rate",
      "Latency p50",
      "Latency p95",
      "Time to first token p50",
      "Time to first token p95",
      "Input tokens",
      "Output tokens",
      "Cost",
      "Score: helpfulness (mean)",
    ]);
    expect(rows[1]).toEqual([
      "v1",
      "1,200",
      "36",
      "3.0 %",
      "400 ms",
      "1,500 ms",
      "150 ms",
      "600 ms",
      "2,400,000",
      "360,000",
      "$12.50",
      "0.82",
    ]);
    expect(rows[2]?.slice(0, 4)).toEqual(["v2", "300", "3", "1.0 %"]);
    expect(rows[3]?.slice(0, 4)).toEqual(["v99 (unknown version)", "7", "7", "100.0 %"]);
    expect(html).toMatch(/<tr class="muted"><th scope="row">v99 \(unknown version\)/);
    // Calls, error rate, latency p50/p95, TTFT p50/p95, tokens in/out, cost, one score.
    expect(chartCount(html)).toBe(10);
    expect(html.match(/<title id="chart-[a-z0-9-]+-title">/g)).toHaveLength(10);
    expect(html.match(/<desc id="chart-[a-z0-9-]+-desc">/g)).toHaveLength(10);
    expect(html).toContain("Data table: Calls");
    expect(html).toContain('href="/assets/cuecard.css');
    // The charts need no script: the page's only one is the UI's shared enhancement (focus).
    expect(html.match(/<script\b[^>]*>/g)).toEqual([
      expect.stringMatching(/^<script src="\/assets\/cuecard\.js\?v=\w+" defer="">$/),
    ]);
    const [query] = await telemetryQueries(name);
    expect(query!.query.granularity).toBe("day");
    expect(Date.parse(query!.query.to!) - Date.parse(query!.query.from!)).toBe(30 * DAY_MS);
  });

  it("24 h per hour; lines per label on request", async () => {
    const name = await promptWithTwoVersions();
    const { status, html } = await page(`/prompts/${enc(name)}/metrics?range=24h&groupBy=label`);
    expect(status).toBe(200);
    const rows = tableRows(html, "The last 24 h, per label");
    expect(rows.slice(1).map((row) => row.slice(0, 2))).toEqual([
      ["pinned version (no label)", "42"],
      ["production", "900"],
    ]);
    const [query] = await telemetryQueries(name);
    expect(query!.query).toMatchObject({ groupBy: "label", granularity: "hour" });
    expect(Date.parse(query!.query.to!) - Date.parse(query!.query.from!)).toBe(DAY_MS);
  });

  it("compares two versions side by side: a totals table and the same charts in two columns", async () => {
    const name = await promptWithTwoVersions();
    const { status, html } = await page(`/prompts/${enc(name)}/metrics/compare?a=1&b=2&range=7d`);
    expect(status).toBe(200);
    const rows = tableRows(html, "The last 7 d: v1 against v2");
    expect(rows[0]).toEqual(["Metric", "v1", "v2"]);
    expect(rows).toContainEqual(["Calls", "1,200", "300"]);
    expect(rows).toContainEqual(["Error rate", "3.0 %", "1.0 %"]);
    expect(rows).toContainEqual(["Cost", "$12.50", "$3.25"]);
    expect(rows).toContainEqual(["Score: helpfulness (mean)", "0.82", "0.91"]);
    expect(chartCount(html)).toBe(20);
    expect(html).toContain('id="left-calls-title"');
    expect(html).toContain('id="right-calls-title"');
  });

  it("the prompt page shows the last 7 days' calls and error rate as sparklines and links to metrics", async () => {
    const name = await promptWithTwoVersions();
    const { status, html } = await page(`/prompts/${enc(name)}`);
    expect(status).toBe(200);
    // 1,200 + 300 + 7 calls; (36 + 3 + 7) / 1,507 failed.
    expect(html).toContain('<strong class="trend-number">1,507</strong>');
    expect(html).toContain('<strong class="trend-number">3.1 %</strong>');
    expect(html.match(/<svg class="sparkline"[^>]*role="img"/g)).toHaveLength(2);
    expect(html).toContain(`href="/prompts/${enc(name)}/metrics"`);
  });

  it("says when telemetry is not deployed, on the metrics page and the prompt page", async () => {
    const name = await promptWithTwoVersions();
    const withoutTelemetry = { ...env, TELEMETRY: undefined } as unknown as AdminEnv;
    const metrics = await page(`/prompts/${enc(name)}/metrics`, withoutTelemetry);
    expect(metrics.status).toBe(200);
    expect(metrics.html).toContain("Telemetry is not deployed in this Cuecard");
    expect(chartCount(metrics.html)).toBe(0);
    const prompt = await page(`/prompts/${enc(name)}`, withoutTelemetry);
    expect(prompt.status).toBe(200);
    expect(prompt.html).toContain("Telemetry is not deployed");
  });

  it("telemetry down: the pages still render and say so", async () => {
    const name = await promptWithTwoVersions("broken/prompt");
    const metrics = await page(`/prompts/${enc(name)}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.html).toContain("Telemetry did not answer");
    const prompt = await page(`/prompts/${enc(name)}`);
    expect(prompt.status).toBe(200);
    expect(prompt.html).toContain("Telemetry did not answer");
  });

  it("no calls in the range: says so instead of empty charts", async () => {
    const name = await promptWithTwoVersions("quiet/prompt");
    const { status, html } = await page(`/prompts/${enc(name)}/metrics`);
    expect(status).toBe(200);
    expect(html).toContain(`No calls recorded for ${name} in the last 7 d.`);
  });
});
