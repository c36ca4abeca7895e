/**
 * Webhooks end to end on the real local platform: both workers served by Miniflare with real
 * Queues, and a receiver on loopback that fails each delivery twice (500) before it succeeds. One
 * promotion must become one logical delivery: the same webhook-id three times, three attempts in
 * the log. (Creating the prompt and its versions moves labels too: those are deliveries of their
 * own.)
 */
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startEphemeralPlatform } from "../../scripts/platform";
import { startWebhookReceiver, type WebhookReceiver } from "../../scripts/webhook-receiver";

const project = "e2e-webhooks";
let platform: Platform;
let receiver: WebhookReceiver;
let receiverUrl: string;
let adminKey: string;

async function admin(method: string, path: string, body?: unknown, token = adminKey) {
  return fetch(`${platform.adminUrl}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

beforeAll(async () => {
  receiver = await startWebhookReceiver((request, earlier) => {
    // The first two attempts of each delivery fail; Retry-After keeps the test short (the
    // schedule would wait 5 min).
    const id = request.headers["webhook-id"];
    return earlier.filter((r) => r.headers["webhook-id"] === id).length < 2
      ? { status: 500, headers: { "retry-after": "1" }, body: "temporarily broken" }
      : { status: 200, body: "ok" };
  });
  receiverUrl = `${receiver.origin}/cuecard`;

  // The receiver is already listening, so the platform's free ports cannot collide with it.
  platform = await startEphemeralPlatform("e2e-webhooks", {
    // The receiver listens on loopback, which only this local-development setting allows.
    adminVars: { WEBHOOK_ALLOW_LOOPBACK: "true" },
  });
  const boot = await admin(
    "POST",
    "/bootstrap",
    { project, keyName: "e2e webhooks" },
    platform.adminToken,
  );
  expect(boot.status).toBe(201);
  adminKey = ((await boot.json()) as { secret: string }).secret;
});

afterAll(async () => {
  await platform?.dispose();
  await receiver?.close();
});

describe("webhooks over the real platform", () => {
  it("a promotion reaches a flaky receiver: one event, same webhook-id, three attempts, nothing lost", async () => {
    const created = await admin("POST", `/projects/${project}/webhooks`, {
      url: receiverUrl,
      eventTypes: ["prompt.label.moved"],
      description: "e2e receiver",
    });
    expect(created.status).toBe(201);
    const { webhook, secret } = (await created.json()) as {
      webhook: { id: string };
      secret: string;
    };

    const name = `e2e/wh-${Date.now()}`;
    const path = `/projects/${project}/prompts/${encodeURIComponent(name)}`;
    expect(
      (
        await admin("POST", `/projects/${project}/prompts`, {
          name,
          version: { prompt: "v1", labels: ["production"] },
        })
      ).status,
    ).toBe(201);
    expect((await admin("POST", `${path}/versions`, { prompt: "v2" })).status).toBe(201);
    expect((await admin("PUT", `${path}/labels/production`, { version: 2 })).status).toBe(200);

    // latest and production to v1, latest to v2, then the promotion of production to v2.
    type Log = { items: { id: string; status: string; attempts: number; eventType: string }[] };
    let log: Log = { items: [] };
    const done = () => log.items.length === 4 && log.items.every((d) => d.status === "succeeded");
    for (let i = 0; i < 160 && !done(); i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      log = (await (
        await admin("GET", `/projects/${project}/webhooks/${webhook.id}/deliveries`)
      ).json()) as Log;
    }
    expect(log.items).toHaveLength(4);
    const verifier = new Webhook(secret);
    const promotion = receiver.received.filter((r) => {
      const { data } = verifier.verify(r.body, r.headers as Record<string, string>) as {
        data: { label: string; fromVersion: number | null };
      };
      return data.label === "production" && data.fromVersion === 1;
    });
    const delivery = log.items.find((d) => d.id === promotion[0]?.headers["webhook-id"]);
    expect(delivery).toMatchObject({
      status: "succeeded",
      attempts: 3,
      eventType: "prompt.label.moved",
    });

    expect(promotion.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(new Set(promotion.map((r) => r.headers["webhook-id"]))).toEqual(new Set([delivery?.id]));
    for (const request of promotion) {
      const payload = verifier.verify(request.body, request.headers as Record<string, string>);
      expect(payload).toMatchObject({
        type: "prompt.label.moved",
        data: {
          prompt: { name },
          label: "production",
          fromVersion: 1,
          toVersion: 2,
          isRollback: false,
        },
      });
    }

    const detail = (await (
      await admin("GET", `/projects/${project}/webhooks/${webhook.id}/deliveries/${delivery?.id}`)
    ).json()) as { attemptLog: { attempt: number; statusCode: number }[] };
    expect(detail.attemptLog.map((a) => [a.attempt, a.statusCode])).toEqual([
      [1, 500],
      [2, 500],
      [3, 200],
    ]);
  });
});
