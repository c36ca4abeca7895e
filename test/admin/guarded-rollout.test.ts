import { env, exports } from "cloudflare:workers";
import type { ExperimentStatistics, RatioStatistic } from "@cuecard/core/experiment-results";
import { type LabelPointer, labelPointerKey } from "@cuecard/core/kv-records";
import { and, asc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { platformOf } from "../../workers/admin/platform";
import { guardExperiments } from "../../workers/modules/experiments/rollout";
import { telemetryReaderOf } from "../../workers/modules/metrics/reader";
import { openDatabase } from "../../workers/platform/db/client";
import { auditLog, experiments, outbox } from "../../workers/platform/db/schema";
import { addVersion, api, createTextPrompt, json, keyFor } from "./api";

/**
 * Guarded rollouts: the rollout schedule computes each running experiment's results and pauses
 * (or rolls back) one whose guardrail regressed beyond what it allows, within the exposure
 * docs/experiments.md promises; it promotes a winner only with autoPromote, and otherwise
 * recommends it. The telemetry worker is the stand-in of telemetry-fake.ts: each test gives it
 * the per-unit sums that simulated units' calls add up to (a seeded generator decides which
 * calls fail), which is what the real worker aggregates from their events.
 */

const db = openDatabase(env.DB);
const platform = platformOf(env);
const telemetry = telemetryReaderOf(env.TELEMETRY);
const base = "/projects/default/experiments";
let keys = 0;

async function experiment(settings: Record<string, unknown> = {}) {
  const name = await createTextPrompt("Hello {{customer}}", ["production"]);
  await addVersion(name, "Hi there {{customer}}!");
  const created = await api("POST", base, {
    prompt: name,
    label: "production",
    key: `guarded-${++keys}-${Math.random().toString(36).slice(2, 7)}`,
    unit: "user id",
    control: { weight: 0.5 },
    variants: [{ key: "friendly", version: 2, weight: 0.5 }],
    metrics: {
      primary: { kind: "conversion", name: "resolved" },
      guardrails: [{ metric: { kind: "error_rate" }, maxRegressionPct: 10 }],
    },
    ...settings,
  });
  expect(created.status, await created.clone().text()).toBe(201);
  const { id, key } = await json<{ id: string; key: string }>(created);
  expect((await api("POST", `${base}/${id}/start`)).status).toBe(200);
  return { id, key, name };
}

/** mulberry32: a small seeded generator, so every run simulates the same units. */
function seeded(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `units` units making `calls` calls each, each call failing with probability `rate`. */
function errorsOf(units: number, calls: number, rate: number, random: () => number) {
  const statistic: RatioStatistic = {
    kind: "ratio",
    units,
    numeratorSum: 0,
    numeratorSumSquares: 0,
    denominatorSum: 0,
    denominatorSumSquares: 0,
    crossSum: 0,
  };
  for (let unit = 0; unit < units; unit++) {
    let errors = 0;
    for (let call = 0; call < calls; call++) if (random() < rate) errors++;
    statistic.numeratorSum += errors;
    statistic.numeratorSumSquares += errors * errors;
    statistic.denominatorSum += calls;
    statistic.denominatorSumSquares += calls * calls;
    statistic.crossSum += errors * calls;
  }
  return statistic;
}

/** `units` per arm; errors per call and resolved units per arm as given. */
function simulated(
  id: string,
  units: number,
  arms: { control: { errors: number; resolved: number }; friendly: typeof arms.control },
  seed = 7,
): ExperimentStatistics {
  const random = seeded(seed);
  const resolved = (share: number) => {
    let sum = 0;
    for (let unit = 0; unit < units; unit++) if (random() < share) sum++;
    return { kind: "mean" as const, units, sum, sumSquares: sum };
  };
  const snapshot = {
    exposedUnits: { control: units, friendly: units },
    metrics: [
      {
        metric: { kind: "conversion" as const, name: "resolved" },
        variants: {
          control: resolved(arms.control.resolved),
          friendly: resolved(arms.friendly.resolved),
        },
      },
      {
        metric: { kind: "error_rate" as const },
        variants: {
          control: errorsOf(units, 1, arms.control.errors, random),
          friendly: errorsOf(units, 1, arms.friendly.errors, random),
        },
      },
    ],
  };
  return { experimentId: id, ...snapshot, days: [{ day: "2026-12-01", ...snapshot }] };
}

async function telemetryHas(id: string, statistics: ExperimentStatistics) {
  const response = await env.TELEMETRY.fetch(`http://telemetry.test/__test/statistics/${id}`, {
    method: "PUT",
    body: JSON.stringify(statistics),
  });
  expect(response.status).toBe(204);
}

async function runSchedule(id: string) {
  const report = await guardExperiments(platform, telemetry);
  return report.decided.filter((decided) => decided.id === id).map((decided) => decided.action);
}

async function rowOf(id: string) {
  const [row] = await db.select().from(experiments).where(eq(experiments.id, id));
  return row!;
}

async function auditOf(id: string) {
  const rows = await db
    .select()
    .from(auditLog)
    .where(eq(auditLog.target, id))
    .orderBy(asc(auditLog.id));
  return rows.map((row) => ({ action: row.action, actor: row.actor, after: row.after }));
}

async function eventsOf(id: string) {
  const rows = await db.select().from(outbox).orderBy(asc(outbox.id));
  return rows
    .filter((row) => (row.payload as { experiment?: { id: string } }).experiment?.id === id)
    .map((row) => ({ type: row.eventType, payload: row.payload as Record<string, unknown> }));
}

async function pointerOf(name: string) {
  return (await env.PROMPTS_KV.get(
    labelPointerKey("default", name, "production"),
    "json",
  )) as LabelPointer;
}

// docs/experiments.md, "Guarded rollouts": a variant that doubles a 5 % error rate (one call
// per unit), against an allowed regression of 10 %, is paused by 2,000 units per arm.
const REGRESSION = {
  control: { errors: 0.05, resolved: 0.3 },
  friendly: { errors: 0.1, resolved: 0.3 },
};

describe("guarded rollouts", () => {
  it("pauses a regressing variant within the promised exposure, audited with the reason", async () => {
    const { id, key, name } = await experiment();
    // 300 units per arm: the regression is there, but not established yet.
    await telemetryHas(id, simulated(id, 300, REGRESSION));
    expect(await runSchedule(id)).toEqual([]);
    expect((await rowOf(id)).state).toBe("running");

    await telemetryHas(id, simulated(id, 2000, REGRESSION));
    expect(await runSchedule(id)).toEqual(["paused"]);
    const row = await rowOf(id);
    expect(row.state).toBe("paused");
    expect(row.decision).toMatchObject({ action: "paused", variant: "friendly" });
    expect(row.decision?.reason).toMatch(
      /^Guardrail failed: variant 'friendly' regressed error_rate: \+\d+(\.\d)? % \(sequential interval \+\d+(\.\d)? % to \+\d+(\.\d)? %\), beyond the allowed 10 %\.$/,
    );
    const audit = await auditOf(id);
    expect(audit.at(-1)).toEqual({
      action: "experiment.pause",
      actor: "schedule:rollout",
      after: { state: "paused", controlVersion: 1, reason: row.decision?.reason },
    });
    const paused = (await eventsOf(id)).filter((event) => event.type === "experiment.paused");
    expect(paused).toHaveLength(1);
    expect(paused[0]?.payload).toMatchObject({
      experiment: { id, key },
      label: "production",
      controlVersion: 1,
      reason: row.decision?.reason,
    });
    // Paused: the pointer serves the control to everyone.
    expect((await pointerOf(name)).experiment ?? null).toBeNull();
    // A paused experiment is not looked at again.
    expect(await runSchedule(id)).toEqual([]);

    // The experiment page says what the schedule did and why.
    const page = await (
      await uiGet(`/prompts/${encodeURIComponent(name)}/experiments/${id}`)
    ).text();
    expect(page).toContain("The rollout schedule paused this experiment");
    expect(page).toContain("regressed error_rate");
  });

  it("with onRegression rollback, pauses then stops with the label on the control version", async () => {
    const { id, key, name } = await experiment({ onRegression: "rollback" });
    await telemetryHas(id, simulated(id, 2000, REGRESSION));
    expect(await runSchedule(id)).toEqual(["rolled_back"]);
    const row = await rowOf(id);
    expect(row.state).toBe("stopped");
    expect(row.promotedVariant).toBeNull();
    expect(row.decision).toMatchObject({ action: "rolled_back", variant: "friendly" });
    expect((await auditOf(id)).map((entry) => [entry.action, entry.actor])).toEqual([
      ["experiment.create", expect.any(String)],
      ["experiment.start", expect.any(String)],
      ["experiment.pause", "schedule:rollout"],
      ["experiment.rollback", "schedule:rollout"],
    ]);
    const events = await eventsOf(id);
    expect(events.map((event) => event.type)).toEqual([
      "experiment.created",
      "experiment.started",
      "experiment.paused",
      "experiment.stopped",
      "experiment.rolled_back",
    ]);
    expect(events.at(-1)?.payload).toMatchObject({
      experiment: { id, key },
      label: "production",
      controlVersion: 1,
      variant: "friendly",
      toVersion: 1,
      reason: row.decision?.reason,
    });
    // The label serves the control version, with no split, and is free to move again.
    const pointer = await pointerOf(name);
    expect(pointer.experiment ?? null).toBeNull();
    expect(pointer.targets).toEqual([{ version: 1, weight: 1 }]);
    const labels = await json<{ items: { name: string; version: number }[] }>(
      await api("GET", `/projects/default/prompts/${encodeURIComponent(name)}/labels`),
    );
    expect(labels.items.find((label) => label.name === "production")?.version).toBe(1);
  });

  it("recommends a winner once without autoPromote, and promotes it with autoPromote", async () => {
    const winning = {
      control: { errors: 0.05, resolved: 0.2 },
      friendly: { errors: 0.05, resolved: 0.3 },
    };
    const recommended = await experiment();
    await telemetryHas(recommended.id, simulated(recommended.id, 2000, winning));
    expect(await runSchedule(recommended.id)).toEqual(["recommended"]);
    // Once per winner: the next run records nothing new.
    expect(await runSchedule(recommended.id)).toEqual([]);
    const row = await rowOf(recommended.id);
    expect(row.state).toBe("running");
    expect(row.decision).toMatchObject({ action: "recommended", variant: "friendly" });
    expect(row.decision?.reason).toMatch(/^Cuecard recommends promoting friendly: friendly beats/);
    expect(
      (await auditOf(recommended.id)).filter((entry) => entry.action === "experiment.recommend"),
    ).toHaveLength(1);
    expect((await pointerOf(recommended.name)).targets).toEqual([{ version: 1, weight: 1 }]);
    const page = await (
      await uiGet(`/prompts/${encodeURIComponent(recommended.name)}/experiments/${recommended.id}`)
    ).text();
    expect(page).toContain("Cuecard recommends promoting friendly");

    const automatic = await experiment({ autoPromote: true });
    await telemetryHas(automatic.id, simulated(automatic.id, 2000, winning));
    expect(await runSchedule(automatic.id)).toEqual(["promoted"]);
    const promoted = await rowOf(automatic.id);
    expect(promoted.state).toBe("stopped");
    expect(promoted.promotedVariant).toBe("friendly");
    const stopped = (await eventsOf(automatic.id)).find((e) => e.type === "experiment.stopped");
    expect(stopped?.payload).toMatchObject({
      promoted: { variant: "friendly", version: 2 },
      reason: expect.stringMatching(/^friendly beats the control/),
    });
    const pointer = await pointerOf(automatic.name);
    expect(pointer.targets).toEqual([{ version: 2, weight: 1 }]);
    expect(pointer.experiment ?? null).toBeNull();
    const moves = await db
      .select()
      .from(auditLog)
      .where(
        and(eq(auditLog.action, "label.move"), eq(auditLog.target, `${automatic.name}@production`)),
      );
    // Creating the prompt put production on v1; the promotion is the schedule's move to v2.
    expect(moves.map((move) => [move.actor, (move.after as { version: number }).version])).toEqual([
      [expect.stringMatching(/^key_/), 1],
      ["schedule:rollout", 2],
    ]);
  });

  it("takes onRegression and autoPromote in the API, with defaults, and refuses other values", async () => {
    const { id } = await experiment();
    const read = await json<{ onRegression: string; autoPromote: boolean; decision: unknown }>(
      await api("GET", `${base}/${id}`),
    );
    expect(read).toMatchObject({ onRegression: "pause", autoPromote: false, decision: null });
    const name = await createTextPrompt("Hi {{customer}}", ["production"]);
    await addVersion(name, "Hey {{customer}}");
    const refused = await api("POST", base, {
      prompt: name,
      label: "production",
      key: `guarded-bad-${Math.random().toString(36).slice(2, 7)}`,
      unit: "user id",
      control: { weight: 0.5 },
      variants: [{ key: "friendly", version: 2, weight: 0.5 }],
      metrics: { primary: { kind: "error_rate" } },
      onRegression: "ignore",
      autoPromote: "yes",
    });
    expect(refused.status).toBe(422);
    const { errors } = await json<{ errors: { field: string }[] }>(refused);
    expect(errors.map((error) => error.field).sort()).toEqual([
      "body.autoPromote",
      "body.onRegression",
    ]);
  });
});

const origin = "http://admin.test";
let cookie: string | undefined;

async function uiGet(path: string) {
  if (!cookie) {
    const response = await exports.default.fetch(`${origin}/api/v1/session`, {
      method: "POST",
      headers: { "content-type": "application/json", origin },
      body: JSON.stringify({ key: await keyFor("admin") }),
    });
    cookie = (response.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  }
  return exports.default.fetch(`${origin}${path}`, { headers: { cookie } });
}
