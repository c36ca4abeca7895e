import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import worker from "../../workers/admin";
import { moveLabel } from "../../workers/modules/prompts/labels";
import { createPrompt, createVersion, findPrompt } from "../../workers/modules/prompts/prompts";
import { consumeWebhookDeliveries } from "../../workers/modules/webhooks/delivery";
import { getDelivery } from "../../workers/modules/webhooks/endpoints";
import type { DeliveryMessage } from "../../workers/modules/webhooks/fan-out";
import type { MutationContext } from "../../workers/platform/context";
import { openDatabase } from "../../workers/platform/db/client";
import { outbox, webhookDeliveries } from "../../workers/platform/db/schema";
import { api, uniqueName } from "./api";
import { webhookProject } from "./webhook-harness";

/**
 * Work whose queue message is gone (the platform stopped, a message was mis-acked) is found and
 * sent again by the cron, and a delivery that gets more than one message is attempted once at a
 * time and never after it succeeded. The cron runs through the worker's own scheduled handler,
 * and what it re-sends goes through the real Queues runtime to a receiver stood in for by
 * replacing fetch (the queue handler runs in this isolate).
 */

const db = openDatabase(env.DB);
const RECEIVER = "https://receiver.example.com/";

interface Received {
  url: string;
  headers: Record<string, string>;
  body: string;
  status: number;
}
const received: Received[] = [];
/** Status the stand-in receiver answers with, by URL; 200 when unset. */
const answers = new Map<string, number>();

const realFetch = globalThis.fetch;
const receiverFetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
  const request = new Request(input, init);
  if (!request.url.startsWith(RECEIVER)) return realFetch(input, init);
  const status = answers.get(request.url) ?? 200;
  received.push({
    url: request.url,
    headers: Object.fromEntries(request.headers),
    body: await request.text(),
    status,
  });
  return new Response(status === 200 ? "ok" : "down", { status });
}) as typeof fetch;

beforeAll(() => {
  globalThis.fetch = receiverFetch;
});
afterAll(() => {
  globalThis.fetch = realFetch;
});

/** A project with one endpoint; its events go to a queue nobody consumes (a lost message). */
async function setup() {
  const url = `${RECEIVER}${crypto.randomUUID()}`;
  const harness = await webhookProject("rc", { url, eventTypes: ["prompt.label.moved"] });
  return { ...harness, url };
}

/**
 * A promotion of a new prompt's production label. Every move is announced: `latest` and
 * `production` to v1, `latest` to v2, `production` to v2; the first delivery is v1's `latest`.
 */
async function promotion(ctx: MutationContext, project: string) {
  const name = uniqueName();
  await createPrompt(ctx, project, { name, version: { prompt: "v1", labels: ["production"] } });
  let prompt = await findPrompt(ctx, project, name);
  await createVersion(ctx, prompt, { prompt: "v2" });
  prompt = await findPrompt(ctx, project, name);
  await moveLabel(ctx, prompt, "production", { version: 2 });
  return name;
}

/** Runs the delivery consumer on `messages` as one batch, each as its queue's first try. */
async function consume(messages: DeliveryMessage[]) {
  const batch = createMessageBatch<DeliveryMessage>(
    "cuecard-webhooks",
    messages.map((body, i) => ({
      id: `d${i}-${crypto.randomUUID()}`,
      timestamp: new Date(),
      attempts: 1,
      body,
    })),
  );
  await consumeWebhookDeliveries(batch, { db, fetch: receiverFetch, allowLoopback: false });
  return getQueueResult(batch, createExecutionContext());
}

/** The cron, as Cloudflare runs it, with a one-minute grace period. */
async function runCron() {
  const ctx = createExecutionContext();
  await worker.scheduled(
    createScheduledController({ cron: "* * * * *" }),
    { ...env, RECOVERY_GRACE_SECONDS: "60" },
    ctx,
  );
  await waitOnExecutionContext(ctx);
}

const tenMinutesAgo = () => new Date(Date.now() - 600_000).toISOString();

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 80 && !done(value); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

const to = (url: string) => received.filter((r) => r.url === url);

// Real queues in a busy machine: give each test room beyond waitFor's 8 s.
describe("recovery of lost queue work", { timeout: 20_000 }, () => {
  it("a delivery left retrying past its nextRetryAt is re-sent by the cron: same webhook-id, delivered once", async () => {
    const s = await setup();
    await promotion(s.ctx, s.project);
    const [message] = await s.drainEvents();
    const id = message?.deliveryId ?? "";
    answers.set(s.url, 500);
    await consume([{ deliveryId: id }]);
    expect((await getDelivery(s.ctx, s.project, s.endpoint.id, id)).status).toBe("retrying");

    // Its retry message died with the platform, and the retry has long been due.
    await db
      .update(webhookDeliveries)
      .set({ nextRetryAt: tenMinutesAgo() })
      .where(eq(webhookDeliveries.id, id));
    answers.set(s.url, 200);
    await runCron();
    const delivery = await waitFor(
      () => getDelivery(s.ctx, s.project, s.endpoint.id, id),
      (d) => d.status === "succeeded",
    );
    expect(delivery).toMatchObject({ status: "succeeded", attempts: 2, nextRetryAt: null });
    expect(delivery.attemptLog.map((a) => a.statusCode)).toEqual([500, 200]);
    expect(to(s.url).map((r) => r.headers["webhook-id"])).toEqual([id, id]);
    for (const r of to(s.url)) new Webhook(s.secret).verify(r.body, r.headers);

    await runCron();
    expect(to(s.url).filter((r) => r.status === 200)).toHaveLength(1);
  });

  it("a delivery that is retrying but not yet overdue is left to its own retry", async () => {
    const s = await setup();
    await promotion(s.ctx, s.project);
    const [message] = await s.drainEvents();
    const id = message?.deliveryId ?? "";
    answers.set(s.url, 500);
    await consume([{ deliveryId: id }]);
    answers.set(s.url, 200);
    await runCron();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(to(s.url)).toHaveLength(1);
    expect((await getDelivery(s.ctx, s.project, s.endpoint.id, id)).status).toBe("retrying");
  });

  it("an event enqueued but never consumed is re-sent by the cron and delivered once; then it is done", async () => {
    const s = await setup();
    await promotion(s.ctx, s.project);
    // The events queue "lost" every message: nothing was consumed, nothing delivered.
    const lost = s.events.sent.splice(0);
    const moved = lost.find((event) => event.type === "prompt.label.moved");
    expect(moved).toBeDefined();
    const eventId = moved?.eventId ?? "";
    const row = await db.query.outbox.findFirst({ where: eq(outbox.eventId, eventId) });
    expect(row?.enqueuedAt).not.toBeNull();
    for (const event of lost) {
      await db
        .update(outbox)
        .set({ enqueuedAt: tenMinutesAgo() })
        .where(eq(outbox.eventId, event.eventId));
    }

    await runCron();
    const deliveries = await waitFor(
      () => db.select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, eventId)),
      (rows) => rows[0]?.status === "succeeded",
    );
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]?.status).toBe("succeeded");
    // The promotion's other label moves were lost too; each reaches the receiver once.
    const movesLost = lost.filter((event) => event.type === "prompt.label.moved").length;
    await waitFor(
      async () => to(s.url),
      (all) => all.length >= movesLost,
    );
    const sent = to(s.url).filter((r) => r.headers["webhook-id"] === deliveries[0]?.id);
    expect(sent).toHaveLength(1);
    const payload = new Webhook(s.secret).verify(sent[0]?.body ?? "", sent[0]?.headers ?? {});
    expect(payload).toMatchObject({ type: "prompt.label.moved", data: { eventId } });
    expect(new Set(to(s.url).map((r) => r.headers["webhook-id"])).size).toBe(movesLost);

    // Consumed now: later runs send nothing again.
    await runCron();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(to(s.url)).toHaveLength(movesLost);
  });

  it("redeliver of a retrying delivery is accepted and sent now; its old retry, arriving later, sends nothing", async () => {
    const s = await setup();
    await promotion(s.ctx, s.project);
    const [original] = await s.drainEvents();
    const id = original?.deliveryId ?? "";
    answers.set(s.url, 500);
    await consume([original as DeliveryMessage]);
    expect((await getDelivery(s.ctx, s.project, s.endpoint.id, id)).status).toBe("retrying");

    const response = await api(
      "POST",
      `/projects/${s.project}/webhooks/${s.endpoint.id}/deliveries/${id}/redeliver`,
      undefined,
      { authorization: `Bearer ${s.adminKey}` },
    );
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ id, status: "pending" });

    answers.set(s.url, 200);
    // The original retry message shows up before the redelivery's own: it is of the old round.
    expect((await consume([original as DeliveryMessage])).explicitAcks).toHaveLength(1);
    const delivery = await waitFor(
      () => getDelivery(s.ctx, s.project, s.endpoint.id, id),
      (d) => d.status === "succeeded",
    );
    expect(delivery.status).toBe("succeeded");
    // And once more, late: still nothing.
    await consume([original as DeliveryMessage]);
    const sent = to(s.url);
    expect(sent.map((r) => r.status)).toEqual([500, 200]);
    expect(new Set(sent.map((r) => r.headers["webhook-id"]))).toEqual(new Set([id]));
  });

  it("two messages for one delivery in the same batch make one POST; a later duplicate none", async () => {
    const s = await setup();
    await promotion(s.ctx, s.project);
    const [message] = await s.drainEvents();
    const id = message?.deliveryId ?? "";
    const result = await consume([{ deliveryId: id }, { deliveryId: id }]);
    expect(result.explicitAcks).toHaveLength(2);
    expect(result.retryMessages).toEqual([]);
    await consume([{ deliveryId: id }]);
    expect(to(s.url)).toHaveLength(1);
    expect((await getDelivery(s.ctx, s.project, s.endpoint.id, id)).status).toBe("succeeded");
  });

  it("redeliver while an attempt is being made is a 409 that says to wait", async () => {
    const s = await setup();
    await promotion(s.ctx, s.project);
    const [message] = await s.drainEvents();
    const id = message?.deliveryId ?? "";
    // An attempt has claimed the delivery and is waiting for the receiver.
    await db
      .update(webhookDeliveries)
      .set({ leaseUntil: new Date(Date.now() + 30_000).toISOString() })
      .where(eq(webhookDeliveries.id, id));
    const response = await api(
      "POST",
      `/projects/${s.project}/webhooks/${s.endpoint.id}/deliveries/${id}/redeliver`,
      undefined,
      { authorization: `Bearer ${s.adminKey}` },
    );
    expect(response.status).toBe(409);
    expect(response.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(((await response.json()) as { detail: string }).detail).toMatch(/right now/);
  });
});
