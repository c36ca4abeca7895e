import { env } from "cloudflare:workers";
import {
  EVENT_AGE_MAX_MS,
  EVENT_BATCH_MAX_BYTES,
  EVENTS_PER_BATCH_MAX,
  type IngestResponse,
} from "@cuecard/core/telemetry";
import { describe, expect, it } from "vitest";
import worker from "../../workers/telemetry/index";
import type { TelemetryMessage } from "../../workers/telemetry/ingest";
import {
  fromEdge,
  generation,
  generationTotals,
  newId,
  newProject,
  score,
  sendEvents,
  waitForCalls,
} from "./harness";

describe("POST /v1/events", () => {
  it("accepts valid events and rejects the others one by one, saying why (207)", async () => {
    const project = newProject();
    const good = generation();
    const response = await sendEvents(project, [
      good,
      { ...generation(), type: "completion" },
      generation({ id: "has space" }),
      generation({ id: "x".repeat(129) }),
      generation({ timestamp: new Date(Date.now() - EVENT_AGE_MAX_MS - 60_000).toISOString() }),
      generation({ timestamp: new Date(Date.now() + EVENT_AGE_MAX_MS + 60_000).toISOString() }),
      generation({ latencyMs: -1 }),
      generation({ inputTokens: 1.5 }),
      generation({ costUsd: 1e12 }),
      generation({ model: "m".repeat(201) }),
      generation({ error: { type: "timeout", message: "bad \ud800 text" } }),
      "not an event",
    ]);
    expect(response.status).toBe(207);
    const body = (await response.json()) as IngestResponse;
    expect(body.accepted).toBe(1);
    expect(body.rejected).toBe(11);
    expect(body.results[0]).toEqual({ id: good.id, index: 0, status: "accepted" });
    const reasons = body.results.map((result) =>
      result.status === "rejected" ? result.errors.map((error) => error.path) : "accepted",
    );
    expect(reasons).toEqual([
      "accepted",
      ["type"],
      ["id"],
      ["id"],
      ["timestamp"],
      ["timestamp"],
      ["latencyMs"],
      ["inputTokens"],
      ["costUsd"],
      ["model"],
      ["error.message"],
      [""],
    ]);
    // An oversized id is not echoed; the others are, so the sender can match its events.
    expect(body.results[3]?.id).toBeNull();
    expect(body.results[2]?.id).toBe("has space");
    const tooOld = body.results[4];
    expect(tooOld?.status === "rejected" && tooOld.errors[0]?.message).toMatch(/too old/);
    const surrogate = body.results[10];
    expect(surrogate?.status === "rejected" && surrogate.errors[0]?.message).toMatch(/surrogate/);
  });

  it("judges every event type field by field, naming each problem's path", async () => {
    const at = new Date().toISOString();
    const experiment = { id: "exp-1", key: "checkout", variant: "b" };
    const prompt = { name: "support/triage", version: 2, label: "production" };
    const response = await sendEvents(newProject(), [
      { type: "exposure", id: "x1", timestamp: at, experiment, unit: "u1", prompt },
      { type: "conversion", id: "c1", timestamp: at, name: "purchase", unit: "u1", value: -5 },
      { type: "score", id: "s1", timestamp: at, name: "ok", value: "great", generationId: "g1" },
      { type: "exposure", id: "x2", timestamp: at, experiment: { id: "exp-1" }, unit: "", prompt },
      generation({ prompt: { name: "bad|name", version: 0, label: "has space" } }),
      generation({ stream: null as unknown as boolean, error: { type: "" }, spanId: "ABC" }),
      { type: "score", id: "s2", timestamp: "2026-02-30T00:00:00Z", name: "ok", value: [1] },
      { type: "conversion", id: "c2", timestamp: at, name: "purchase", unit: "u1", value: 1e6 },
    ]);
    expect(response.status).toBe(207);
    const body = (await response.json()) as IngestResponse;
    const paths = body.results.map((result) =>
      result.status === "rejected" ? result.errors.map((error) => error.path).sort() : "accepted",
    );
    expect(paths).toEqual([
      "accepted",
      "accepted",
      "accepted",
      ["experiment.key", "experiment.variant", "unit"],
      ["prompt.label", "prompt.name", "prompt.version"],
      ["error.type", "spanId", "stream"],
      ["generationId", "timestamp", "value"],
      ["value"],
    ]);
    const messages = body.results.flatMap((result) =>
      result.status === "rejected" ? result.errors.map((error) => error.message) : [],
    );
    expect(messages).toContain("must be a string");
    expect(messages).toContain("must not be empty");
    expect(messages).toContain("must be at most 100000");
    expect(messages).toContain("must be 16 lowercase hex digits");
  });

  it("keeps times in UTC and drops fields it does not know", async () => {
    const sent: TelemetryMessage[][] = [];
    const recordingQueue = {
      sendBatch: async (messages: { body: TelemetryMessage }[]) => {
        sent.push(messages.map((message) => message.body));
      },
    } as unknown as Queue;
    // An hour ago, written as the wall time two hours east of UTC.
    const anHourAgo = Date.now() - 3_600_000;
    const offset = new Date(anHourAgo + 7_200_000).toISOString().replace(/\.\d+Z$/, "+02:00");
    const event = { ...generation({ timestamp: offset }), fromNewerSdk: { nested: "\ud800" } };
    const response = await worker.fetch(
      new Request("http://telemetry.internal/v1/events", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "cuecard-project-id": newProject(),
          "cuecard-key-id": "key_utc",
        },
        body: JSON.stringify({ events: [event] }),
      }),
      { ...env, TELEMETRY_EVENTS: recordingQueue },
      { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext,
    );
    expect(response.status).toBe(200);
    const [queued] = sent.flat().flatMap((message) => message.events);
    expect(queued?.timestamp).toBe(`${new Date(anHourAgo).toISOString().slice(0, 19)}.000Z`);
    expect(queued?.timestamp.endsWith("Z")).toBe(true);
    expect(queued).not.toHaveProperty("fromNewerSdk");
  });

  it("answers 200 when every event was accepted, and the consumer counts each once", async () => {
    const project = newProject();
    const response = await sendEvents(project, [
      generation({ inputTokens: 1000, outputTokens: 500 }),
      generation({ inputTokens: 1000, outputTokens: 500 }),
    ]);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ accepted: 2, rejected: 0 });
    const totals = await waitForCalls(project, 2);
    expect(totals).toMatchObject({ calls: 2, input_tokens: 2000, output_tokens: 1000 });
    // No cost sent: priced from the table (gpt-4o-mini: $0.15 in, $0.60 out per million).
    expect(totals.cost_usd).toBeCloseTo((2 * (1000 * 0.15 + 500 * 0.6)) / 1e6, 12);
  });

  it("counts an id sent twice in one batch, and again in a later batch, once", async () => {
    const project = newProject();
    const event = generation();
    const first = await sendEvents(project, [event, event]);
    expect(await first.json()).toMatchObject({ accepted: 2 });
    await waitForCalls(project, 1);
    const again = await sendEvents(project, [event, generation()]);
    expect(again.status).toBe(200);
    const totals = await waitForCalls(project, 2);
    // Let any late delivery land before checking nothing was counted twice.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await generationTotals(project)).calls).toBe(2);
    expect(totals.calls).toBe(2);
  });

  it("keeps the same id in two projects apart", async () => {
    const [a, b] = [newProject(), newProject()];
    const event = generation();
    await sendEvents(a, [event]);
    await sendEvents(b, [event]);
    await waitForCalls(a, 1);
    await waitForCalls(b, 1);
  });

  it("refuses more than EVENTS_PER_BATCH_MAX events whole (413)", async () => {
    const events = Array.from({ length: EVENTS_PER_BATCH_MAX + 1 }, () => generation());
    const response = await sendEvents(newProject(), events);
    expect(response.status).toBe(413);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(await response.json()).toMatchObject({
      code: "payload_too_large",
      maxEvents: EVENTS_PER_BATCH_MAX,
    });
  });

  it("refuses a body over EVENT_BATCH_MAX_BYTES whole (413)", async () => {
    const padding = "x".repeat(EVENT_BATCH_MAX_BYTES);
    const response = await fromEdge(
      "/v1/events",
      { events: [generation()], padding },
      { project: newProject() },
    );
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ code: "payload_too_large" });
  });

  it("answers 400 to a body that is not JSON, 422 without an events array, 415 to other types", async () => {
    const project = newProject();
    const notJson = await fromEdge("/v1/events", null, { project, raw: "{events: [" });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ code: "invalid_json" });

    const noEvents = await fromEdge("/v1/events", { event: [] }, { project });
    expect(noEvents.status).toBe(422);
    expect(await noEvents.json()).toMatchObject({
      code: "validation_failed",
      errors: [{ field: "body.events" }],
    });

    const form = await fromEdge("/v1/events", null, {
      project,
      raw: "events=1",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(form.status).toBe(415);
  });

  it("refuses requests without the edge's trusted headers (401)", async () => {
    const { exports } = await import("cloudflare:workers");
    for (const headers of <Record<string, string>[]>[
      { "content-type": "application/json" },
      { "content-type": "application/json", "cuecard-project-id": "p1" },
      { "content-type": "application/json", "cuecard-key-id": "key_1" },
    ]) {
      const response = await exports.default.fetch("http://telemetry.internal/v1/events", {
        method: "POST",
        headers,
        body: JSON.stringify({ events: [generation()] }),
      });
      expect(response.status).toBe(401);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
    }
  });

  it("answers 503 and accepts nothing when the queue cannot take the events", async () => {
    const project = newProject();
    const brokenQueue = {
      send: async () => {
        throw new Error("queue unavailable");
      },
      sendBatch: async () => {
        throw new Error("queue unavailable");
      },
    } as unknown as Queue;
    const request = new Request("http://telemetry.internal/v1/events", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "cuecard-project-id": project,
        "cuecard-key-id": "key_q",
      },
      body: JSON.stringify({ events: [generation()] }),
    });
    const response = await worker.fetch(request, { ...env, TELEMETRY_EVENTS: brokenQueue }, {
      waitUntil() {},
      passThroughOnException() {},
      props: {},
    } as unknown as ExecutionContext);
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
    expect(await response.json()).toMatchObject({ code: "unavailable" });
  });

  it("packs a full batch of large events into queue messages within the Queues limits", async () => {
    const project = newProject();
    const sent: TelemetryMessage[][] = [];
    const recordingQueue = {
      sendBatch: async (messages: { body: TelemetryMessage }[]) => {
        sent.push(messages.map((message) => message.body));
      },
    } as unknown as Queue;
    const events = Array.from({ length: EVENTS_PER_BATCH_MAX }, () =>
      generation({ error: { type: "provider_error", message: "é".repeat(1000) } }),
    );
    const response = await worker.fetch(
      new Request("http://telemetry.internal/v1/events", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "cuecard-project-id": project,
          "cuecard-key-id": "key_pack",
        },
        body: JSON.stringify({ events }),
      }),
      { ...env, TELEMETRY_EVENTS: recordingQueue },
      { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext,
    );
    expect(response.status).toBe(200);
    const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).byteLength;
    for (const send of sent) {
      expect(send.length).toBeLessThanOrEqual(100);
      expect(bytes(send)).toBeLessThan(256 * 1024);
      for (const message of send) expect(bytes(message)).toBeLessThan(128 * 1024);
    }
    expect(sent.flat().flatMap((message) => message.events.map((event) => event.id))).toEqual(
      events.map((event) => event.id),
    );
  });
});

describe("POST /v1/scores", () => {
  it("accepts one score without a type (202) and refuses a bad one with its fields (422)", async () => {
    const project = newProject();
    const { type: _type, ...withoutType } = score(newId("gen"));
    const accepted = await fromEdge("/v1/scores", withoutType, { project });
    expect(accepted.status).toBe(202);
    expect(await accepted.json()).toEqual({ id: withoutType.id, index: 0, status: "accepted" });

    const refused = await fromEdge(
      "/v1/scores",
      { ...withoutType, value: Number.MAX_VALUE * 10, name: "" },
      { project },
    );
    // MAX_VALUE * 10 is Infinity, which JSON sends as null: not a number, boolean or category.
    expect(refused.status).toBe(422);
    const problem = (await refused.json()) as { errors: { field: string }[] };
    expect(problem.errors.map((error) => error.field).sort()).toEqual(["body.name", "body.value"]);
  });
});
