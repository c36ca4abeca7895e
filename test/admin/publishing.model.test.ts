import { env } from "cloudflare:workers";
import type { LabelPointer, PublishedVersion } from "@cuecard/core/kv-records";
import { eq } from "drizzle-orm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { moveLabel, rollbackLabel } from "../../workers/modules/prompts/labels";
import { createPrompt, createVersion, findPrompt } from "../../workers/modules/prompts/prompts";
import type { EventMessage } from "../../workers/platform/context";
import { openDatabase } from "../../workers/platform/db/client";
import { labels, outbox, versions } from "../../workers/platform/db/schema";
import { consumeEvents } from "../../workers/platform/events-consumer";
import { eventMessageOf, retryPendingOutbox } from "../../workers/platform/outbox";
import { failingKv, testContext } from "./faults";

/**
 * Model-based test: random sequences of create version / move label / rollback / a crash before
 * publishing / redelivered events / cron drain. After every step: versions never change and every
 * label points at an existing version, in D1 and in KV. After draining: KV equals D1.
 */

const db = openDatabase(env.DB);
/** Reads as the project's admin, as the verbs require. */
const asAdmin = testContext();
const LABELS = ["production", "staging"] as const;

interface Model {
  name: string;
  /** hash of each version as first seen */
  hashes: Map<number, string>;
  /** the next mutation runs while KV is down */
  kvDown: boolean;
}
type Real = Record<string, never>;

function ctx(model: Model) {
  const context = testContext(model.kvDown ? { kv: failingKv() } : {});
  model.kvDown = false;
  return context;
}

async function ignoreConflicts(action: Promise<unknown>) {
  await action.catch((error) => {
    if (![404, 409].includes(error?.status)) throw error;
  });
}

class CreateVersion implements fc.AsyncCommand<Model, Real> {
  constructor(readonly label: (typeof LABELS)[number] | null) {}
  check = () => true;
  async run(model: Model) {
    const prompt = await findPrompt(asAdmin, "default", model.name);
    const created = await createVersion(ctx(model), prompt, {
      prompt: `v${prompt.latestVersion + 1} {{x}}`,
      labels: this.label ? [this.label] : [],
    });
    model.hashes.set(created.version, created.hash);
  }
  toString = () => `createVersion(${this.label})`;
}

class MoveLabel implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly label: (typeof LABELS)[number],
    readonly pick: number,
  ) {}
  check = () => true;
  async run(model: Model) {
    const prompt = await findPrompt(asAdmin, "default", model.name);
    const version = 1 + (this.pick % prompt.latestVersion);
    await ignoreConflicts(moveLabel(ctx(model), prompt, this.label, { version }));
  }
  toString = () => `move(${this.label}, #${this.pick})`;
}

class Rollback implements fc.AsyncCommand<Model, Real> {
  constructor(readonly label: (typeof LABELS)[number]) {}
  check = () => true;
  async run(model: Model) {
    const prompt = await findPrompt(asAdmin, "default", model.name);
    await ignoreConflicts(rollbackLabel(ctx(model), prompt, this.label, {}));
  }
  toString = () => `rollback(${this.label})`;
}

class CrashBeforePublish implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(model: Model) {
    model.kvDown = true;
  }
  toString = () => "crashBeforeNextPublish";
}

class RedeliverEvents implements fc.AsyncCommand<Model, Real> {
  constructor(readonly reversed: boolean) {}
  check = () => true;
  async run(model: Model) {
    const rows = (await db.select().from(outbox)).filter((row) =>
      row.publishTarget?.startsWith(`prompt:${model.name}`),
    );
    const ordered = this.reversed ? rows.reverse() : rows;
    const acked: string[] = [];
    const batch = {
      queue: "cuecard-events",
      messages: ordered.map((row, i) => ({
        id: String(i),
        timestamp: new Date(),
        attempts: 1,
        body: eventMessageOf(row),
        ack: () => acked.push(String(i)),
        retry: () => {},
      })),
      ackAll: () => {},
      retryAll: () => {},
    } as unknown as MessageBatch<EventMessage>;
    await consumeEvents(batch, testContext());
  }
  toString = () => `redeliver(${this.reversed ? "newest first" : "oldest first"})`;
}

class Drain implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run() {
    await retryPendingOutbox(testContext());
  }
  toString = () => "cronDrain";
}

async function d1State(name: string) {
  const prompt = await findPrompt(asAdmin, "default", name);
  const rows = await db.select().from(versions).where(eq(versions.promptId, prompt.id));
  const labelRows = await db.select().from(labels).where(eq(labels.promptId, prompt.id));
  return { prompt, versions: rows, labels: labelRows };
}

async function checkInvariants(model: Model) {
  const state = await d1State(model.name);
  for (const row of state.versions) {
    expect(model.hashes.get(row.version) ?? row.hash).toBe(row.hash);
  }
  const existing = new Set(state.versions.map((v) => v.version));
  for (const label of state.labels) expect(existing.has(label.version)).toBe(true);
  // KV: a pointer never names a version whose key is missing.
  const pointers = await env.PROMPTS_KV.list({ prefix: `p/default/${model.name}@` });
  for (const key of pointers.keys) {
    const pointer = await env.PROMPTS_KV.get<LabelPointer>(key.name, "json");
    for (const target of pointer?.targets ?? []) {
      expect(await env.PROMPTS_KV.get(`v/default/${model.name}#${target.version}`)).not.toBeNull();
    }
  }
}

async function expectKvEqualsD1(name: string) {
  const state = await d1State(name);
  const pointers = await env.PROMPTS_KV.list({ prefix: `p/default/${name}@` });
  expect(pointers.keys.map((k) => k.name.split("@")[1]).sort()).toEqual(
    state.labels.map((l) => l.name).sort(),
  );
  for (const label of state.labels) {
    const pointer = await env.PROMPTS_KV.get<LabelPointer>(
      `p/default/${name}@${label.name}`,
      "json",
    );
    expect(pointer?.targets).toEqual([{ version: label.version, weight: 1 }]);
    expect(pointer?.rev).toBe(label.rev);
  }
  for (const row of state.versions) {
    const published = await env.PROMPTS_KV.get<PublishedVersion>(
      `v/default/${name}#${row.version}`,
      "json",
    );
    expect(published?.hash).toBe(row.hash);
  }
}

let run = 0;
describe("publishing model", () => {
  it("keeps versions immutable, labels valid, and KV converging to D1 under faults", async () => {
    const labelArb = fc.constantFrom(...LABELS);
    const commands = [
      fc.option(labelArb, { nil: null }).map((label) => new CreateVersion(label)),
      fc.tuple(labelArb, fc.nat(20)).map(([label, pick]) => new MoveLabel(label, pick)),
      labelArb.map((label) => new Rollback(label)),
      fc.constant(new CrashBeforePublish()),
      fc.boolean().map((reversed) => new RedeliverEvents(reversed)),
      fc.constant(new Drain()),
    ];
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 12 }), async (cmds) => {
        run += 1;
        const name = `model/run-${run}-${Math.random().toString(36).slice(2, 7)}`;
        const created = await createPrompt(testContext(), "default", {
          name,
          version: { prompt: "v1 {{x}}", labels: ["production"] },
        });
        const model: Model = {
          name,
          hashes: new Map([[1, created.version?.hash ?? ""]]),
          kvDown: false,
        };
        await fc.asyncModelRun(
          () => ({ model, real: {} }),
          [...cmds].map((command) => ({
            check: () => true,
            run: async (m: Model, r: Real) => {
              await command.run(m, r);
              await checkInvariants(m);
            },
            toString: () => command.toString(),
          })),
        );
        await retryPendingOutbox(testContext());
        await expectKvEqualsD1(name);
      }),
      { numRuns: 12, seed: 20261123, endOnFailure: true },
    );
  }, 120_000);
});
