/**
 * A real stop and start of the local platform over the same persisted state, with webhook work
 * in flight: deliveries waiting for a retry, and an event committed just before the stop. The
 * queues' messages do not survive the stop; after the start the cron (run by hand here, as
 * Cloudflare would every minute) finds the lost work, every event reaches every endpoint exactly
 * once successfully under one webhook-id, and a stuck delivery can be replayed.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePlatformPorts, type Platform, startPlatform } from "../../scripts/platform";
import { startWebhookReceiver, type WebhookReceiver } from "../../scripts/webhook-receiver";

const project = "e2e-restart";
let persistDir: string;
let platform: Platform | undefined;
let receiver: WebhookReceiver;
let receiverBase: string;
let adminKey: string;
/** While true the receiver answers 500, as a receiver that is down. */
let receiverDown = true;

async function start(): Promise<Platform> {
  return startPlatform({
    persistDir,
    ...(await freePlatformPorts()),
    isolateCacheTtlMs: 0,
    // The test runs the cron itself.
    scheduledIntervalMs: 0,
    // Loopback receivers are for local development only; a one-second grace keeps this short.
    adminVars: { WEBHOOK_ALLOW_LOOPBACK: "true", RECOVERY_GRACE_SECONDS: "1" },
  });
}

async function admin(method: string, path: string, body?: unknown, token = adminKey) {
  if (!platform) throw new Error("the platform is stopped");
  return fetch(`${platform.adminUrl}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

interface DeliveryView {
  id: string;
  eventId: string;
  status: string;
  attempts: number;
}

async function deliveries(webhookId: string): Promise<DeliveryView[]> {
  const response = await admin("GET", `/projects/${project}/webhooks/${webhookId}/deliveries`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: DeliveryView[] }).items;
}

async function until(condition: () => Promise<boolean>, timeoutMs: number, between?: () => void) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    between?.();
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return true;
}

beforeAll(async () => {
  receiver = await startWebhookReceiver(() =>
    // While down, ask for the retry in 10 s: long enough for the platform to stop first.
    receiverDown
      ? { status: 500, headers: { "retry-after": "10" }, body: "down" }
      : { status: 200, body: "ok" },
  );
  receiverBase = receiver.origin;
  persistDir = await mkdtemp(join(tmpdir(), "cuecard-e2e-restart-"));
  platform = await start();
  const boot = await admin(
    "POST",
    "/bootstrap",
    { project, keyName: "e2e restart" },
    platform.adminToken,
  );
  expect(boot.status).toBe(201);
  adminKey = ((await boot.json()) as { secret: string }).secret;
});

afterAll(async () => {
  await platform?.dispose();
  await receiver?.close();
  if (persistDir) await rm(persistDir, { recursive: true, force: true });
});

describe("a stop and start of the platform", () => {
  it("loses no webhook: retrying deliveries and a just-committed event are delivered once each after the restart", async () => {
    const endpoints: { id: string; secret: string; path: string }[] = [];
    for (const path of ["/a", "/b"]) {
      const created = await admin("POST", `/projects/${project}/webhooks`, {
        url: `${receiverBase}${path}`,
        eventTypes: ["prompt.label.moved"],
      });
      expect(created.status).toBe(201);
      const { webhook, secret } = (await created.json()) as {
        webhook: { id: string };
        secret: string;
      };
      endpoints.push({ id: webhook.id, secret, path });
    }

    const name = `e2e/restart-${Date.now()}`;
    const promptPath = `/projects/${project}/prompts/${encodeURIComponent(name)}`;
    const created = await admin("POST", `/projects/${project}/prompts`, {
      name,
      version: { prompt: "v1" },
    });
    expect(created.status).toBe(201);
    expect((await admin("POST", `${promptPath}/versions`, { prompt: "v2" })).status).toBe(201);
    // Label moves while the receiver is down: `latest` to v1 and to v2 (creating them moves it),
    // then production to v1 and to v2. Their deliveries fail and wait for a retry.
    for (const version of [1, 2]) {
      const moved = await admin("PUT", `${promptPath}/labels/production`, { version });
      expect(moved.status).toBe(200);
    }
    const retrying = await until(async () => {
      for (const endpoint of endpoints) {
        const items = await deliveries(endpoint.id);
        if (items.length !== 4 || items.some((d) => d.status !== "retrying")) return false;
      }
      return true;
    }, 8_000);
    expect(retrying).toBe(true);

    // One more move is committed and enqueued, and the platform stops right away.
    const lastMove = await admin("PUT", `${promptPath}/labels/staging`, { version: 2 });
    expect(lastMove.status).toBe(200);
    await platform?.dispose();
    platform = undefined;

    receiverDown = false;
    platform = await start();

    // A stuck delivery can be replayed at once, before any reconciliation.
    const [first] = endpoints;
    const stuck = (await deliveries(first?.id ?? "")).find((d) => d.status === "retrying");
    expect(stuck).toBeDefined();
    const replay = await admin(
      "POST",
      `/projects/${project}/webhooks/${first?.id}/deliveries/${stuck?.id}/redeliver`,
    );
    expect(replay.status).toBe(202);
    expect(
      await until(
        async () =>
          (await deliveries(first?.id ?? "")).find((d) => d.id === stuck?.id)?.status ===
          "succeeded",
        15_000,
      ),
    ).toBe(true);

    // The cron finds the rest: the retries that died with the platform, the unconsumed event.
    let cron = Promise.resolve();
    const allDelivered = await until(
      async () => {
        await cron;
        for (const endpoint of endpoints) {
          const items = await deliveries(endpoint.id);
          if (items.length !== 5 || items.some((d) => d.status !== "succeeded")) return false;
        }
        return true;
      },
      30_000,
      () => {
        cron = platform?.runScheduled() ?? Promise.resolve();
      },
    );
    expect(allDelivered).toBe(true);

    // More cron runs (and any late message) send nothing twice.
    await platform?.runScheduled();
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    for (const endpoint of endpoints) {
      const verifier = new Webhook(endpoint.secret);
      const mine = receiver.received.filter((r) => r.path === endpoint.path);
      const byEvent = new Map<string, { ids: Set<string>; successes: number }>();
      for (const request of mine) {
        const payload = verifier.verify(
          request.body,
          request.headers as Record<string, string>,
        ) as {
          type: string;
          data: { eventId: string };
        };
        expect(payload.type).toBe("prompt.label.moved");
        const entry = byEvent.get(payload.data.eventId) ?? { ids: new Set(), successes: 0 };
        entry.ids.add(String(request.headers["webhook-id"]));
        if (request.status === 200) entry.successes++;
        byEvent.set(payload.data.eventId, entry);
      }
      const logged = await deliveries(endpoint.id);
      expect([...byEvent.keys()].sort()).toEqual(logged.map((d) => d.eventId).sort());
      expect(byEvent.size).toBe(5);
      for (const [eventId, entry] of byEvent) {
        expect(entry.successes, `successful deliveries of ${eventId}`).toBe(1);
        // One webhook-id across every attempt: the delivery's id.
        expect([...entry.ids]).toEqual([logged.find((d) => d.eventId === eventId)?.id]);
      }
    }
  }, 240_000);
});
