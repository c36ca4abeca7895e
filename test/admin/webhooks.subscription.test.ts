import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createEndpoint } from "../../workers/modules/webhooks/endpoints";
import { type DeliveryMessage, fanOutEvent } from "../../workers/modules/webhooks/fan-out";
import type { EventMessage } from "../../workers/platform/context";
import { openDatabase } from "../../workers/platform/db/client";
import { api, uniqueName } from "./api";
import { testContext } from "./faults";

describe("which events an endpoint receives", () => {
  it("only events that happen after the endpoint exists, even when consumed later", async () => {
    const project = uniqueName("proj").slice(0, 40);
    const boot = await api(
      "POST",
      "/bootstrap",
      { project },
      { authorization: `Bearer ${env.ADMIN_BOOTSTRAP_TOKEN}` },
    );
    expect(boot.status).toBe(201);
    const db = openDatabase(env.DB);
    const ctx = testContext({
      actor: { id: "key_t", name: "Ada", role: "admin", projectId: project, via: "key" },
    });
    const before = new Date(Date.now() - 60_000).toISOString();
    await createEndpoint(
      ctx,
      project,
      { url: "https://ci.example.com/hook" },
      { allowLoopback: false },
    );
    const sent: DeliveryMessage[] = [];
    const deliveries = {
      async sendBatch(messages: Iterable<MessageSendRequest<DeliveryMessage>>) {
        for (const message of messages) sent.push(message.body);
      },
    } as unknown as Queue<DeliveryMessage>;
    const event = (createdAt: string): EventMessage => ({
      eventId: uniqueName("evt"),
      type: "prompt.label.moved",
      projectId: project,
      publishTarget: null,
      payload: { prompt: { name: "p", type: "text" }, label: "production", toVersion: 2 },
      createdAt,
    });
    const links = { adminUrl: "https://admin.example.com", edgeUrl: "https://edge.example.com" };
    expect(await fanOutEvent(event(before), { db, deliveries, links })).toBe(0);
    expect(await fanOutEvent(event(new Date().toISOString()), { db, deliveries, links })).toBe(1);
    expect(sent).toHaveLength(1);
  });
});
