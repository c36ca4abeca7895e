import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import type { TelemetryEvent } from "@cuecard/core/telemetry";
import { describe, expect, it } from "vitest";
import { replayDeadEvents } from "../../workers/telemetry/consumer";
import worker from "../../workers/telemetry/index";
import type { TelemetryMessage } from "../../workers/telemetry/ingest";
import { DEDUP_WINDOW_MS } from "../../workers/telemetry/prune";
import {
  deliver,
  generation,
  generationTotals,
  newId,
  newProject,
  score,
  scoreRows,
  waitForCalls,
} from "./harness";

const message = (projectId: string, events: TelemetryEvent[]): TelemetryMessage => ({
  projectId,
  events,
});

/** A D1 database whose batches fail: `down` refuses the whole batch, `late` breaks its last statement. */
function faultyD1(mode: "down" | "late", failures = 1): D1Database {
  let remaining = failures;
  const d1 = env.TELEMETRY_DB;
  return new Proxy(d1, {
    get(target, property, receiver) {
      if (property === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          if (remaining > 0) {
            remaining--;
            if (mode === "down") throw new Error("injected fault: D1 unavailable");
            // Everything before the last rollup runs, then the batch fails: it must roll back.
            const broken = [
              ...statements.slice(0, -1),
              target.prepare("INSERT INTO no_such_table VALUES (1)"),
            ];
            return target.batch(broken);
          }
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function rawRowCount(project: string): Promise<number> {
  const row = await env.TELEMETRY_DB.prepare(
    "SELECT count(*) AS n FROM ingested_events WHERE project_id = ?1",
  )
    .bind(project)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe("the telemetry consumer", () => {
  it("acks a batch and counts a redelivered message once", async () => {
    const project = newProject();
    const body = message(project, [generation({ latencyMs: 50 }), generation({ latencyMs: 70 })]);
    const first = await deliver([body]);
    expect(first.ackAll).toBe(true);
    await deliver([body]);
    await deliver([body, body]);
    expect((await generationTotals(project)).calls).toBe(2);
  });

  it("counts an event once when it comes back in another message with new ones", async () => {
    const project = newProject();
    const [a, b, c] = [generation(), generation(), generation()];
    await deliver([message(project, [a, b])]);
    await deliver([message(project, [b, c]), message(project, [a])]);
    expect((await generationTotals(project)).calls).toBe(3);
  });

  it("retries the whole batch when D1 is down, and after recovery counts every event once", async () => {
    const project = newProject();
    const body = message(project, [generation(), generation(), generation()]);
    const failed = await deliver([body], { env: { ...env, TELEMETRY_DB: faultyD1("down") } });
    expect(failed.ackAll).toBe(false);
    expect(failed.retryBatch.retry).toBe(true);
    expect(await rawRowCount(project)).toBe(0);

    const recovered = await deliver([body], { attempts: 2 });
    expect(recovered.ackAll).toBe(true);
    await deliver([body], { attempts: 3 });
    expect((await generationTotals(project)).calls).toBe(3);
  });

  it("applies nothing of a batch that fails part-way (one transaction), then counts it once", async () => {
    const project = newProject();
    const gen = generation();
    const body = message(project, [gen, generation(), score(gen.id)]);
    const failed = await deliver([body], { env: { ...env, TELEMETRY_DB: faultyD1("late") } });
    expect(failed.retryBatch.retry).toBe(true);
    // The inserts and most rollups ran before the failure; none of them stayed.
    expect(await rawRowCount(project)).toBe(0);
    expect((await generationTotals(project)).calls).toBe(0);

    await deliver([body], { attempts: 2 });
    expect((await generationTotals(project)).calls).toBe(2);
    expect(await scoreRows(project)).toMatchObject([{ name: "helpful", n: 1, sum: 1 }]);
  });

  it("parks a score that arrives before its generation and applies it under the generation's keys", async () => {
    const project = newProject();
    const gen = generation({
      prompt: { name: "support/triage", version: 3, label: "staging" },
      experiment: { id: "exp_1", key: "tone", variant: "friendly" },
      unit: "user-1",
    });
    const early = score(gen.id, { name: "rating", value: 4 });
    await deliver([message(project, [early])]);
    expect(await scoreRows(project)).toEqual([]);

    await deliver([message(project, [gen])]);
    expect(await scoreRows(project)).toMatchObject([
      {
        prompt_name: "support/triage",
        prompt_version: 3,
        label: "staging",
        name: "rating",
        n: 1,
        sum: 4,
        sum_squares: 16,
      },
    ]);
    // Redelivering either one adds nothing.
    await deliver([message(project, [early]), message(project, [gen])]);
    expect(await scoreRows(project)).toMatchObject([{ n: 1, sum: 4 }]);

    const unitScores = await env.TELEMETRY_DB.prepare(
      "SELECT experiment_id, variant, unit, name, n, sum FROM experiment_unit_scores WHERE project_id = ?1",
    )
      .bind(project)
      .all();
    expect(unitScores.results).toEqual([
      { experiment_id: "exp_1", variant: "friendly", unit: "user-1", name: "rating", n: 1, sum: 4 },
    ]);
  });

  it("rolls up booleans as 0/1 and leaves categorical scores out of the numbers", async () => {
    const project = newProject();
    const gen = generation();
    await deliver([
      message(project, [
        gen,
        score(gen.id, { name: "thumbs", value: true }),
        score(gen.id, { name: "thumbs", value: false }),
        score(gen.id, { name: "topic", value: "billing" }),
      ]),
    ]);
    expect(await scoreRows(project)).toMatchObject([
      { name: "thumbs", n: 2, sum: 1, sum_squares: 1 },
    ]);
  });

  it("counts distinct units per variant, each under its first exposure's variant", async () => {
    const project = newProject();
    const exposure = (unit: string, variant: string, timestamp: string): TelemetryEvent => ({
      type: "exposure",
      id: newId("exp"),
      timestamp,
      unit,
      experiment: { id: "exp_tone", key: "tone", variant },
      prompt: { name: "support/triage", version: 1 },
    });
    const early = new Date(Date.now() - 3_600_000).toISOString();
    const late = new Date().toISOString();
    await deliver([
      message(project, [
        exposure("u1", "a", early),
        exposure("u1", "a", late),
        exposure("u2", "b", early),
      ]),
    ]);
    // u2 was seen in b first; a later report of a does not move it.
    await deliver([message(project, [exposure("u2", "a", late), exposure("u3", "a", late)])]);
    const response = await exports.default.fetch(
      `http://telemetry.internal/internal/projects/${project}/experiments/exp_tone/exposures`,
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      experimentId: "exp_tone",
      variants: [
        { variant: "a", units: 2, exposures: 3 },
        { variant: "b", units: 1, exposures: 2 },
      ],
    });
  });

  it("keeps dead-lettered messages whole, and a replay counts them once", async () => {
    const project = newProject();
    const body = message(project, [generation(), generation()]);
    const dead = await deliver([body], { queue: "cuecard-telemetry-dlq", attempts: 11 });
    expect(dead.ackAll).toBe(true);
    const kept = await env.TELEMETRY_DB.prepare(
      "SELECT body, attempts FROM dead_events WHERE body LIKE ?1",
    )
      .bind(`%${project}%`)
      .first<{ body: string; attempts: number }>();
    expect(kept && JSON.parse(kept.body)).toEqual(body);
    expect(kept?.attempts).toBe(11);

    // Replayed through the real queue; the worker's consumer counts the events.
    expect(await replayDeadEvents(env.TELEMETRY_DB, env.TELEMETRY_EVENTS)).toBeGreaterThanOrEqual(
      1,
    );
    await waitForCalls(project, 2);
    expect(await replayDeadEvents(env.TELEMETRY_DB, env.TELEMETRY_EVENTS)).toBe(0);
  });

  it("prunes raw events past the dedup window on the cron, keeping the rollups", async () => {
    const project = newProject();
    const now = Date.now();
    const old = generation({
      timestamp: new Date(now - DEDUP_WINDOW_MS - 3_600_000).toISOString(),
    });
    const recent = generation({
      timestamp: new Date(now - DEDUP_WINDOW_MS + 3_600_000).toISOString(),
    });
    await deliver([message(project, [old, recent])]);
    expect(await rawRowCount(project)).toBe(2);

    const ctx = createExecutionContext();
    await worker.scheduled(
      createScheduledController({ scheduledTime: now, cron: "17 * * * *" }),
      env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    const { results } = await env.TELEMETRY_DB.prepare(
      "SELECT event_id FROM ingested_events WHERE project_id = ?1",
    )
      .bind(project)
      .all<{ event_id: string }>();
    expect(results.map((row) => row.event_id)).toEqual([recent.id]);
    expect((await generationTotals(project)).calls).toBe(2);
  });
});
