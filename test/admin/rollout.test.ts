import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { assign } from "@cuecard/core/assignment";
import { type LabelPointer, labelPointerKey } from "@cuecard/core/kv-records";
import { and, asc, eq, gt } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import worker from "../../workers/admin";
import { platformOf } from "../../workers/admin/platform";
import { advanceRollouts } from "../../workers/modules/experiments/rollout";
import { NoopTelemetryReader, telemetryReaderOf } from "../../workers/modules/metrics/reader";
import { openDatabase } from "../../workers/platform/db/client";
import { auditLog, experiments, outbox } from "../../workers/platform/db/schema";
import { addVersion, api, createTextPrompt, json } from "./api";

/**
 * The rollout schedule: a running experiment's stage advances when, and only when, the stage has
 * its minimum exposure (distinct units, as the telemetry worker counts them: the stand-in in
 * telemetry-fake.ts answers what a test sets) and its minimum duration. Each advance is an
 * audited change with its `experiment.stage_advanced` event, and the label's KV pointer serves
 * the new weights.
 */

const db = openDatabase(env.DB);
const platform = platformOf(env);
const telemetry = telemetryReaderOf(env.TELEMETRY);
const HOUR = 3600 * 1000;

let keys = 0;
const uniqueKey = () => `rollout-${++keys}-${Math.random().toString(36).slice(2, 7)}`;

/** Stages 10 % → 50 % → 75 % of units on the new version. */
const STAGES = [
  { weights: [0.9, 0.1], minExposures: 100, minDurationHours: 24 },
  { weights: [0.5, 0.5], minExposures: 500, minDurationHours: 48 },
  { weights: [0.25, 0.75], minExposures: 0, minDurationHours: 0 },
];

async function runningRollout(stages = STAGES) {
  const name = await createTextPrompt("Hello {{customer}}", ["production"]);
  await addVersion(name, "Hi there {{customer}}!");
  const created = await api("POST", "/projects/default/experiments", {
    prompt: name,
    label: "production",
    key: uniqueKey(),
    unit: "user id",
    control: { weight: stages[0]?.weights[0] },
    variants: [{ key: "new", version: 2, weight: stages[0]?.weights[1] }],
    metrics: { primary: { kind: "error_rate" } },
    stages,
  });
  expect(created.status, await created.clone().text()).toBe(201);
  const { id } = await json<{ id: string }>(created);
  const started = await api("POST", `/projects/default/experiments/${id}/start`);
  expect(started.status).toBe(200);
  const { startedAt } = await json<{ startedAt: string }>(started);
  return { id, name, startedAt: Date.parse(startedAt) };
}

async function setExposures(id: string, units: Record<string, number> | null) {
  const response = await env.TELEMETRY.fetch("http://telemetry.test/__test/exposures", {
    method: "POST",
    body: JSON.stringify({ projectId: "default", experimentId: id, units }),
  });
  expect(response.status).toBe(204);
}

async function exposureQueries(id: string): Promise<number> {
  const response = await env.TELEMETRY.fetch(
    `http://telemetry.test/__test/exposure-requests?experimentId=${id}`,
  );
  return ((await response.json()) as string[]).length;
}

async function rowOf(id: string) {
  const [row] = await db.select().from(experiments).where(eq(experiments.id, id));
  return row!;
}

async function pointerOf(name: string): Promise<LabelPointer> {
  return (await env.PROMPTS_KV.get(
    labelPointerKey("default", name, "production"),
    "json",
  )) as LabelPointer;
}

const weightsOf = (pointer: LabelPointer) =>
  pointer.experiment?.variants.map((variant) => variant.weight);

async function advancesOf(id: string) {
  const audit = await db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.target, id), eq(auditLog.action, "experiment.stage_advance")))
    .orderBy(asc(auditLog.id));
  const events = await db
    .select()
    .from(outbox)
    .where(and(eq(outbox.eventType, "experiment.stage_advanced"), gt(outbox.id, 0)))
    .orderBy(asc(outbox.id));
  return {
    audit: audit.map((row) => ({
      actor: row.actor,
      actorRole: row.actorRole,
      before: row.before,
      after: row.after,
    })),
    events: events
      .map((row) => row.payload as { experiment: { id: string }; stage: number })
      .filter((payload) => payload.experiment.id === id),
  };
}

/** Runs the schedule at `at` and says whether this experiment advanced. */
async function runAt(id: string, at: number) {
  const report = await advanceRollouts(platform, telemetry, new Date(at));
  return report.advanced.some((advanced) => advanced.id === id);
}

describe("the rollout schedule", () => {
  it("advances only once the stage has both its minimum duration and its minimum exposure", async () => {
    const { id, name, startedAt } = await runningRollout();
    await setExposures(id, { control: 900, new: 100 });
    // Enough exposure, not enough time: telemetry is not even asked.
    expect(await runAt(id, startedAt + 23 * HOUR)).toBe(false);
    expect(await exposureQueries(id)).toBe(0);
    // Enough time, not enough exposure (99 distinct units in all).
    await setExposures(id, { control: 90, new: 9 });
    expect(await runAt(id, startedAt + 25 * HOUR)).toBe(false);
    expect((await rowOf(id)).stage).toBe(0);
    expect(weightsOf(await pointerOf(name))).toEqual([0.9, 0.1]);
    // Both.
    await setExposures(id, { control: 90, new: 10 });
    const advancedAt = startedAt + 25 * HOUR;
    expect(await runAt(id, advancedAt)).toBe(true);

    const row = await rowOf(id);
    expect(row.stage).toBe(1);
    expect(row.stageStartedAt).toBe(new Date(advancedAt).toISOString());
    expect(row.controlWeight).toBe(0.5);
    expect(row.variants).toEqual([{ key: "new", version: 2, weight: 0.5 }]);
    const pointer = await pointerOf(name);
    expect(weightsOf(pointer)).toEqual([0.5, 0.5]);
    expect(pointer.experiment?.seed).toBe(`${id}:1`);

    const { audit, events } = await advancesOf(id);
    expect(audit).toEqual([
      {
        actor: "schedule:rollout",
        actorRole: "system",
        before: { stage: 0, weights: { control: 0.9, new: 0.1 } },
        after: { stage: 1, weights: { control: 0.5, new: 0.5 } },
      },
    ]);
    expect(events).toEqual([
      expect.objectContaining({
        experiment: { id, key: row.key },
        label: "production",
        controlVersion: 1,
        stage: 1,
      }),
    ]);
  });

  it("is idempotent: a second run at the same time advances nothing more", async () => {
    const { id, name, startedAt } = await runningRollout();
    await setExposures(id, { control: 5000, new: 5000 });
    const at = startedAt + 24 * HOUR;
    expect(await runAt(id, at)).toBe(true);
    expect(await runAt(id, at)).toBe(false);
    expect((await rowOf(id)).stage).toBe(1);
    expect((await advancesOf(id)).audit).toHaveLength(1);
    // The next stage counts its duration from its own start: 48 h after the advance.
    expect(await runAt(id, at + 47 * HOUR)).toBe(false);
    expect(await runAt(id, at + 48 * HOUR)).toBe(true);
    expect(weightsOf(await pointerOf(name))).toEqual([0.25, 0.75]);
    // The last stage has nowhere to go.
    expect(await runAt(id, at + 1000 * HOUR)).toBe(false);
    expect((await rowOf(id)).stage).toBe(2);
    expect((await advancesOf(id)).events.map((event) => event.stage)).toEqual([1, 2]);
  });

  it("keeps treated units treated across the published weights of every stage", async () => {
    const { id, name, startedAt } = await runningRollout();
    await setExposures(id, { control: 5000, new: 5000 });
    const published = [(await pointerOf(name)).experiment!];
    expect(await runAt(id, startedAt + 24 * HOUR)).toBe(true);
    published.push((await pointerOf(name)).experiment!);
    expect(await runAt(id, startedAt + 72 * HOUR)).toBe(true);
    published.push((await pointerOf(name)).experiment!);
    expect(published.map((experiment) => experiment.variants.map((v) => v.weight))).toEqual([
      [0.9, 0.1],
      [0.5, 0.5],
      [0.25, 0.75],
    ]);
    const assignable = (experiment: (typeof published)[number]) => ({
      seed: experiment.seed,
      hashVersion: experiment.hashVersion,
      coverage: experiment.coverage,
      weights: experiment.variants.map((variant) => variant.weight),
    });
    const treatedAt = published.map((experiment) => {
      const treated = new Set<string>();
      for (let i = 0; i < 10_000; i++) {
        if (assign(assignable(experiment), `user-${i}`).variant === 1) treated.add(`user-${i}`);
      }
      return treated;
    });
    // Roughly the share each stage promises (10,000 units: ±3 points is over 6 standard errors;
    // the seed is the experiment's random id), and nobody treated before is back on the control.
    treatedAt.forEach((treated, stage) => {
      expect(Math.abs(treated.size / 10_000 - [0.1, 0.5, 0.75][stage]!)).toBeLessThan(0.03);
    });
    for (let stage = 1; stage < treatedAt.length; stage++) {
      const lost = [...(treatedAt[stage - 1] as Set<string>)].filter(
        (unit) => !treatedAt[stage]?.has(unit),
      );
      expect(lost).toEqual([]);
    }
  });

  it("does not advance paused experiments, nor without telemetry, nor while telemetry is down", async () => {
    const paused = await runningRollout();
    await setExposures(paused.id, { control: 5000, new: 5000 });
    expect((await api("POST", `/projects/default/experiments/${paused.id}/pause`)).status).toBe(
      200,
    );
    expect(await runAt(paused.id, paused.startedAt + 100 * HOUR)).toBe(false);

    const { id, startedAt } = await runningRollout();
    await setExposures(id, { control: 5000, new: 5000 });
    const without = await advanceRollouts(
      platform,
      new NoopTelemetryReader(),
      new Date(startedAt + 100 * HOUR),
    );
    expect(without.advanced).toEqual([]);
    await setExposures(id, null);
    const down = await advanceRollouts(platform, telemetry, new Date(startedAt + 100 * HOUR));
    expect(down.advanced.some((advanced) => advanced.id === id)).toBe(false);
    expect(down.failed).toBeGreaterThan(0);
    expect((await rowOf(id)).stage).toBe(0);
  });

  it("runs from the worker's cron handler", async () => {
    const { id, name } = await runningRollout([
      { weights: [0.9, 0.1], minExposures: 10, minDurationHours: 0 },
      { weights: [0.5, 0.5], minExposures: 0, minDurationHours: 0 },
    ]);
    await setExposures(id, { control: 9, new: 1 });
    const ctx = createExecutionContext();
    await worker.scheduled(
      createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }),
      env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect((await rowOf(id)).stage).toBe(1);
    expect(weightsOf(await pointerOf(name))).toEqual([0.5, 0.5]);
  });
});
