import { env } from "cloudflare:workers";
import { type LabelPointer, labelPointerKey } from "@cuecard/core/kv-records";
import { and, asc, eq, gt } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { webhookPayloadOf } from "../../workers/modules/webhooks/events";
import { openDatabase } from "../../workers/platform/db/client";
import {
  auditLog,
  experiments,
  labelHistory,
  labels,
  outbox,
  prompts,
} from "../../workers/platform/db/schema";
import { eventMessageOf } from "../../workers/platform/outbox";
import { addVersion, api, createTextPrompt, enc, json, keyFor } from "./api";

/**
 * Experiments through the admin API: every change one batch with its audit rows and outbox
 * events, published inside the label's KV pointer while running; the label frozen meanwhile.
 */

const db = openDatabase(env.DB);
const base = "/projects/default/experiments";

let keys = 0;
const uniqueKey = () => `exp-${++keys}-${Math.random().toString(36).slice(2, 7)}`;

/** A prompt with versions 1..3, `production` and `staging` on v1. */
async function promptWithVersions() {
  const name = await createTextPrompt("Hello {{customer}}", ["production", "staging"]);
  await addVersion(name, "Hi there {{customer}}!");
  await addVersion(name, "Dear {{customer}},");
  return name;
}

function draftBody(name: string, overrides: Record<string, unknown> = {}) {
  return {
    prompt: name,
    label: "production",
    key: uniqueKey(),
    unit: "user id",
    control: { weight: 0.5 },
    variants: [{ key: "friendly", version: 2, weight: 0.5 }],
    metrics: {
      primary: { kind: "score", name: "helpful" },
      guardrails: [{ metric: { kind: "latency_p95" }, maxRegressionPct: 10 }],
    },
    ...overrides,
  };
}

async function createDraft(name: string, overrides: Record<string, unknown> = {}) {
  const response = await api("POST", base, draftBody(name, overrides));
  expect(response.status, await response.clone().text()).toBe(201);
  return json(response);
}

const post = (id: string, action: string, body?: unknown, headers?: Record<string, string>) =>
  api("POST", `${base}/${id}/${action}`, body, headers);

async function pointerOf(name: string, label = "production"): Promise<LabelPointer> {
  return (await env.PROMPTS_KV.get(
    labelPointerKey("default", name, label),
    "json",
  )) as LabelPointer;
}

async function auditOf(id: string) {
  const rows = await db
    .select()
    .from(auditLog)
    .where(eq(auditLog.target, id))
    .orderBy(asc(auditLog.id));
  return rows.map((row) => ({ action: row.action, before: row.before, after: row.after }));
}

async function eventsSince(outboxId: number) {
  const rows = await db
    .select()
    .from(outbox)
    .where(gt(outbox.id, outboxId))
    .orderBy(asc(outbox.id));
  return rows.map((row) => ({
    type: row.eventType,
    target: row.publishTarget,
    payload: row.payload as Record<string, unknown>,
    published: row.publishedAt !== null,
  }));
}

async function lastOutboxId() {
  const row = await env.DB.prepare("SELECT COALESCE(MAX(id), 0) AS id FROM outbox").first<{
    id: number;
  }>();
  return row?.id ?? 0;
}

async function labelOf(name: string, label = "production") {
  const [row] = await db
    .select({ version: labels.version, rev: labels.rev })
    .from(labels)
    .innerJoin(prompts, eq(prompts.id, labels.promptId))
    .where(and(eq(prompts.name, name), eq(labels.name, label)));
  return row;
}

describe("experiment lifecycle", () => {
  it("creates a draft whose seed and hash version reproduce assignments outside Cuecard", async () => {
    const name = await promptWithVersions();
    const before = await lastOutboxId();
    const draft = await createDraft(name, { description: "friendlier tone" });
    expect(draft).toMatchObject({
      prompt: name,
      label: "production",
      state: "draft",
      unit: "user id",
      description: "friendlier tone",
      control: { key: "control", weight: 0.5, version: null },
      variants: [{ key: "friendly", version: 2, weight: 0.5 }],
      coverage: 1,
      hashVersion: 2,
      bucketVersion: 1,
      stages: [],
      promotedVariant: null,
      startedAt: null,
    });
    expect(draft.id).toMatch(/^exp_[a-f0-9]{20}$/);
    expect(draft.seed).toBe(`${draft.id}:1`);
    expect(await json(await api("GET", `${base}/${draft.id}`))).toEqual({
      ...draft,
      exposures: { control: 0, friendly: 0 },
      telemetry: "deployed",
    });
    expect((await auditOf(draft.id)).map((row) => row.action)).toEqual(["experiment.create"]);
    const events = await eventsSince(before);
    expect(events.map((event) => event.type)).toEqual(["experiment.created"]);
    // A draft serves nothing: the pointer is untouched.
    expect((await pointerOf(name)).experiment ?? null).toBeNull();
  });

  it("edits a draft with PATCH, checking the result as a whole", async () => {
    const name = await promptWithVersions();
    const draft = await createDraft(name);
    const patched = await api("PATCH", `${base}/${draft.id}`, {
      control: { key: "baseline", weight: 0.34 },
      variants: [
        { key: "friendly", version: 2, weight: 0.33 },
        { key: "formal", version: 3, weight: 0.33 },
      ],
      coverage: 0.5,
    });
    expect(patched.status).toBe(200);
    expect(await json(patched)).toMatchObject({
      control: { key: "baseline", weight: 0.34 },
      variants: [{ key: "friendly" }, { key: "formal" }],
      coverage: 0.5,
      seed: draft.seed,
    });
    // Weights that no longer add up once merged: refused, nothing changed.
    const bad = await api("PATCH", `${base}/${draft.id}`, { control: { weight: 0.9 } });
    expect(bad.status).toBe(422);
    expect((await json(bad)).errors[0].field).toBe("body.variants");
    expect(await json(await api("GET", `${base}/${draft.id}`))).toMatchObject({
      control: { weight: 0.34 },
    });
    const audit = await auditOf(draft.id);
    expect(audit.map((row) => row.action)).toEqual(["experiment.create", "experiment.update"]);
    expect(audit[1]?.before).toMatchObject({ coverage: 1 });
    expect(audit[1]?.after).toMatchObject({ coverage: 0.5 });
  });

  it("starts: fixes the control, publishes the split in the label pointer, audits and announces it", async () => {
    const name = await promptWithVersions();
    const draft = await createDraft(name, { coverage: 0.8 });
    const before = await lastOutboxId();
    const started = await post(draft.id, "start");
    expect(started.status).toBe(200);
    const running = await json(started);
    expect(running).toMatchObject({ state: "running", control: { version: 1 } });
    expect(running.startedAt).toEqual(expect.any(String));

    const pointer = await pointerOf(name);
    expect(pointer.format).toBe(2);
    expect(pointer.targets).toEqual([{ version: 1, weight: 1 }]);
    expect(pointer.experiment).toEqual({
      id: draft.id,
      key: draft.key,
      seed: `${draft.id}:1`,
      hashVersion: 2,
      coverage: 0.8,
      variants: [
        { key: "control", version: 1, weight: 0.5 },
        { key: "friendly", version: 2, weight: 0.5 },
      ],
    });
    expect(pointer.versions.map((version) => version.version).sort()).toEqual([1, 2]);
    expect(pointer.experimentRev).toBeGreaterThan(0);
    // Another label of the prompt is not part of it.
    expect((await pointerOf(name, "staging")).experiment ?? null).toBeNull();

    expect((await auditOf(draft.id)).slice(1)).toEqual([
      {
        action: "experiment.start",
        before: { state: "draft" },
        after: { state: "running", controlVersion: 1 },
      },
    ]);
    const events = await eventsSince(before);
    expect(events).toEqual([
      {
        type: "experiment.started",
        target: `prompt:${name}`,
        published: true,
        payload: expect.objectContaining({
          experiment: { id: draft.id, key: draft.key },
          prompt: { name, type: "text" },
          label: "production",
          controlVersion: 1,
        }),
      },
    ]);
  });

  it("pauses (the pointer serves the control to everyone) and resumes (the split is back)", async () => {
    const name = await promptWithVersions();
    const draft = await createDraft(name);
    await post(draft.id, "start");
    const startedRev = (await pointerOf(name)).experimentRev ?? 0;
    const before = await lastOutboxId();

    const paused = await post(draft.id, "pause");
    expect(paused.status).toBe(200);
    expect((await json(paused)).state).toBe("paused");
    const pausedPointer = await pointerOf(name);
    expect(pausedPointer.experiment).toBeNull();
    expect(pausedPointer.targets).toEqual([{ version: 1, weight: 1 }]);
    expect(pausedPointer.experimentRev).toBeGreaterThan(startedRev);

    const resumed = await post(draft.id, "resume");
    expect((await json(resumed)).state).toBe("running");
    const resumedPointer = await pointerOf(name);
    expect(resumedPointer.experiment?.seed).toBe(`${draft.id}:1`);
    expect(resumedPointer.experimentRev).toBeGreaterThan(pausedPointer.experimentRev ?? 0);

    expect((await eventsSince(before)).map((event) => [event.type, event.published])).toEqual([
      ["experiment.paused", true],
      ["experiment.resumed", true],
    ]);
    expect((await auditOf(draft.id)).map((row) => row.action)).toEqual([
      "experiment.create",
      "experiment.start",
      "experiment.pause",
      "experiment.resume",
    ]);
  });

  it("stops, promoting a variant with an ordinary audited label move in the same change", async () => {
    const name = await promptWithVersions();
    const draft = await createDraft(name);
    await post(draft.id, "start");
    const before = await lastOutboxId();
    const stopped = await post(draft.id, "stop", { promote: "friendly" });
    expect(stopped.status).toBe(200);
    expect(await json(stopped)).toMatchObject({ state: "stopped", promotedVariant: "friendly" });

    expect((await labelOf(name))?.version).toBe(2);
    const pointer = await pointerOf(name);
    expect(pointer.experiment).toBeNull();
    expect(pointer.targets).toEqual([{ version: 2, weight: 1 }]);

    const events = await eventsSince(before);
    expect(events.map((event) => event.type)).toEqual(["experiment.stopped", "prompt.label.moved"]);
    expect(events[0]?.payload).toMatchObject({ promoted: { variant: "friendly", version: 2 } });
    expect(events[1]?.payload).toMatchObject({ label: "production", fromVersion: 1, toVersion: 2 });
    const moves = await db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.target, `${name}@production`), eq(auditLog.action, "label.move")))
      .orderBy(asc(auditLog.id));
    const promotion = moves[moves.length - 1];
    expect(promotion?.after).toMatchObject({ version: 2 });
    const [stopAudit] = await db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.target, draft.id), eq(auditLog.action, "experiment.stop")));
    // One change: the stop and the label move share the request that made them.
    expect(promotion?.requestId).toBe(stopAudit?.requestId);

    // What a webhook receiver gets: the experiment, the promotion and the prompt's links.
    const [row] = await db
      .select()
      .from(outbox)
      .where(and(gt(outbox.id, before), eq(outbox.eventType, "experiment.stopped")));
    const links = { adminUrl: "https://admin.example", edgeUrl: "https://edge.example" };
    const delivered = webhookPayloadOf(eventMessageOf(row as typeof outbox.$inferSelect), links);
    expect(delivered.type).toBe("experiment.stopped");
    expect(delivered.data).toMatchObject({
      experiment: { id: draft.id, key: draft.key },
      prompt: { name, type: "text" },
      label: "production",
      controlVersion: 1,
      promoted: { variant: "friendly", version: 2 },
    });

    // Stopped, the label moves by hand again.
    const moved = await api("PUT", `/projects/default/prompts/${enc(name)}/labels/production`, {
      version: 3,
    });
    expect(moved.status).toBe(200);
  });

  it("stops without promoting: the label keeps the control", async () => {
    const name = await promptWithVersions();
    const draft = await createDraft(name);
    await post(draft.id, "start");
    await post(draft.id, "pause");
    const stopped = await post(draft.id, "stop");
    expect(await json(stopped)).toMatchObject({ state: "stopped", promotedVariant: null });
    expect((await labelOf(name))?.version).toBe(1);
    expect((await pointerOf(name)).experiment).toBeNull();
    const [event] = await db
      .select()
      .from(outbox)
      .where(eq(outbox.eventType, "experiment.stopped"))
      .orderBy(asc(outbox.id));
    expect(event).toBeDefined();
  });

  it("lists experiments newest first, page by page, filtered by state and prompt", async () => {
    const name = await promptWithVersions();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await createDraft(name, { label: "staging" })).id);
    const first = await json(await api("GET", `${base}?prompt=${enc(name)}&limit=2`));
    expect(first.items.map((item: { id: string }) => item.id)).toEqual([ids[2], ids[1]]);
    expect(first.nextCursor).toBe(ids[1]);
    const second = await json(
      await api("GET", `${base}?prompt=${enc(name)}&limit=2&cursor=${first.nextCursor}`),
    );
    expect(second.items.map((item: { id: string }) => item.id)).toEqual([ids[0]]);
    expect(second.nextCursor).toBeNull();
    await post(ids[0] as string, "start");
    const running = await json(await api("GET", `${base}?prompt=${enc(name)}&state=running`));
    expect(running.items.map((item: { id: string }) => item.id)).toEqual([ids[0]]);
  });
});

describe("a running experiment freezes its label", () => {
  it("refuses moves, deletions, rollbacks and new versions taking the label with 409", async () => {
    const name = await promptWithVersions();
    const draft = await createDraft(name);
    await post(draft.id, "start");
    const label = await labelOf(name);
    const historyBefore = await db.$count(labelHistory);
    const path = `/projects/default/prompts/${enc(name)}`;
    const attempts = [
      await api("PUT", `${path}/labels/production`, { version: 3 }),
      await api("DELETE", `${path}/labels/production`),
      await api("POST", `${path}/labels/production/rollback`, { toVersion: 2 }),
      await api("POST", `${path}/versions`, { prompt: "v4", labels: ["production"] }),
    ];
    for (const response of attempts) {
      expect(response.status).toBe(409);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect((await json(response)).detail).toMatch(/experiment/i);
    }
    expect(await labelOf(name)).toEqual(label);
    expect(await db.$count(labelHistory)).toBe(historyBefore);
    // Paused counts too; other labels move freely.
    await post(draft.id, "pause");
    expect((await api("PUT", `${path}/labels/production`, { version: 3 })).status).toBe(409);
    expect((await api("PUT", `${path}/labels/staging`, { version: 3 })).status).toBe(200);
  });
});

describe("rights: an experiment's state changes need the rights a move of its label needs", () => {
  it("an editor drafts on a protected label but cannot start, pause or stop it; a publisher can", async () => {
    const name = await promptWithVersions();
    const editor = { authorization: `Bearer ${await keyFor("editor")}` };
    const publisher = { authorization: `Bearer ${await keyFor("publisher")}` };
    const created = await api("POST", base, draftBody(name), editor);
    expect(created.status).toBe(201);
    const draft = await json(created);
    const refused = await post(draft.id, "start", undefined, editor);
    expect(refused.status).toBe(403);
    expect((await json(refused)).permission).toBe("labels:move-protected");
    expect((await json(await api("GET", `${base}/${draft.id}`))).state).toBe("draft");

    expect((await post(draft.id, "start", undefined, publisher)).status).toBe(200);
    expect((await post(draft.id, "pause", undefined, editor)).status).toBe(403);
    expect((await post(draft.id, "stop", undefined, editor)).status).toBe(403);
    expect((await post(draft.id, "stop", undefined, publisher)).status).toBe(200);
  });

  it("an editor runs an experiment on an unprotected label; a reader key cannot use the API", async () => {
    const name = await promptWithVersions();
    const editor = { authorization: `Bearer ${await keyFor("editor")}` };
    const draft = await json(
      await api("POST", base, draftBody(name, { label: "staging" }), editor),
    );
    expect((await post(draft.id, "start", undefined, editor)).status).toBe(200);
    const reader = { authorization: `Bearer ${await keyFor("reader")}` };
    expect((await api("GET", base, undefined, reader)).status).toBe(403);
  });
});

describe("bad input: 4xx naming the field, nothing written, nothing published", () => {
  async function expectRefused(
    body: Record<string, unknown>,
    status: number,
    field: string | undefined,
  ) {
    const count = await db.$count(experiments);
    const audits = await db.$count(auditLog);
    const response = await api("POST", base, body);
    expect(response.status, JSON.stringify(body)).toBe(status);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    const problem = await json(response);
    if (field) {
      expect(
        problem.errors?.map((error: { field: string }) => error.field),
        JSON.stringify(problem),
      ).toContain(field);
    }
    expect(await db.$count(experiments)).toBe(count);
    expect(await db.$count(auditLog)).toBe(audits);
    return problem;
  }

  it("weights that do not add up to 1 (and percentages)", async () => {
    const name = await promptWithVersions();
    await expectRefused(
      draftBody(name, { variants: [{ key: "friendly", version: 2, weight: 0.4 }] }),
      422,
      "body.variants",
    );
    await expectRefused(
      draftBody(name, {
        control: { weight: 50 },
        variants: [{ key: "friendly", version: 2, weight: 50 }],
      }),
      422,
      "body.control.weight",
    );
  });

  it("unknown versions, and another prompt's versions", async () => {
    const name = await promptWithVersions();
    const small = await createTextPrompt("only one version", ["production"]);
    await expectRefused(
      draftBody(name, { variants: [{ key: "friendly", version: 99, weight: 0.5 }] }),
      422,
      "body.variants.0.version",
    );
    // v3 exists in `name`, not in `small`.
    const problem = await expectRefused(
      draftBody(small, { variants: [{ key: "friendly", version: 3, weight: 0.5 }] }),
      422,
      "body.variants.0.version",
    );
    expect(problem.errors[0].message).toContain(small);
  });

  it("duplicate variant keys, the control's key included", async () => {
    const name = await promptWithVersions();
    await expectRefused(
      draftBody(name, {
        control: { weight: 0.4 },
        variants: [
          { key: "friendly", version: 2, weight: 0.3 },
          { key: "friendly", version: 3, weight: 0.3 },
        ],
      }),
      422,
      "body.variants.1.key",
    );
    await expectRefused(
      draftBody(name, { variants: [{ key: "control", version: 2, weight: 0.5 }] }),
      422,
      "body.variants.0.key",
    );
  });

  it("coverage outside (0, 1]", async () => {
    const name = await promptWithVersions();
    for (const coverage of [0, -0.1, 1.5, "1"]) {
      await expectRefused(draftBody(name, { coverage }), 422, "body.coverage");
    }
  });

  it("metrics, stages, the label and the prompt", async () => {
    const name = await promptWithVersions();
    await expectRefused(
      draftBody(name, { metrics: { primary: { kind: "vibes" } } }),
      422,
      undefined,
    );
    await expectRefused(
      draftBody(name, { metrics: { primary: { kind: "score" } } }),
      422,
      "body.metrics.primary.name",
    );
    await expectRefused(
      draftBody(name, {
        stages: [{ weights: [0.9, 0.2], minExposures: 100, minDurationHours: 24 }],
      }),
      422,
      "body.stages.0.weights",
    );
    await expectRefused(draftBody(name, { label: "latest" }), 422, "body.label");
    await expectRefused(draftBody("no/such-prompt"), 422, "body.prompt");
    await expectRefused({ ...draftBody(name), unit: undefined }, 422, "body.unit");
  });

  it("a second experiment on a label: 409 on start, the first keeps running", async () => {
    const name = await promptWithVersions();
    const first = await createDraft(name);
    const second = await createDraft(name);
    await post(first.id, "start");
    const refused = await post(second.id, "start");
    expect(refused.status).toBe(409);
    expect((await json(refused)).detail).toContain(first.key);
    expect((await json(await api("GET", `${base}/${second.id}`))).state).toBe("draft");
    expect((await pointerOf(name)).experiment?.id).toBe(first.id);
    // Once the first stops, the second may start.
    await post(first.id, "stop");
    expect((await post(second.id, "start")).status).toBe(200);
  });

  it("the partial unique index holds even when the verb's own check is raced", async () => {
    const name = await promptWithVersions();
    const first = await createDraft(name);
    const second = await createDraft(name);
    await env.DB.prepare("UPDATE experiments SET state = 'running', rev = 1 WHERE id = ?")
      .bind(first.id)
      .run();
    const direct = await env.DB.prepare("UPDATE experiments SET state = 'paused' WHERE id = ?")
      .bind(second.id)
      .run()
      .catch((error: Error) => error);
    expect(String(direct)).toMatch(/UNIQUE/);
  });

  it("starting on an archived prompt, or with no such label: 409", async () => {
    const name = await promptWithVersions();
    const draft = await createDraft(name);
    const noLabel = await createDraft(name, { label: "canary" });
    const missing = await post(noLabel.id, "start");
    expect(missing.status).toBe(409);
    expect((await json(missing)).detail).toContain("canary");
    await api("DELETE", `/projects/default/prompts/${enc(name)}`);
    const archived = await post(draft.id, "start");
    expect(archived.status).toBe(409);
    expect((await json(archived)).detail).toContain("archived");
    expect((await json(await api("GET", `${base}/${draft.id}`))).state).toBe("draft");
    await expectRefused(draftBody(name), 409, undefined);
  });

  it("state transitions that are not allowed: 409, nothing written", async () => {
    const name = await promptWithVersions();
    const draft = await createDraft(name);
    for (const action of ["pause", "resume", "stop"]) {
      expect((await post(draft.id, action)).status, action).toBe(409);
    }
    await post(draft.id, "start");
    for (const action of ["start", "resume"]) {
      expect((await post(draft.id, action)).status, action).toBe(409);
    }
    expect((await api("PATCH", `${base}/${draft.id}`, { coverage: 0.5 })).status).toBe(409);
    const badPromote = await post(draft.id, "stop", { promote: "nope" });
    expect(badPromote.status).toBe(422);
    expect((await json(badPromote)).errors[0].field).toBe("body.promote");
    await post(draft.id, "stop");
    for (const action of ["start", "pause", "resume", "stop"]) {
      expect((await post(draft.id, action)).status, action).toBe(409);
    }
    expect((await auditOf(draft.id)).map((row) => row.action)).toEqual([
      "experiment.create",
      "experiment.start",
      "experiment.stop",
    ]);
  });

  it("an unknown experiment id is 404, a malformed one 422", async () => {
    expect((await api("GET", `${base}/exp_00000000000000000000`)).status).toBe(404);
    expect((await api("GET", `${base}/not-an-id`)).status).toBe(422);
  });
});
