import { createMessageBatch } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { createEndpoint } from "../../workers/modules/webhooks/endpoints";
import {
  type DeliveryMessage,
  fanOutEvent,
  type WebhookFanOut,
} from "../../workers/modules/webhooks/fan-out";
import type { EventMessage } from "../../workers/platform/context";
import { consumeEvents } from "../../workers/platform/events-consumer";
import { api, uniqueName } from "./api";
import { testContext } from "./faults";

/**
 * Webhook work driven step by step: a project of its own with one endpoint, whose events are
 * captured from a stand-in events queue and, on `drainEvents()`, run through the real events
 * consumer and fan-out into a stand-in deliveries queue. Nothing is attempted until a test says so.
 */

/** A queue that keeps what is sent to it, and consumes nothing. */
export function recordingQueue<T>() {
  const sent: T[] = [];
  const queue = {
    async send(body: T) {
      sent.push(body);
    },
    async sendBatch(messages: Iterable<MessageSendRequest<T>>) {
      for (const message of messages) sent.push(message.body);
    },
  } as unknown as Queue<T>;
  return { queue, sent };
}

/** `prefix` names the project; `endpoint` is the one webhook it gets. */
export async function webhookProject(
  prefix: string,
  endpoint: Parameters<typeof createEndpoint>[2],
) {
  const project = uniqueName(prefix).replaceAll("/", "-");
  const boot = await api(
    "POST",
    "/bootstrap",
    { project },
    { authorization: `Bearer ${env.ADMIN_BOOTSTRAP_TOKEN}` },
  );
  expect(boot.status).toBe(201);
  const adminKey = ((await boot.json()) as { secret: string }).secret;
  const events = recordingQueue<EventMessage>();
  const deliveries = recordingQueue<DeliveryMessage>();
  const ctx = testContext({
    events: events.queue,
    actor: { id: "key_tester", name: "Ada", role: "admin", projectId: project, via: "key" },
    requestId: `req_${crypto.randomUUID()}`,
  });
  const created = await createEndpoint(ctx, project, endpoint, { allowLoopback: false });
  const fanOut: WebhookFanOut = {
    db: ctx.db,
    deliveries: deliveries.queue,
    links: { adminUrl: "https://admin.example.com", edgeUrl: "https://edge.example.com" },
  };
  /** Runs the events consumer over everything committed since the last call. */
  async function drainEvents() {
    const batch = createMessageBatch(
      "cuecard-events",
      events.sent
        .splice(0)
        .map((body, i) => ({ id: `e${i}`, timestamp: new Date(), attempts: 1, body })),
    );
    await consumeEvents(batch, ctx, (event) => fanOutEvent(event, fanOut));
    return deliveries.sent.splice(0);
  }
  return {
    project,
    adminKey,
    ctx,
    endpoint: created.endpoint,
    secret: created.secret,
    events,
    deliveries,
    fanOut,
    drainEvents,
  };
}
