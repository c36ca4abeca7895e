import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { fromEdge, newProject, waitForCalls } from "./harness";

const hex = (length: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(length / 2)), (byte) =>
    byte.toString(16).padStart(2, "0"),
  ).join("");

type Attribute = { key: string; value: Record<string, unknown> };
const str = (key: string, value: string): Attribute => ({ key, value: { stringValue: value } });
const int = (key: string, value: number | string): Attribute => ({
  key,
  value: { intValue: value },
});

function span(
  attributes: Attribute[],
  options: { startMs: number; durationMs: number; status?: object },
) {
  const start = BigInt(options.startMs) * 1_000_000n;
  return {
    traceId: hex(32),
    spanId: hex(16),
    name: "chat gpt-4o",
    kind: 3,
    startTimeUnixNano: String(start),
    endTimeUnixNano: String(start + BigInt(options.durationMs * 1_000_000)),
    attributes,
    ...(options.status ? { status: options.status } : {}),
  };
}

function exportRequest(spans: unknown[]) {
  return {
    resourceSpans: [
      {
        resource: { attributes: [str("service.name", "support-bot")] },
        scopeSpans: [{ scope: { name: "cuecard" }, spans }],
      },
    ],
  };
}

describe("POST /v1/otel/v1/traces", () => {
  it("reads gen_ai spans into generation rollups and ignores other spans", async () => {
    const project = newProject();
    const startMs = Date.now() - 60_000;
    const llm = span(
      [
        str("gen_ai.operation.name", "chat"),
        str("gen_ai.provider.name", "openai"),
        str("gen_ai.request.model", "gpt-4o"),
        int("gen_ai.usage.input_tokens", "1200"),
        int("gen_ai.usage.output_tokens", 300),
        {
          key: "gen_ai.response.finish_reasons",
          value: { arrayValue: { values: [{ stringValue: "stop" }] } },
        },
        { key: "gen_ai.response.time_to_first_chunk", value: { doubleValue: 0.35 } },
        str("langfuse.observation.prompt.name", "support/triage"),
        int("langfuse.observation.prompt.version", 4),
        str("cuecard.prompt.label", "production"),
        str("feature_flag.key", "tone"),
        str("feature_flag.result.variant", "friendly"),
        str("feature_flag.context.id", "user-9"),
      ],
      { startMs, durationMs: 1800 },
    );
    const failed = span(
      [str("gen_ai.request.model", "gpt-4o"), str("error.type", "rate_limit_exceeded")],
      { startMs, durationMs: 90, status: { code: 2, message: "429 Too Many Requests" } },
    );
    const http = span([str("http.request.method", "GET")], { startMs, durationMs: 5 });

    const response = await fromEdge("/v1/otel/v1/traces", exportRequest([llm, failed, http]), {
      project,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});

    await waitForCalls(project, 2);
    const { results } = await env.TELEMETRY_DB.prepare(
      `SELECT prompt_name, prompt_version, label, experiment_id, variant, calls, errors, input_tokens,
         output_tokens, latency_ms_sum, cost_usd
       FROM generation_rollups WHERE project_id = ?1 ORDER BY prompt_name DESC`,
    )
      .bind(project)
      .all();
    expect(results).toHaveLength(2);
    expect(results[0]).toMatchObject({
      prompt_name: "support/triage",
      prompt_version: 4,
      label: "production",
      experiment_id: "tone",
      variant: "friendly",
      calls: 1,
      errors: 0,
      input_tokens: 1200,
      output_tokens: 300,
      latency_ms_sum: 1800,
    });
    // gpt-4o: $2.50 in, $10 out per million tokens.
    expect(results[0]?.cost_usd).toBeCloseTo((1200 * 2.5 + 300 * 10) / 1e6, 12);
    // No prompt attributes: counted under no prompt, as an error.
    expect(results[1]).toMatchObject({ prompt_name: "", prompt_version: 0, calls: 1, errors: 1 });

    const ttft = await env.TELEMETRY_DB.prepare(
      "SELECT bucket, count FROM latency_histograms WHERE project_id = ?1 AND metric = 'ttft'",
    )
      .bind(project)
      .all();
    // 350 ms falls in the bucket ending at 400 ms (index 9 of LATENCY_BUCKETS_MS).
    expect(ttft.results).toEqual([{ bucket: 9, count: 1 }]);
    const units = await env.TELEMETRY_DB.prepare(
      "SELECT unit, calls FROM experiment_unit_calls WHERE project_id = ?1",
    )
      .bind(project)
      .all();
    expect(units.results).toEqual([{ unit: "user-9", calls: 1 }]);
  });

  it("reports refused gen_ai spans as a partial success", async () => {
    const project = newProject();
    const noModel = span([str("gen_ai.operation.name", "chat")], {
      startMs: Date.now(),
      durationMs: 10,
    });
    const backwards = span([str("gen_ai.request.model", "gpt-4o")], {
      startMs: Date.now(),
      durationMs: -10,
    });
    const good = span([str("gen_ai.request.model", "gpt-4o")], {
      startMs: Date.now(),
      durationMs: 10,
    });
    const response = await fromEdge(
      "/v1/otel/v1/traces",
      exportRequest([noModel, backwards, good]),
      {
        project,
      },
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      partialSuccess: { rejectedSpans: number; errorMessage: string };
    };
    expect(body.partialSuccess.rejectedSpans).toBe(2);
    expect(body.partialSuccess.errorMessage).toMatch(/model/);
    expect(body.partialSuccess.errorMessage).toMatch(/latencyMs/);
    await waitForCalls(project, 1);
  });

  it("answers 415 to protobuf, saying to send JSON, and 400 to a body that is not an export", async () => {
    const project = newProject();
    const protobuf = await fromEdge("/v1/otel/v1/traces", null, {
      project,
      raw: new Uint8Array([10, 0]),
      headers: { "content-type": "application/x-protobuf" },
    });
    expect(protobuf.status).toBe(415);
    expect(protobuf.headers.get("content-type")).toBe("application/problem+json");
    expect(((await protobuf.json()) as { detail: string }).detail).toMatch(/http\/json/);

    const notAnExport = await fromEdge("/v1/otel/v1/traces", { resourceSpans: "x" }, { project });
    expect(notAnExport.status).toBe(400);
  });
});
