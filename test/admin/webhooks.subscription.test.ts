import { describe, expect, it } from "vitest";
import { fanOutEvent } from "../../workers/modules/webhooks/fan-out";
import type { EventMessage } from "../../workers/platform/context";
import { uniqueName } from "./api";
import { webhookProject } from "./webhook-harness";

describe("which events an endpoint receives", () => {
  it("only events that happen after the endpoint exists, even when consumed later", async () => {
    const before = new Date(Date.now() - 60_000).toISOString();
    const s = await webhookProject("subscription", { url: "https://ci.example.com/hook" });
    const event = (createdAt: string): EventMessage => ({
      eventId: uniqueName("evt"),
      type: "prompt.label.moved",
      projectId: s.project,
      publishTarget: null,
      payload: { prompt: { name: "p", type: "text" }, label: "production", toVersion: 2 },
      createdAt,
    });
    expect(await fanOutEvent(event(before), s.fanOut)).toBe(0);
    expect(await fanOutEvent(event(new Date().toISOString()), s.fanOut)).toBe(1);
    expect(s.deliveries.sent).toHaveLength(1);
  });
});
