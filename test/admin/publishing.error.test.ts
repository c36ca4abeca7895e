import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { LabelPointer } from "@cuecard/core/kv-records";
import { count, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import worker from "../../workers/admin";
import { deleteLabel, moveLabel } from "../../workers/modules/prompts/labels";
import {
  createPrompt,
  createVersion,
  findPrompt,
  updatePrompt,
} from "../../workers/modules/prompts/prompts";
import { republishProject } from "../../workers/modules/prompts/publish";
import type { EventMessage } from "../../workers/platform/context";
import { openDatabase } from "../../workers/platform/db/client";
import { auditLog, labelHistory, outbox, prompts } from "../../workers/platform/db/schema";
import { eventMessageOf, retryPendingOutbox } from "../../workers/platform/outbox";
import { addVersion, api, createTextPrompt, enc, json, uniqueName } from "./api";
import { d1FailingLateInBatch, failingKv, failingQueue, testContext } from "./faults";

const db = openDatabase(env.DB);
/** Reads as the project's admin, as the verbs require. */
const asAdmin = testContext();

async function pointer(name: string, label = "production") {
  return env.PROMPTS_KV.get<LabelPointer>(`p/default/${name}@${label}`, "json");
}

async function pendingOutbox() {
  const rows = await db.select().from(outbox);
  return rows.filter((row) => !row.publishedAt || !row.enqueuedAt);
}

describe("publishing guarantees", () => {
  it("a statement failing late in a batch writes nothing: no prompt, version, audit or outbox row", async () => {
    const name = uniqueName();
    const before = await db.select({ n: count() }).from(auditLog);
    const ctx = testContext({ d1: d1FailingLateInBatch() });
    await expect(
      createPrompt(ctx, "default", { name, version: { prompt: "x", labels: ["production"] } }),
    ).rejects.toMatchObject({ status: 500, code: "internal_error" });
    expect(await db.select().from(prompts).where(eq(prompts.name, name))).toEqual([]);
    expect(await db.select({ n: count() }).from(auditLog)).toEqual(before);
    expect(
      (await db.select().from(outbox)).some((row) => JSON.stringify(row.payload).includes(name)),
    ).toBe(false);
    expect(await pointer(name)).toBeNull();
  });

  it("the 500 for a failed batch carries a request id and no SQL", async () => {
    const ctx = testContext({ d1: d1FailingLateInBatch() });
    const error = await createPrompt(ctx, "default", { name: uniqueName(), type: "text" }).catch(
      (e) => e,
    );
    expect(error.message).not.toMatch(/no_such_table|INSERT|SQL/i);
  });

  it("two label moves racing with the same expected rev: exactly one wins, one audit row, one outbox row", async () => {
    const name = await createTextPrompt("one", ["production"]);
    await addVersion(name, "two");
    await addVersion(name, "three");
    const path = `/projects/default/prompts/${enc(name)}/labels/production`;
    const { rev } = (
      await json(await api("GET", `/projects/default/prompts/${enc(name)}`))
    ).labels.find((l: { name: string }) => l.name === "production");
    const auditBefore = await db
      .select({ n: count() })
      .from(auditLog)
      .where(eq(auditLog.target, `${name}@production`));

    const results = await Promise.all([
      api("PUT", path, { version: 2, expectedRev: rev }),
      api("PUT", path, { version: 3, expectedRev: rev }),
    ]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409]);
    const loser = results.find((r) => r.status === 409);
    expect(loser?.headers.get("content-type")).toBe("application/problem+json");
    expect(await loser?.json()).toMatchObject({ code: "stale_revision" });

    const auditAfter = await db
      .select({ n: count() })
      .from(auditLog)
      .where(eq(auditLog.target, `${name}@production`));
    expect(auditAfter[0]!.n - auditBefore[0]!.n).toBe(1);
    // Creating the prompt and its versions moved labels too; only the race's moves count here.
    const moves = (await db.select().from(outbox)).filter(
      (row) =>
        row.eventType === "prompt.label.moved" &&
        JSON.stringify(row.payload).includes(name) &&
        (row.payload as { fromVersion: number | null }).fromVersion === 1 &&
        (row.payload as { label: string }).label === "production",
    );
    expect(moves).toHaveLength(1);
    const prompt = await findPrompt(asAdmin, "default", name);
    const history = await db
      .select()
      .from(labelHistory)
      .where(eq(labelHistory.promptId, prompt.id));
    expect(history.filter((h) => h.label === "production")).toHaveLength(2);
  });

  it("a stale expectedRev is refused even without a race", async () => {
    const name = await createTextPrompt("one", ["production"]);
    const response = await api("PUT", `/projects/default/prompts/${enc(name)}/labels/production`, {
      version: 1,
      expectedRev: 1,
    });
    expect(response.status).toBe(409);
  });

  it("KV failing during publish: the mutation commits, the outbox stays pending, the retry converges", async () => {
    const name = uniqueName();
    const ctx = testContext({ kv: failingKv(3) });
    const created = await createPrompt(ctx, "default", {
      name,
      version: { prompt: "v1", labels: ["production"] },
    });
    expect(created.version?.version).toBe(1);
    expect(await pointer(name)).toBeNull();
    const pending = (await pendingOutbox()).filter((row) => row.publishTarget?.includes(name));
    // prompt.created, and prompt.label.moved for latest and production: each publishes.
    expect(pending.map((row) => row.eventType).sort()).toEqual([
      "prompt.created",
      "prompt.label.moved",
      "prompt.label.moved",
    ]);
    for (const row of pending) {
      expect(row).toMatchObject({ publishedAt: null, attempts: 1 });
      expect(row.lastError).toContain("429");
    }

    // KV keeps failing for two more retries (each fails on every row's first put), then recovers.
    const flaky = testContext({ kv: failingKv(2 * pending.length) });
    await retryPendingOutbox(flaky);
    await retryPendingOutbox(flaky);
    expect(await pointer(name)).toBeNull();
    await retryPendingOutbox(flaky);
    expect((await pointer(name))?.versions[0]?.prompt).toBe("v1");
    expect((await pendingOutbox()).filter((row) => row.publishTarget?.includes(name))).toEqual([]);
  });

  it("the cron trigger retries pending outbox rows", async () => {
    const name = uniqueName();
    await createPrompt(testContext({ kv: failingKv() }), "default", {
      name,
      version: { prompt: "cron", labels: ["production"] },
    });
    expect(await pointer(name)).toBeNull();
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "* * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect((await pointer(name))?.versions[0]?.prompt).toBe("cron");
  });

  it("Queue.send failing after the commit loses no event: the row is re-sent later", async () => {
    const name = uniqueName();
    await createPrompt(testContext({ events: failingQueue() }), "default", {
      name,
      version: { prompt: "q", labels: ["production"] },
    });
    // Publishing happened; only the event is pending.
    expect((await pointer(name))?.versions[0]?.prompt).toBe("q");
    const [row] = (await pendingOutbox()).filter((r) => r.publishTarget?.includes(name));
    expect(row).toMatchObject({ enqueuedAt: null });
    expect(row?.publishedAt).not.toBeNull();

    const report = await retryPendingOutbox(testContext());
    expect(report.failed).toBe(0);
    const after = await db.select().from(outbox).where(eq(outbox.eventId, row!.eventId));
    expect(after[0]?.enqueuedAt).not.toBeNull();
  });

  it("publish messages duplicated or out of order leave KV at the newest revision", async () => {
    const name = await createTextPrompt("one", ["production"]);
    const v2 = await addVersion(name, "two", ["production"]);
    const v3 = await addVersion(name, "three", ["production"]);
    expect(v3.version).toBe(3);
    void v2;
    const events = (await db.select().from(outbox)).filter((row) =>
      row.publishTarget?.includes(name),
    );
    expect(events.length).toBeGreaterThanOrEqual(3);
    // Redeliver every event twice, newest first.
    const messages = [...events, ...events].reverse().map((row, i) => ({
      id: `m${i}`,
      timestamp: new Date(),
      attempts: 1,
      body: eventMessageOf(row),
    }));
    const batch = createMessageBatch<EventMessage>("cuecard-events", messages);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    const result = await getQueueResult(batch, ctx);
    expect(result.retryMessages).toEqual([]);
    expect((await pointer(name))?.versions[0]?.prompt).toBe("three");
  });

  it("a pointer is never overwritten by an older revision", async () => {
    const name = await createTextPrompt("one", ["production"]);
    const current = await pointer(name);
    const newer = {
      ...current!,
      rev: current!.rev + 1000,
      versions: [{ ...current!.versions[0]!, prompt: "newer" }],
    };
    await env.PROMPTS_KV.put(`p/default/${name}@production`, JSON.stringify(newer));
    await api("PUT", `/projects/default/prompts/${enc(name)}/labels/staging`, { version: 1 });
    expect((await pointer(name))?.versions[0]?.prompt).toBe("newer");
    // republish is the explicit "D1 wins" repair.
    await api("POST", "/projects/default/republish");
    expect((await pointer(name))?.versions[0]?.prompt).toBe("one");
  });

  it("republish rebuilds a wiped KV from D1 and removes keys D1 does not back", async () => {
    const name = await createTextPrompt("one", ["production", "staging"]);
    await addVersion(name, "two");
    for (const key of (await env.PROMPTS_KV.list({ prefix: `p/default/${name}@` })).keys) {
      await env.PROMPTS_KV.delete(key.name);
    }
    await env.PROMPTS_KV.put(`p/default/${name}@ghost`, "{}");
    await env.PROMPTS_KV.put("p/default/never/existed@production", "{}");
    const report = await republishProject({ db, kv: env.PROMPTS_KV }, "default");
    expect(report.pointersDeleted).toBeGreaterThanOrEqual(2);
    expect((await pointer(name))?.versions[0]?.prompt).toBe("one");
    expect((await pointer(name, "latest"))?.versions[0]?.prompt).toBe("two");
    expect(await env.PROMPTS_KV.get(`v/default/${name}#2`)).not.toBeNull();
    expect(await env.PROMPTS_KV.get(`p/default/${name}@ghost`)).toBeNull();
    expect(await env.PROMPTS_KV.get("p/default/never/existed@production")).toBeNull();
  });

  it("versions and the audit log refuse UPDATE and DELETE in the database itself", async () => {
    const name = await createTextPrompt("immutable");
    const prompt = await findPrompt(asAdmin, "default", name);
    await expect(
      env.DB.prepare("UPDATE versions SET prompt = '\"changed\"' WHERE prompt_id = ?")
        .bind(prompt.id)
        .run(),
    ).rejects.toThrow(/immutable/);
    await expect(
      env.DB.prepare("DELETE FROM versions WHERE prompt_id = ?").bind(prompt.id).run(),
    ).rejects.toThrow(/immutable/);
    await expect(env.DB.prepare("UPDATE audit_log SET actor = 'x'").run()).rejects.toThrow(
      /append-only/,
    );
    await expect(env.DB.prepare("DELETE FROM audit_log").run()).rejects.toThrow(/append-only/);
    await expect(env.DB.prepare("DELETE FROM label_history").run()).rejects.toThrow(/append-only/);
  });

  it("a version of the wrong type or for a missing prompt is refused with a clear error", async () => {
    const name = await createTextPrompt("text");
    const prompt = await findPrompt(asAdmin, "default", name);
    await expect(
      createVersion(testContext(), prompt, { prompt: [{ role: "user", content: "x" }] }),
    ).rejects.toMatchObject({ status: 422 });
    await expect(
      moveLabel(testContext(), prompt, "production", { version: 99 }),
    ).rejects.toMatchObject({
      status: 404,
    });
  });

  it("a slower publisher cannot leave an older pointer behind: it re-reads D1 after writing", async () => {
    const name = await createTextPrompt("one", ["production"]);
    await addVersion(name, "two");
    const prompt = await findPrompt(asAdmin, "default", name);
    let interleaved = false;
    // While the first publisher is writing its (soon stale) pointer, someone else moves the label
    // and publishes; the first publisher's put lands last.
    const slowKv = new Proxy(env.PROMPTS_KV, {
      get(target, property) {
        if (property === "put") {
          return async (key: string, value: string) => {
            if (!interleaved && key === `p/default/${name}@production`) {
              interleaved = true;
              const fresh = await findPrompt(asAdmin, "default", name);
              await moveLabel(testContext(), fresh, "production", { version: 1 });
            }
            return target.put(key, value);
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    await moveLabel(testContext({ kv: slowKv }), prompt, "production", { version: 2 });
    expect(interleaved).toBe(true);
    expect((await pointer(name))?.targets[0]?.version).toBe(1);
  });

  it("a deleted label's pointer is removed even when KV's list does not show it yet", async () => {
    const name = await createTextPrompt("one", ["staging"]);
    const blindList = new Proxy(env.PROMPTS_KV, {
      get(target, property) {
        if (property === "list") {
          return async () => ({ keys: [], list_complete: true, cacheStatus: null });
        }
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const prompt = await findPrompt(asAdmin, "default", name);
    await deleteLabel(testContext({ kv: blindList }), prompt, "staging");
    expect(await env.PROMPTS_KV.get(`p/default/${name}@staging`)).toBeNull();
  });

  it("editing a description with a stale read does not undo someone else's archive", async () => {
    const name = await createTextPrompt("x", ["production"]);
    const stale = await findPrompt(asAdmin, "default", name);
    await updatePrompt(testContext(), stale, { archived: true });
    await updatePrompt(testContext(), stale, { description: "edited meanwhile" });
    const now = await findPrompt(asAdmin, "default", name);
    expect(now.archivedAt).not.toBeNull();
    expect(now.description).toBe("edited meanwhile");
    expect(await pointer(name)).toMatchObject({ withdrawn: "archived" });
  });

  it("republish works in steps within KV's per-request budget and resumes from its cursor", async () => {
    const names: string[] = [];
    for (let i = 0; i < 4; i++) names.push(await createTextPrompt(`step ${i}`, ["production"]));
    for (const name of names) await env.PROMPTS_KV.delete(`p/default/${name}@production`);
    let after: string | undefined;
    let steps = 0;
    for (;;) {
      const report = await republishProject({ db, kv: env.PROMPTS_KV }, "default", {
        after,
        budget: 5,
      });
      steps++;
      if (report.complete) break;
      expect(report.nextCursor).not.toBeNull();
      after = report.nextCursor ?? undefined;
    }
    expect(steps).toBeGreaterThan(1);
    for (const name of names) expect((await pointer(name))?.versions[0]?.prompt).toMatch(/^step/);
    const response = await api("POST", "/projects/default/republish");
    expect((await json(response)).complete).toBe(true);
    const audit = await json(await api("GET", "/projects/default/audit?action=project.republish"));
    expect(audit.items[0]).toMatchObject({
      requestId: response.headers.get("x-request-id"),
      after: { complete: true },
    });
    // It republishes every prompt this file made, in many small steps.
  }, 30_000);
});
