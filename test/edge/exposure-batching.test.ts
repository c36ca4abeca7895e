import type { ExposureEvent } from "@cuecard/core/telemetry";
import { describe, expect, it } from "vitest";
import { EDGE_REPORTER_KEY_ID, telemetryExposureSink } from "../../workers/edge/exposures";

interface SentRequest {
  url: string;
  headers: Record<string, string>;
  events: ExposureEvent[];
}

/** A stand-in for the telemetry service binding that keeps what it was sent. */
function recordingService() {
  const sent: SentRequest[] = [];
  const service = {
    async fetch(input: RequestInfo | URL, init?: RequestInit) {
      const request = new Request(input, init);
      sent.push({
        url: request.url,
        headers: Object.fromEntries(request.headers),
        events: ((await request.json()) as { events: ExposureEvent[] }).events,
      });
      return new Response(JSON.stringify({ accepted: 0, rejected: 0, results: [] }));
    },
  } as unknown as Fetcher;
  return { sent, service };
}

const exposure = (unit: string, variant = "friendly", experiment = "exp_demo"): ExposureEvent => ({
  type: "exposure",
  id: crypto.randomUUID(),
  timestamp: "2026-12-01T00:00:00.000Z",
  experiment: { id: experiment, key: "tone", variant },
  unit,
  prompt: { name: "support/triage", version: 2, label: "production" },
});

describe("exposures sent to telemetry from the edge", () => {
  it("batches the exposures of many requests into one telemetry request per project", async () => {
    const { sent, service } = recordingService();
    const sink = telemetryExposureSink(service, 20);
    const waits: Promise<void>[] = [];
    for (let request = 0; request < 30; request++) {
      waits.push(sink.record("acme", [exposure(`user-${request}`)]));
    }
    waits.push(sink.record("globex", [exposure("user-0")]));
    expect(sent).toHaveLength(0);
    await Promise.all(waits);
    expect(
      sent.map((request) => [request.headers["cuecard-project-id"], request.events.length]),
    ).toEqual([
      ["acme", 30],
      ["globex", 1],
    ]);
    expect(sent[0]?.url).toMatch(/\/v1\/events$/);
    expect(sent[0]?.headers["cuecard-key-id"]).toBe(EDGE_REPORTER_KEY_ID);
  });

  it("sends a full batch of 100 at once, without waiting for the delay", async () => {
    const { sent, service } = recordingService();
    const sink = telemetryExposureSink(service, 60_000);
    const units = Array.from({ length: 100 }, (_, i) => exposure(`unit-${i}`));
    await sink.record("acme", units);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.events).toHaveLength(100);
  });

  it("does not report a unit again for the same arm; another arm or experiment is new", async () => {
    const { sent, service } = recordingService();
    const sink = telemetryExposureSink(service, 10);
    await Promise.all([
      sink.record("acme", [exposure("u1"), exposure("u1")]),
      sink.record("acme", [
        exposure("u1"),
        exposure("u1", "control"),
        exposure("u1", "friendly", "exp_other"),
      ]),
    ]);
    await sink.record("acme", [exposure("u1")]);
    const reported = sent.flatMap((request) =>
      request.events.map((e) => `${e.experiment.id}/${e.experiment.variant}/${e.unit}`),
    );
    expect(reported).toEqual([
      "exp_demo/friendly/u1",
      "exp_demo/control/u1",
      "exp_other/friendly/u1",
    ]);
  });
});
