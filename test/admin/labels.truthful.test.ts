import { env } from "cloudflare:workers";
import { and, asc, eq, like } from "drizzle-orm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { findPrompt } from "../../workers/modules/prompts/prompts";
import { openDatabase } from "../../workers/platform/db/client";
import { auditLog, labelHistory, labels, outbox } from "../../workers/platform/db/schema";
import { addVersion, api, createTextPrompt, enc, json, uniqueName } from "./api";
import { testContext } from "./faults";

/**
 * What is recorded about a label move — its history row, its audit row, its event — says what
 * the move really replaced, even when moves race, and a move that changes nothing records nothing.
 */

const db = openDatabase(env.DB);
/** Reads as the project's admin, as the verbs require. */
const asAdmin = testContext();

interface Move {
  label: string;
  from: number | null;
  to: number | null;
  isRollback: boolean;
}

async function historyOf(name: string): Promise<Move[]> {
  const prompt = await findPrompt(asAdmin, "default", name);
  const rows = await db
    .select()
    .from(labelHistory)
    .where(eq(labelHistory.promptId, prompt.id))
    .orderBy(asc(labelHistory.id));
  return rows.map((row) => ({
    label: row.label,
    from: row.fromVersion,
    to: row.toVersion,
    isRollback: row.isRollback,
  }));
}

/** The label audit rows of a prompt, as moves. */
async function auditedMoves(name: string): Promise<Move[]> {
  const rows = await db
    .select()
    .from(auditLog)
    .where(and(like(auditLog.target, `${name}@%`), eq(auditLog.targetType, "label")))
    .orderBy(asc(auditLog.id));
  return rows.map((row) => {
    const before = row.before as { version: number } | null;
    const after = row.after as { version: number } | null;
    return {
      label: row.target.slice(name.length + 1),
      from: before?.version ?? null,
      to: row.action === "label.delete" ? null : (after?.version ?? null),
      isRollback: row.action === "label.rollback",
    };
  });
}

/** The label events of a prompt in the outbox, as moves. */
async function announcedMoves(name: string): Promise<Move[]> {
  const rows = await db.select().from(outbox).orderBy(asc(outbox.id));
  return rows
    .filter((row) => ["prompt.label.moved", "prompt.label.deleted"].includes(row.eventType))
    .map(
      (row) =>
        row.payload as {
          prompt: { name: string };
          label: string;
          fromVersion: number | null;
          toVersion?: number | null;
          isRollback?: boolean;
        },
    )
    .filter((payload) => payload.prompt.name === name)
    .map((payload) => ({
      label: payload.label,
      from: payload.fromVersion,
      to: payload.toVersion ?? null,
      isRollback: payload.isRollback ?? false,
    }));
}

/** How many moves each record holds now: what a test does after this is compared from here. */
async function marks(name: string) {
  return {
    history: (await historyOf(name)).length,
    audit: (await auditedMoves(name)).length,
    events: (await announcedMoves(name)).length,
  };
}

async function expectRecordsSince(name: string, since: Awaited<ReturnType<typeof marks>>) {
  const history = (await historyOf(name)).slice(since.history);
  expect((await auditedMoves(name)).slice(since.audit)).toEqual(history);
  expect((await announcedMoves(name)).slice(since.events)).toEqual(history);
  return history;
}

const labelPath = (name: string, label: string) =>
  `/projects/default/prompts/${enc(name)}/labels/${label}`;

describe("label moves are recorded and announced truthfully", () => {
  it("racing moves: every audit row and event names what the move replaced in the history", async () => {
    const name = await createTextPrompt("one", ["production"]);
    await addVersion(name, "two");
    await addVersion(name, "three");
    const since = await marks(name);
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        api("PUT", labelPath(name, "production"), { version: 1 + (i % 3) }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
    const made = await expectRecordsSince(name, since);
    expect(made[0]?.from).toBe(1);
    for (let i = 1; i < made.length; i++) expect(made[i]?.from).toBe(made[i - 1]?.to);
  });

  it("a move to the version the label already serves records nothing and answers changed: false", async () => {
    const name = await createTextPrompt("one", ["production"]);
    await addVersion(name, "two");
    const since = await marks(name);
    // Ten identical moves at once: one moves the label, nine find it already there.
    const bodies = await Promise.all(
      Array.from({ length: 10 }, async () =>
        json(await api("PUT", labelPath(name, "production"), { version: 2 })),
      ),
    );
    expect(bodies.filter((body) => body.changed === true)).toHaveLength(1);
    expect(bodies.filter((body) => body.changed === false)).toHaveLength(9);
    for (const body of bodies) expect(body.label).toMatchObject({ name: "production", version: 2 });
    expect(await expectRecordsSince(name, since)).toEqual([
      { label: "production", from: 1, to: 2, isRollback: false },
    ]);
    const history = await historyOf(name);

    // Sequentially too: nothing written, the label's rev unchanged.
    const again = await json(await api("PUT", labelPath(name, "production"), { version: 2 }));
    expect(again).toMatchObject({ changed: false, label: { version: 2 } });
    expect(await historyOf(name)).toEqual(history);
    expect(await expectRecordsSince(name, since)).toHaveLength(1);
  });

  it("a delete records the version the label pointed at when it was deleted", async () => {
    const name = await createTextPrompt("one", ["staging"]);
    await addVersion(name, "two", ["staging"]);
    const since = await marks(name);
    const response = await api("DELETE", labelPath(name, "staging"));
    expect(response.status).toBe(204);
    expect(await expectRecordsSince(name, since)).toEqual([
      { label: "staging", from: 2, to: null, isRollback: false },
    ]);
  });
});

describe("moving labels by creating versions", () => {
  it("POST …/versions with labels announces each label it moved, latest included, with from and to", async () => {
    const name = await createTextPrompt("one", ["production"]);
    await addVersion(name, "two", ["production"]);
    expect(await announcedMoves(name)).toEqual([
      { label: "latest", from: null, to: 1, isRollback: false },
      { label: "production", from: null, to: 1, isRollback: false },
      { label: "latest", from: 1, to: 2, isRollback: false },
      { label: "production", from: 1, to: 2, isRollback: false },
    ]);
    expect(await auditedMoves(name)).toEqual(await historyOf(name));
  });

  it("POST …/prompts with version.labels announces the labels it created", async () => {
    const name = uniqueName();
    const response = await api("POST", "/projects/default/prompts", {
      name,
      version: { prompt: "hi", labels: ["staging", "production"] },
    });
    expect(response.status).toBe(201);
    const moved = await announcedMoves(name);
    expect(moved).toEqual([
      { label: "latest", from: null, to: 1, isRollback: false },
      { label: "staging", from: null, to: 1, isRollback: false },
      { label: "production", from: null, to: 1, isRollback: false },
    ]);
    const events = (await db.select().from(outbox)).filter(
      (row) => (row.payload as { prompt?: { name: string } }).prompt?.name === name,
    );
    // Each event has its own id (the webhook's dedup key) and reaches the queue.
    expect(new Set(events.map((row) => row.eventId)).size).toBe(events.length);
    for (const row of events) expect(row.enqueuedAt).not.toBeNull();
  });
});

type Op =
  | { kind: "move"; label: "production" | "staging"; version: number }
  | { kind: "rollback"; label: "production" | "staging" }
  | { kind: "delete"; label: "production" | "staging" };

function request(name: string, op: Op): Promise<Response> {
  const path = labelPath(name, op.label);
  if (op.kind === "move") return api("PUT", path, { version: op.version });
  if (op.kind === "rollback") return api("POST", `${path}/rollback`, {});
  return api("DELETE", path);
}

let run = 0;
describe("label moves under concurrency (property)", () => {
  it("for any interleaving of moves, rollbacks and deletes, audit and events equal the history", async () => {
    const labelArb = fc.constantFrom("production" as const, "staging" as const);
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant("move" as const),
          label: labelArb,
          version: fc.integer({ min: 1, max: 3 }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({ kind: fc.constant("rollback" as const), label: labelArb }),
      },
      {
        weight: 1,
        arbitrary: fc.record({ kind: fc.constant("delete" as const), label: labelArb }),
      },
    );
    // Rounds of requests issued together (they race in the worker), one round after another.
    const roundsArb = fc.array(fc.array(opArb, { minLength: 1, maxLength: 8 }), {
      minLength: 1,
      maxLength: 3,
    });
    await fc.assert(
      fc.asyncProperty(roundsArb, async (rounds) => {
        run += 1;
        const name = `race/run-${run}-${Math.random().toString(36).slice(2, 7)}`;
        const created = await api("POST", "/projects/default/prompts", {
          name,
          version: { prompt: "v1", labels: ["production"] },
        });
        expect(created.status).toBe(201);
        await addVersion(name, "v2");
        await addVersion(name, "v3", ["staging"]);
        const setup = (await historyOf(name)).length;

        let changedMoves = 0;
        let deletes = 0;
        for (const round of rounds) {
          const responses = await Promise.all(round.map((op) => request(name, op)));
          for (const [i, response] of responses.entries()) {
            const op = round[i] as Op;
            // Refusals are conflicts or a label that is gone, never a server error.
            expect([200, 204, 404, 409]).toContain(response.status);
            if (response.status >= 400) {
              expect(response.headers.get("content-type")).toBe("application/problem+json");
              continue;
            }
            if (op.kind === "delete") {
              deletes++;
              continue;
            }
            const body = await json<{ changed: boolean; label: { version: number } }>(response);
            if (body.changed) changedMoves++;
            if (op.kind === "move") expect(body.label.version).toBe(op.version);
          }
        }

        const history = await historyOf(name);
        const made = history.slice(setup);
        // Every answered change is in the history, and nothing else is.
        expect(made.filter((move) => move.to !== null)).toHaveLength(changedMoves);
        expect(made.filter((move) => move.to === null)).toHaveLength(deletes);
        // No move from a version to itself is ever recorded.
        expect(history.filter((move) => move.from === move.to)).toEqual([]);
        // The history is a chain per label: each move starts where the previous one ended.
        for (const label of ["latest", "production", "staging"]) {
          const chain = history.filter((move) => move.label === label);
          for (let i = 0; i < chain.length; i++) {
            expect(chain[i]?.from).toBe(i === 0 ? null : chain[i - 1]?.to);
          }
          const prompt = await findPrompt(asAdmin, "default", name);
          const current = await db.query.labels.findFirst({
            where: and(eq(labels.promptId, prompt.id), eq(labels.name, label)),
          });
          expect(current?.version ?? null).toBe(chain[chain.length - 1]?.to ?? null);
        }
        expect(await auditedMoves(name)).toEqual(history);
        expect(await announcedMoves(name)).toEqual(history);
      }),
      { numRuns: 15, seed: 20260801, endOnFailure: true },
    );
  }, 240_000);
});
