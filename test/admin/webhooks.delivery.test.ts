import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import worker from "../../workers/admin";
import { deleteLabel, moveLabel } from "../../workers/modules/prompts/labels";
import {
  createPrompt,
  createVersion,
  findPrompt,
  updatePrompt,
} from "../../workers/modules/prompts/prompts";
import {
  consumeWebhookDeliveries,
  RETRY_SCHEDULE_SECONDS,
  WEBHOOK_MAX_RETRIES,
} from "../../workers/modules/webhooks/delivery";
import {
  createEndpoint,
  getDelivery,
  redeliver,
  sendTestEvent,
  updateEndpoint,
} from "../../workers/modules/webhooks/endpoints";
import type { WebhookEventType } from "../../workers/modules/webhooks/events";
import type { DeliveryMessage } from "../../workers/modules/webhooks/fan-out";
import type { MutationContext } from "../../workers/platform/context";
import { openDatabase } from "../../workers/platform/db/client";
import {
  webhookAttempts,
  webhookDeliveries,
  webhookEndpoints,
} from "../../workers/platform/db/schema";
import { api, json, uniqueName } from "./api";
import { webhookProject } from "./webhook-harness";

/**
 * Deliveries driven step by step: events are captured from a stand-in events queue, fanned out
 * into a stand-in deliveries queue, and each attempt runs the real consumer against a scripted
 * receiver (fetch is a dependency). Only the last test goes through the real Queues runtime.
 */

const db = openDatabase(env.DB);

interface Received {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** A receiver answering from a script, one entry per call (the last entry repeats). */
function receiver(script: Array<() => Response | Promise<Response>>) {
  const received: Received[] = [];
  const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => {
    expect(init?.redirect).toBe("manual");
    expect(init?.signal).toBeInstanceOf(AbortSignal);
    received.push({
      url: String(input),
      headers: Object.fromEntries(new Headers(init?.headers).entries()),
      body: String(init?.body),
    });
    const answer = script[Math.min(received.length - 1, script.length - 1)];
    if (!answer) throw new Error("no script");
    return answer();
  }) as typeof fetch;
  return { fetch: fetchFn, received };
}

function setup(options: { eventTypes?: WebhookEventType[] } = {}) {
  return webhookProject("wh", {
    url: "https://ci.example.com/hook",
    eventTypes: options.eventTypes,
  });
}

/**
 * What the consumer asked the queue to do with each message. getQueueResult() reports acks and
 * retries but not their delaySeconds, so retry() is observed directly.
 */
function observe(batch: MessageBatch<DeliveryMessage>) {
  const retries: { msgId: string; delaySeconds: number | undefined }[] = [];
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    message.retry = (options) => {
      retries.push({ msgId: message.id, delaySeconds: options?.delaySeconds });
      retry(options);
    };
  }
  return async () => ({ ...(await getQueueResult(batch, createExecutionContext())), retries });
}

/** Runs the delivery consumer on one message, as the queue's `attempts`-th try. */
async function attempt(deliveryId: string, attempts: number, fetch: typeof globalThis.fetch) {
  const batch = createMessageBatch<DeliveryMessage>("cuecard-webhooks", [
    { id: `m-${deliveryId}-${attempts}`, timestamp: new Date(), attempts, body: { deliveryId } },
  ]);
  const result = observe(batch);
  await consumeWebhookDeliveries(batch, { db, fetch, allowLoopback: false });
  return result();
}

/**
 * Creates a prompt (v1 in production), adds v2 and promotes it. Unless `keepSetup`, the events
 * of the first two steps (which move labels too) are fanned out and dropped here, so what is
 * left to drain is the promotion's one `prompt.label.moved`.
 */
async function promotion(
  s: { ctx: MutationContext; project: string; drainEvents: () => Promise<unknown> },
  keepSetup = false,
) {
  const { ctx, project } = s;
  const name = uniqueName();
  await createPrompt(ctx, project, { name, version: { prompt: "v1", labels: ["production"] } });
  let prompt = await findPrompt(ctx, project, name);
  await createVersion(ctx, prompt, { prompt: "v2" });
  if (!keepSetup) await s.drainEvents();
  prompt = await findPrompt(ctx, project, name);
  await moveLabel(ctx, prompt, "production", { version: 2 });
  return name;
}

const ok = () => new Response("thanks", { status: 200 });

describe("fan-out", () => {
  it("a promotion becomes one prompt.label.moved delivery with names, versions, actor and links — and no request id", async () => {
    const s = await setup({ eventTypes: ["prompt.label.moved"] });
    const name = await promotion(s);
    const messages = await s.drainEvents();
    expect(messages).toHaveLength(1);
    const delivery = await getDelivery(
      s.ctx,
      s.project,
      s.endpoint.id,
      messages[0]?.deliveryId ?? "",
    );
    expect(delivery.eventType).toBe("prompt.label.moved");
    expect(delivery.payload).toMatchObject({
      type: "prompt.label.moved",
      data: {
        project: s.project,
        prompt: { name, type: "text" },
        label: "production",
        fromVersion: 1,
        toVersion: 2,
        isRollback: false,
        actor: { id: "key_tester", name: "Ada" },
        links: {
          admin: `https://admin.example.com/projects/${s.project}/prompts/${encodeURIComponent(name)}`,
          edge: `https://edge.example.com/v1/prompts/${encodeURIComponent(name)}`,
        },
      },
    });
    expect(JSON.stringify(delivery.payload)).not.toContain("req_");
    expect(JSON.stringify(delivery.payload)).not.toContain("whsec_");
  });

  it("an endpoint subscribed to nothing gets every webhook type; key and project events are never delivered", async () => {
    const s = await setup();
    await promotion(s, true);
    const created = await api("POST", `/projects/${s.project}/keys`, { name: "r", role: "reader" });
    expect(created.status).not.toBe(500);
    s.events.sent.push({
      eventId: "evt_internal",
      type: "key.created",
      projectId: s.project,
      publishTarget: null,
      payload: {},
      createdAt: new Date().toISOString(),
    });
    await s.drainEvents();
    const rows = await db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.endpointId, s.endpoint.id));
    // Label moves: latest and production to v1, latest to v2, production to v2.
    expect(rows.map((r) => r.eventType).sort()).toEqual([
      "prompt.created",
      "prompt.label.moved",
      "prompt.label.moved",
      "prompt.label.moved",
      "prompt.label.moved",
      "prompt.version.created",
    ]);
  });

  it("deleting a label and restoring a prompt are delivered: both change what the edge serves", async () => {
    const s = await setup({ eventTypes: ["prompt.label.deleted", "prompt.restored"] });
    const name = uniqueName();
    await createPrompt(s.ctx, s.project, { name, version: { prompt: "v1", labels: ["staging"] } });
    await deleteLabel(s.ctx, await findPrompt(s.ctx, s.project, name), "staging");
    const [deleted, ...others] = await s.drainEvents();
    expect(others).toEqual([]);
    const delivery = await getDelivery(s.ctx, s.project, s.endpoint.id, deleted?.deliveryId ?? "");
    expect(delivery.payload).toMatchObject({
      type: "prompt.label.deleted",
      data: {
        project: s.project,
        prompt: { name, type: "text" },
        label: "staging",
        fromVersion: 1,
        actor: { id: "key_tester", name: "Ada" },
        links: { edge: `https://edge.example.com/v1/prompts/${encodeURIComponent(name)}` },
      },
    });

    await updatePrompt(s.ctx, await findPrompt(s.ctx, s.project, name), { archived: true });
    await updatePrompt(s.ctx, await findPrompt(s.ctx, s.project, name), { archived: false });
    const [restored, ...rest] = await s.drainEvents();
    expect(rest).toEqual([]);
    const restoredDelivery = await getDelivery(
      s.ctx,
      s.project,
      s.endpoint.id,
      restored?.deliveryId ?? "",
    );
    expect(restoredDelivery.payload).toMatchObject({
      type: "prompt.restored",
      data: { project: s.project, prompt: { name, type: "text" } },
    });
  });

  it("a redelivered event adds no delivery and sends nothing twice once attempted", async () => {
    const s = await setup();
    await promotion(s, true);
    const events = [...s.events.sent];
    const first = await s.drainEvents();
    for (const m of first) await attempt(m.deliveryId, 1, receiver([ok]).fetch);
    s.events.sent.push(...events);
    expect(await s.drainEvents()).toEqual([]);
    const rows = await db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.endpointId, s.endpoint.id));
    expect(first).toHaveLength(6);
    expect(rows).toHaveLength(first.length);
  });
});

describe("delivery", () => {
  it("POSTs JSON with Standard Webhooks headers that the standardwebhooks library verifies", async () => {
    const s = await setup();
    await promotion(s, true);
    const messages = await s.drainEvents();
    const r = receiver([ok]);
    for (const m of messages)
      expect((await attempt(m.deliveryId, 1, r.fetch)).explicitAcks).toHaveLength(1);
    expect(r.received).toHaveLength(6);
    const verifier = new Webhook(s.secret);
    for (const request of r.received) {
      expect(request.url).toBe("https://ci.example.com/hook");
      expect(request.headers["content-type"]).toBe("application/json");
      const verified = verifier.verify(request.body, request.headers) as { type: string };
      expect(verified.type).toMatch(/^prompt\./);
    }
  });

  it("retries keep the webhook-id, get a fresh timestamp, follow the documented backoff, and the last succeeds", async () => {
    const s = await setup({ eventTypes: ["prompt.label.moved"] });
    await promotion(s);
    const [message] = await s.drainEvents();
    const deliveryId = message?.deliveryId ?? "";
    const r = receiver([
      () => new Response("boom", { status: 500 }),
      () => new Response("boom", { status: 502 }),
      ok,
    ]);
    const timestamps: number[] = [];
    const delays: (number | undefined)[] = [];
    for (let n = 1; n <= 3; n++) {
      const result = await attempt(deliveryId, n, r.fetch);
      delays.push(result.retries[0]?.delaySeconds);
      timestamps.push(Number(r.received[n - 1]?.headers["webhook-timestamp"]));
      // A new second per attempt makes "fresh timestamp" observable.
      if (n < 3) await new Promise((resolve) => setTimeout(resolve, 1100));
    }
    expect(delays).toEqual([RETRY_SCHEDULE_SECONDS[0], RETRY_SCHEDULE_SECONDS[1], undefined]);
    expect(new Set(r.received.map((q) => q.headers["webhook-id"]))).toEqual(new Set([deliveryId]));
    expect(timestamps[1]).toBeGreaterThan(timestamps[0] ?? 0);
    expect(timestamps[2]).toBeGreaterThan(timestamps[1] ?? 0);
    for (const request of r.received) new Webhook(s.secret).verify(request.body, request.headers);
    const delivery = await getDelivery(s.ctx, s.project, s.endpoint.id, deliveryId);
    expect(delivery).toMatchObject({
      status: "succeeded",
      attempts: 3,
      lastStatusCode: 200,
      nextRetryAt: null,
    });
    expect(delivery.attemptLog.map((a) => a.statusCode)).toEqual([500, 502, 200]);
    expect(delivery.attemptLog.every((a) => typeof a.latencyMs === "number")).toBe(true);
  });

  it("honours Retry-After, in seconds or as an HTTP date", async () => {
    const s = await setup({ eventTypes: ["prompt.label.moved"] });
    await promotion(s);
    const [message] = await s.drainEvents();
    const id = message?.deliveryId ?? "";
    const seconds = await attempt(
      id,
      1,
      receiver([
        () => new Response("slow down", { status: 429, headers: { "retry-after": "120" } }),
      ]).fetch,
    );
    expect(seconds.retries).toEqual([{ msgId: `m-${id}-1`, delaySeconds: 120 }]);
    const date = new Date(Date.now() + 600_000).toUTCString();
    const dated = await attempt(
      id,
      2,
      receiver([() => new Response("", { status: 503, headers: { "retry-after": date } })]).fetch,
    );
    expect(dated.retries[0]?.delaySeconds).toBeGreaterThanOrEqual(598);
    expect(dated.retries[0]?.delaySeconds).toBeLessThanOrEqual(600);
    const row = await getDelivery(s.ctx, s.project, s.endpoint.id, id);
    expect(row.status).toBe("retrying");
    expect(Date.parse(row.nextRetryAt ?? "")).toBeGreaterThan(Date.now() + 590_000);
  });

  it("a 3xx is a failure and its Location is not followed", async () => {
    const s = await setup({ eventTypes: ["prompt.label.moved"] });
    await promotion(s);
    const [message] = await s.drainEvents();
    const r = receiver([
      () => new Response(null, { status: 302, headers: { location: "https://169.254.169.254/" } }),
    ]);
    const result = await attempt(message?.deliveryId ?? "", 1, r.fetch);
    expect(result.retryMessages).toHaveLength(1);
    expect(r.received.map((q) => q.url)).toEqual(["https://ci.example.com/hook"]);
    const row = await getDelivery(s.ctx, s.project, s.endpoint.id, message?.deliveryId ?? "");
    expect(row).toMatchObject({ status: "retrying", lastStatusCode: 302 });
    expect(row.lastError).toMatch(/not followed/);
  });

  it("410 Gone disables the endpoint (audited), fails the delivery, and stops further deliveries", async () => {
    const s = await setup({ eventTypes: ["prompt.label.moved"] });
    await promotion(s);
    const [message] = await s.drainEvents();
    const result = await attempt(
      message?.deliveryId ?? "",
      1,
      receiver([() => new Response("", { status: 410 })]).fetch,
    );
    expect(result.explicitAcks).toHaveLength(1);
    const endpoint = await db.query.webhookEndpoints.findFirst({
      where: eq(webhookEndpoints.id, s.endpoint.id),
    });
    expect(endpoint).toMatchObject({ active: false });
    expect(endpoint?.disabledReason).toMatch(/410/);
    expect(
      (await getDelivery(s.ctx, s.project, s.endpoint.id, message?.deliveryId ?? "")).status,
    ).toBe("failed");
    await promotion(s);
    expect(await s.drainEvents()).toEqual([]);
  });

  it("a PATCH of the description keeps an endpoint that a 410 disabled meanwhile disabled", async () => {
    const s = await setup({ eventTypes: ["prompt.label.moved"] });
    await promotion(s);
    const [message] = await s.drainEvents();
    // The 410 lands between the PATCH's read of the endpoint and its write.
    const racing: typeof db = Object.create(db);
    racing.batch = async (statements) => {
      await attempt(
        message?.deliveryId ?? "",
        1,
        receiver([() => new Response("", { status: 410 })]).fetch,
      );
      return db.batch(statements);
    };
    const view = await updateEndpoint(
      { ...s.ctx, db: racing },
      s.project,
      s.endpoint.id,
      { description: "nightly evals" },
      { allowLoopback: false },
    );
    expect(view).toMatchObject({ description: "nightly evals", active: false });
    expect(view.disabledReason).toMatch(/410/);

    // Only an explicit `active: true` re-enables it, and clears the reason.
    const enabled = await updateEndpoint(
      s.ctx,
      s.project,
      s.endpoint.id,
      { active: true },
      { allowLoopback: false },
    );
    expect(enabled).toMatchObject({ active: true, disabledReason: null });
  });

  it("a timeout or refused connection is a failure that is retried", async () => {
    const s = await setup({ eventTypes: ["prompt.label.moved"] });
    await promotion(s);
    const [message] = await s.drainEvents();
    const hanging = (async (_input: RequestInfo | URL, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
      })) as typeof fetch;
    const batch = createMessageBatch<DeliveryMessage>("cuecard-webhooks", [
      {
        id: "t1",
        timestamp: new Date(),
        attempts: 1,
        body: { deliveryId: message?.deliveryId ?? "" },
      },
    ]);
    await consumeWebhookDeliveries(batch, {
      db,
      fetch: hanging,
      allowLoopback: false,
      timeoutMs: 50,
    });
    expect((await getQueueResult(batch, createExecutionContext())).retryMessages).toHaveLength(1);
    const row = await getDelivery(s.ctx, s.project, s.endpoint.id, message?.deliveryId ?? "");
    expect(row.lastError).toMatch(/No response within/);
  });

  it("one failing message in a batch of ten: nine acked, one retried", async () => {
    const s = await setup({ eventTypes: ["prompt.label.moved"] });
    const messages: DeliveryMessage[] = [];
    for (let i = 0; i < 10; i++) {
      await promotion(s);
      messages.push(...(await s.drainEvents()));
    }
    expect(messages).toHaveLength(10);
    const failing = messages[4]?.deliveryId;
    const fetchFn = (async (_input: RequestInfo | URL, init?: RequestInit) => {
      const id = new Headers(init?.headers).get("webhook-id");
      return new Response("", { status: id === failing ? 500 : 204 });
    }) as typeof fetch;
    const batch = createMessageBatch<DeliveryMessage>(
      "cuecard-webhooks",
      messages.map((body, i) => ({ id: `b${i}`, timestamp: new Date(), attempts: 1, body })),
    );
    const observed = observe(batch);
    await consumeWebhookDeliveries(batch, { db, fetch: fetchFn, allowLoopback: false });
    const result = await observed();
    expect(result.explicitAcks.sort()).toEqual([
      "b0",
      "b1",
      "b2",
      "b3",
      "b5",
      "b6",
      "b7",
      "b8",
      "b9",
    ]);
    expect(result.retryMessages).toEqual([{ msgId: "b4" }]);
    expect(result.retries).toEqual([{ msgId: "b4", delaySeconds: RETRY_SCHEDULE_SECONDS[0] }]);
    expect(result.retryBatch.retry).toBe(false);
    // Ten promotions, each with its prompt and versions, take a while on a loaded machine.
  }, 30_000);

  it("always failing: 1 + max_retries attempts, the last marks it failed (the dead-letter consumer changes nothing); redeliver replays it with the same id", async () => {
    const s = await setup({ eventTypes: ["prompt.label.moved"] });
    await promotion(s);
    const [message] = await s.drainEvents();
    const id = message?.deliveryId ?? "";
    const failing = receiver([() => new Response("down", { status: 503 })]);
    for (let n = 1; n <= WEBHOOK_MAX_RETRIES; n++) {
      const result = await attempt(id, n, failing.fetch);
      expect(result.retryMessages).toHaveLength(1);
      expect((await getDelivery(s.ctx, s.project, s.endpoint.id, id)).status).toBe("retrying");
    }
    const last = await attempt(id, 1 + WEBHOOK_MAX_RETRIES, failing.fetch);
    expect(last.retryMessages).toEqual([]);
    expect(last.explicitAcks).toHaveLength(1);
    expect(failing.received).toHaveLength(1 + WEBHOOK_MAX_RETRIES);
    const failed = await getDelivery(s.ctx, s.project, s.endpoint.id, id);
    expect(failed).toMatchObject({
      status: "failed",
      attempts: 6,
      lastStatusCode: 503,
      nextRetryAt: null,
    });
    expect(failed.lastError).toMatch(/503.*redeliver/);

    // The dead-letter consumer (the worker's) is a backstop: a failed delivery stays as it was.
    const dlq = createMessageBatch<DeliveryMessage>("cuecard-webhooks-dlq", [
      { id: "dl1", timestamp: new Date(), attempts: 1, body: { deliveryId: id } },
    ]);
    await worker.queue(dlq, env);
    expect((await getQueueResult(dlq, createExecutionContext())).explicitAcks).toEqual(["dl1"]);
    expect(await getDelivery(s.ctx, s.project, s.endpoint.id, id)).toEqual(failed);

    // Visible through the API, and replayable.
    await redeliver(s.ctx, s.project, s.endpoint.id, id);
    const resent = await s.drainEvents();
    // A new round: messages still queued for the earlier one are dropped by the consumer.
    expect(resent).toEqual([{ deliveryId: id, round: 1 }]);
    const r = receiver([ok]);
    await attempt(id, 1, r.fetch);
    expect(r.received[0]?.headers["webhook-id"]).toBe(id);
    expect(r.received[0]?.body).toBe(failing.received[0]?.body);
    const replayed = await getDelivery(s.ctx, s.project, s.endpoint.id, id);
    expect(replayed).toMatchObject({ status: "succeeded", attempts: 7 });
    const attempts = await db
      .select()
      .from(webhookAttempts)
      .where(eq(webhookAttempts.deliveryId, id));
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it("webhook.test goes to the one endpoint it was sent to", async () => {
    const s = await setup({ eventTypes: ["prompt.created"] });
    const other = await createEndpoint(
      s.ctx,
      s.project,
      { url: "https://other.example.com/h" },
      { allowLoopback: false },
    );
    s.events.sent.splice(0);
    await sendTestEvent(s.ctx, s.project, s.endpoint.id);
    const [message] = await s.drainEvents();
    const delivery = await getDelivery(s.ctx, s.project, s.endpoint.id, message?.deliveryId ?? "");
    expect(delivery.eventType).toBe("webhook.test");
    const toOther = await db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.endpointId, other.endpoint.id));
    expect(toOther).toEqual([]);
  });
});

describe("through the Queues runtime", () => {
  it("send test event → events queue → fan-out → deliveries queue → a POST that verifies, logged as succeeded", async () => {
    const project = uniqueName("whq").replaceAll("/", "-");
    const boot = await api(
      "POST",
      "/bootstrap",
      { project },
      { authorization: `Bearer ${env.ADMIN_BOOTSTRAP_TOKEN}` },
    );
    const auth = { authorization: `Bearer ${(await json(boot)).secret}` };
    const created = await json(
      await api(
        "POST",
        `/projects/${project}/webhooks`,
        { url: "https://receiver.example.com/cuecard" },
        auth,
      ),
    );
    // Outbound fetch mocking for the worker's own queue handler (same isolate as the test).
    const received: { headers: Record<string, string>; body: string }[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = async (input, init) => {
      const request = new Request(input, init);
      if (request.url !== "https://receiver.example.com/cuecard") return realFetch(input, init);
      received.push({ headers: Object.fromEntries(request.headers), body: await request.text() });
      return new Response("ok");
    };
    try {
      const sent = await api(
        "POST",
        `/projects/${project}/webhooks/${created.webhook.id}/test`,
        undefined,
        auth,
      );
      expect(sent.status).toBe(202);
      let log: { items: { status: string; eventType: string }[] } = { items: [] };
      for (let i = 0; i < 100 && log.items[0]?.status !== "succeeded"; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        log = await json(
          await api(
            "GET",
            `/projects/${project}/webhooks/${created.webhook.id}/deliveries`,
            undefined,
            auth,
          ),
        );
      }
      expect(log.items).toMatchObject([{ status: "succeeded", eventType: "webhook.test" }]);
      expect(received).toHaveLength(1);
      const request = received[0] ?? { body: "", headers: {} };
      expect(new Webhook(created.secret).verify(request.body, request.headers)).toMatchObject({
        type: "webhook.test",
      });
    } finally {
      globalThis.fetch = realFetch;
    }
  });
});
