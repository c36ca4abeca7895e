import { describe, expect, it } from "vitest";
import { fromEdge, newProject } from "./harness";
import { hex, waitForTotals, withRecordingQueue } from "./langfuse-helpers";

type Attribute = { key: string; value: Record<string, unknown> };
const str = (key: string, value: string): Attribute => ({ key, value: { stringValue: value } });
const int = (key: string, value: number): Attribute => ({ key, value: { intValue: value } });

function span(attributes: Attribute[], startMs: number, durationMs: number) {
  const start = BigInt(startMs) * 1_000_000n;
  return {
    traceId: hex(32),
    spanId: hex(16),
    name: "triage",
    kind: 1,
    startTimeUnixNano: String(start),
    endTimeUnixNano: String(start + BigInt(durationMs * 1_000_000)),
    attributes,
  };
}

function exportRequest(spans: unknown[]) {
  return {
    resourceSpans: [
      {
        resource: { attributes: [str("service.name", "support-bot")] },
        scopeSpans: [{ scope: { name: "langfuse-sdk" }, spans }],
      },
    ],
  };
}

/** A generation as `@langfuse/tracing` 5.11.1 puts it on its span (no gen_ai.* attribute). */
function langfuseGeneration(startMs: number, durationMs: number) {
  return span(
    [
      str("langfuse.observation.type", "generation"),
      str("langfuse.observation.model.name", "gpt-4o"),
      str("langfuse.observation.usage_details", JSON.stringify({ input: 400, output: 100 })),
      str(
        "langfuse.observation.completion_start_time",
        JSON.stringify(new Date(startMs + 200).toISOString()),
      ),
      str("langfuse.observation.prompt.name", "support/triage"),
      int("langfuse.observation.prompt.version", 7),
      str("langfuse.observation.input", JSON.stringify([{ role: "user", content: "hi" }])),
    ],
    startMs,
    durationMs,
  );
}

const otlp = (body: unknown, project: string) =>
  fromEdge("/api/public/otel/v1/traces", body, { project });

describe("POST /api/public/otel/v1/traces", () => {
  it("reads Langfuse generation spans and gen_ai spans into the prompt version's metrics, ignoring other observations", async () => {
    const project = newProject();
    const startMs = Date.now() - 60_000;
    const genAi = span(
      [
        str("gen_ai.request.model", "gpt-4o"),
        int("gen_ai.usage.input_tokens", 50),
        int("gen_ai.usage.output_tokens", 10),
        str("langfuse.observation.prompt.name", "support/triage"),
        int("langfuse.observation.prompt.version", 7),
      ],
      startMs,
      90,
    );
    const retrieval = span([str("langfuse.observation.type", "span")], startMs, 5);
    const response = await otlp(
      exportRequest([langfuseGeneration(startMs, 1200), genAi, retrieval]),
      project,
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});

    const total = await waitForTotals(project, "support/triage", 7, (t) => t.calls === 2);
    expect(total).toMatchObject({
      calls: 2,
      errors: 0,
      inputTokens: 450,
      outputTokens: 110,
      // 90 ms and 1200 ms: buckets ending at 100 ms and 1500 ms. Only the Langfuse span has a
      // first token (200 ms, the bucket ending at 250 ms).
      latencyMs: { p50: 100, p95: 1500 },
      timeToFirstTokenMs: { p50: 250 },
    });
  });

  it("counts a Langfuse ERROR level as an error", async () => {
    const startMs = Date.now() - 30_000;
    const failed = langfuseGeneration(startMs, 40);
    failed.attributes.push(
      str("langfuse.observation.level", "ERROR"),
      str("langfuse.observation.status_message", "rate limited"),
    );
    const { response, sent } = await withRecordingQueue(
      "/api/public/otel/v1/traces",
      JSON.stringify(exportRequest([failed])),
    );
    expect(response.status).toBe(200);
    expect(sent.flatMap((message) => message.events)).toMatchObject([
      {
        type: "generation",
        id: `${failed.traceId}:${failed.spanId}`,
        error: { type: "error", message: "rate limited" },
        prompt: { name: "support/triage", version: 7 },
      },
    ]);
  });

  it("answers an empty export with 200 {} and writes nothing", async () => {
    const { response, sent } = await withRecordingQueue(
      "/api/public/otel/v1/traces",
      JSON.stringify({ resourceSpans: [] }),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});
    expect(sent).toEqual([]);
  });

  it("refuses a malformed export whole, another content type and protobuf with Langfuse-shaped 400s", async () => {
    const good = langfuseGeneration(Date.now() - 1000, 10);
    for (const [raw, headers] of [
      ["{resourceSpans", {}],
      [JSON.stringify({ resourceSpans: "x" }), {}],
      [JSON.stringify([exportRequest([good])]), {}],
      [JSON.stringify(exportRequest([good])), { "content-type": "text/plain" }],
      ["\n\x00", { "content-type": "application/x-protobuf" }],
    ] as const) {
      const { response, sent } = await withRecordingQueue(
        "/api/public/otel/v1/traces",
        raw,
        headers,
      );
      expect(response.status, raw).toBe(400);
      expect(response.headers.get("content-type")).toBe("application/json");
      const body = (await response.json()) as { message: string; error: string };
      expect(body.error).toBe("InvalidRequestError");
      expect(sent).toEqual([]);
      if (headers["content-type"] === "application/x-protobuf") {
        expect(body.message).toMatch(/http\/json/);
      }
    }
  });

  it("takes an export larger than a Cuecard event batch, as Langfuse spans carry their input and output", async () => {
    const startMs = Date.now() - 10_000;
    const spans = Array.from({ length: 20 }, () => {
      const generation = langfuseGeneration(startMs, 30);
      generation.attributes.push(str("langfuse.observation.output", "x".repeat(50_000)));
      return generation;
    });
    const { response, sent } = await withRecordingQueue(
      "/api/public/otel/v1/traces",
      JSON.stringify(exportRequest(spans)),
    );
    expect(response.status).toBe(200);
    expect(sent.flatMap((message) => message.events)).toHaveLength(20);
  });
});
