import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { ExperimentResults, ExperimentStatistics } from "@cuecard/core/experiment-results";
import { describe, expect, it } from "vitest";
import worker from "../../workers/admin";
import { addVersion, api, createTextPrompt, json, keyFor } from "./api";

/**
 * `GET /v1/projects/{project}/experiments/{id}/results`: the experiment's statistics read from
 * the telemetry worker over the TELEMETRY binding, analysed into per-variant figures and a
 * decision. The binding is the Node stand-in (telemetry-fake.ts); each test sets what telemetry
 * has aggregated for its experiment.
 */

const base = "/projects/default/experiments";
let keys = 0;

async function experiment(start = true) {
  const name = await createTextPrompt("Hello {{customer}}", ["production"]);
  await addVersion(name, "Hi there {{customer}}!");
  const created = await api("POST", base, {
    prompt: name,
    label: "production",
    key: `results-${++keys}-${Math.random().toString(36).slice(2, 7)}`,
    unit: "user id",
    control: { weight: 0.5 },
    variants: [{ key: "friendly", version: 2, weight: 0.5 }],
    metrics: {
      primary: { kind: "conversion", name: "resolved" },
      guardrails: [{ metric: { kind: "error_rate" }, maxRegressionPct: 10 }],
    },
  });
  expect(created.status, await created.clone().text()).toBe(201);
  const { id } = (await json(created)) as { id: string };
  if (start) expect((await api("POST", `${base}/${id}/start`)).status).toBe(200);
  return id;
}

async function telemetryHas(id: string, canned: unknown) {
  const response = await env.TELEMETRY.fetch(`http://telemetry.test/__test/statistics/${id}`, {
    method: "PUT",
    body: JSON.stringify(canned),
  });
  expect(response.status).toBe(204);
}

async function statisticsQueries(id: string): Promise<{ projectId: string; body: unknown }[]> {
  return json(
    await env.TELEMETRY.fetch(`http://telemetry.test/__test/statistics-queries?experimentId=${id}`),
  );
}

/**
 * 1,000 units per arm. Resolved: 10 % of the control's units, 20 % of friendly's. Errors: each
 * unit made 5 calls; 50 units per arm had one error (1 % of calls in both arms).
 */
function clearWinner(id: string): ExperimentStatistics {
  const errors = {
    kind: "ratio" as const,
    units: 1000,
    numeratorSum: 50,
    numeratorSumSquares: 50,
    denominatorSum: 5000,
    denominatorSumSquares: 25_000,
    crossSum: 250,
  };
  const snapshot = {
    exposedUnits: { control: 1000, friendly: 1000 },
    metrics: [
      {
        metric: { kind: "conversion" as const, name: "resolved" },
        variants: {
          control: { kind: "mean" as const, units: 1000, sum: 100, sumSquares: 100 },
          friendly: { kind: "mean" as const, units: 1000, sum: 200, sumSquares: 200 },
        },
      },
      { metric: { kind: "error_rate" as const }, variants: { control: errors, friendly: errors } },
    ],
  };
  return { experimentId: id, ...snapshot, days: [{ day: "2026-07-01", ...snapshot }] };
}

const resultsOf = (id: string, query = "") => api("GET", `${base}/${id}/results${query}`);

describe("GET /v1/projects/{project}/experiments/{id}/results", () => {
  it("analyses telemetry's per-unit statistics into figures and a decision", async () => {
    const id = await experiment();
    await telemetryHas(id, clearWinner(id));
    const response = await resultsOf(id);
    expect(response.status, await response.clone().text()).toBe(200);
    const results = (await json(response)) as ExperimentResults;
    expect(results).toMatchObject({
      experimentId: id,
      engine: "frequentist",
      intervalKind: "sequential",
      decision: "winner",
      winner: "friendly",
      srm: {
        observed: { control: 1000, friendly: 1000 },
        expected: { control: 1000, friendly: 1000 },
      },
    });
    expect(results.reason).toContain("friendly");
    const [primary, guardrail] = results.metrics;
    expect(primary?.role).toBe("primary");
    expect(primary?.variants.map((v) => [v.variant, v.units, v.value])).toEqual([
      ["control", 1000, 0.1],
      ["friendly", 1000, 0.2],
    ]);
    const friendly = primary?.variants[1];
    expect(friendly?.relativeEffect).toBeCloseTo(1, 10);
    expect(friendly?.interval?.[0]).toBeGreaterThan(0);
    expect(friendly?.pValue).toBeLessThan(0.05);
    expect(friendly?.chanceToWin).toBeNull();
    expect(primary?.variants[0]?.relativeEffect).toBeNull();
    expect(guardrail).toMatchObject({
      role: "guardrail",
      higherIsBetter: false,
      guardrail: { maxRegressionPct: 10, states: { friendly: "ok" } },
    });
    expect(results.overTime.map((day) => day.day)).toEqual(["2026-07-01"]);

    // Telemetry was asked for this project's experiment, every metric, from its start.
    const experimentBody = await json(await api("GET", `${base}/${id}`));
    expect(await statisticsQueries(id)).toEqual([
      {
        projectId: "default",
        experimentId: id,
        body: {
          metrics: [{ kind: "conversion", name: "resolved" }, { kind: "error_rate" }],
          since: experimentBody.startedAt,
        },
      },
    ]);
  });

  it("judges the sample ratio on the units assigned since a rollout stage changed the weights", async () => {
    const id = await experiment();
    await telemetryHas(id, clearWinner(id));
    // As the rollout schedule leaves a row that advanced to its second stage.
    const stageStartedAt = new Date(Date.now() - 3600_000).toISOString();
    await env.DB.prepare("UPDATE experiments SET stage = 1, stage_started_at = ? WHERE id = ?")
      .bind(stageStartedAt, id)
      .run();
    expect((await resultsOf(id)).status).toBe(200);
    const queries = await statisticsQueries(id);
    expect(queries.map((query) => query.body)).toEqual([
      expect.objectContaining({
        metrics: [{ kind: "conversion", name: "resolved" }, { kind: "error_rate" }],
      }),
      { metrics: [{ kind: "conversion", name: "resolved" }], since: stageStartedAt },
    ]);
  });

  it("uses the engine and interval asked for", async () => {
    const id = await experiment();
    await telemetryHas(id, clearWinner(id));
    const bayesian = (await json(await resultsOf(id, "?engine=bayesian"))) as ExperimentResults;
    expect(bayesian).toMatchObject({ engine: "bayesian", intervalKind: "bayesian" });
    const friendly = bayesian.metrics[0]?.variants[1];
    expect(friendly?.chanceToWin).toBeGreaterThan(0.99);
    expect(friendly?.risk).not.toBeNull();
    expect(friendly?.pValue).toBeNull();

    const fixed = (await json(await resultsOf(id, "?sequential=false"))) as ExperimentResults;
    const sequential = (await json(await resultsOf(id, "?sequential=true"))) as ExperimentResults;
    expect(fixed.intervalKind).toBe("fixed");
    expect(sequential.intervalKind).toBe("sequential");
    // An always-valid interval is wider than the fixed-horizon one on the same data.
    const width = (r: ExperimentResults) => {
      const [low, high] = r.metrics[0]?.variants[1]?.interval ?? [0, 0];
      return high - low;
    };
    expect(width(sequential)).toBeGreaterThan(width(fixed));
  });

  it("says not_enough_data for a draft without asking telemetry", async () => {
    const id = await experiment(false);
    const response = await resultsOf(id);
    expect(response.status).toBe(200);
    const results = (await json(response)) as ExperimentResults;
    expect(results.decision).toBe("not_enough_data");
    expect(results.winner).toBeNull();
    expect(results.reason).not.toBe("");
    expect(await statisticsQueries(id)).toEqual([]);
  });

  it("refuses bad parameters with 422 problem+json naming each", async () => {
    const id = await experiment(false);
    const response = await resultsOf(id, "?engine=magic&sequential=yes&extra=1");
    expect(response.status).toBe(422);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
    const problem = await json(response);
    expect(problem.code).toBe("validation_failed");
    const fields = (problem.errors as { field: string }[]).map((error) => error.field).sort();
    expect(fields).toEqual(["query", "query.engine", "query.sequential"]);
    const badId = await api("GET", `${base}/not-an-id/results`);
    expect(badId.status).toBe(422);
  });

  it("answers 404 for an experiment that does not exist, or is another project's", async () => {
    const response = await resultsOf("exp_00000000000000000000");
    expect(response.status).toBe(404);
    expect((await json(response)).code).toBe("not_found");
  });

  it("answers 503 unavailable when telemetry fails", async () => {
    const id = await experiment();
    await telemetryHas(id, { status: 500 });
    const response = await resultsOf(id);
    expect(response.status).toBe(503);
    expect((await json(response)).code).toBe("unavailable");
  });

  it("answers 503 telemetry_not_configured without the TELEMETRY binding", async () => {
    const id = await experiment();
    const ctx = createExecutionContext();
    const response = await worker.fetch(
      new Request(`http://admin.test/api/v1${base}/${id}/results`, {
        headers: { authorization: `Bearer ${await keyFor("editor")}` },
      }),
      { ...env, TELEMETRY: undefined } as unknown as AdminEnv,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(503);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
    expect((await json(response)).code).toBe("telemetry_not_configured");
  });
});
