import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { fromEdge, hoursAgo, newProject, scoreRows } from "./harness";
import { hex, waitForTotals, withRecordingQueue } from "./langfuse-helpers";

const PROMPT = "support/triage";

/** A finished Langfuse generation, as `generation-create` carries it. */
function generationBody(overrides: Record<string, unknown> = {}) {
  const start = Date.parse(hoursAgo(0, 1));
  return {
    id: crypto.randomUUID(),
    traceId: crypto.randomUUID(),
    name: "triage",
    startTime: new Date(start).toISOString(),
    completionStartTime: new Date(start + 300).toISOString(),
    endTime: new Date(start + 1200).toISOString(),
    model: "gpt-4o",
    usageDetails: { input: 1000, output: 200 },
    promptName: PROMPT,
    promptVersion: 3,
    ...overrides,
  };
}

function envelope(type: string, body: unknown, id: string = crypto.randomUUID()) {
  return { id, timestamp: new Date().toISOString(), type, body };
}

const ingest = (project: string, batch: unknown[]) =>
  fromEdge("/api/public/ingestion", { batch }, { project });

describe("POST /api/public/scores", () => {
  it("attaches a score to the generation its observation id names, and the metrics show it", async () => {
    const project = newProject();
    const generation = generationBody();
    const created = await ingest(project, [envelope("generation-create", generation)]);
    expect(created.status).toBe(207);

    const response = await fromEdge(
      "/api/public/scores",
      {
        traceId: generation.traceId,
        observationId: generation.id,
        name: "helpful",
        value: 0.75,
        dataType: "NUMERIC",
        comment: "good triage",
      },
      { project },
    );
    expect(response.status).toBe(200);
    const { id } = (await response.json()) as { id: string };
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const total = await waitForTotals(project, PROMPT, 3, (t) => t.scores.helpful?.n === 1);
    expect(total).toMatchObject({
      calls: 1,
      inputTokens: 1000,
      outputTokens: 200,
      scores: { helpful: { n: 1, mean: 0.75 } },
    });
  });

  it("keeps the id it is given, and counts a BOOLEAN score of 1 as true", async () => {
    const { response, sent } = await withRecordingQueue(
      "/api/public/scores",
      JSON.stringify({
        id: "score-42",
        observationId: "obs-1",
        name: "thumbs_up",
        value: 1,
        dataType: "BOOLEAN",
      }),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: "score-42" });
    expect(sent.flatMap((message) => message.events)).toMatchObject([
      { type: "score", id: "score-42", generationId: "obs-1", name: "thumbs_up", value: true },
    ]);
  });

  it("refuses a score naming only a trace, or with a value its data type does not allow: Langfuse-shaped 400, nothing written", async () => {
    for (const [body, field] of [
      [{ traceId: "trace-1", name: "helpful", value: 1 }, "observationId"],
      [{ observationId: "obs-1", name: "helpful", value: "yes", dataType: "NUMERIC" }, "value"],
      [{ observationId: "obs-1", name: "helpful", value: 2, dataType: "BOOLEAN" }, "value"],
      [{ observationId: "obs-1", name: "helpful", value: 1, dataType: "PERCENT" }, "dataType"],
      [{ observationId: "obs-1", value: 1 }, "name"],
    ] as const) {
      const { response, sent } = await withRecordingQueue(
        "/api/public/scores",
        JSON.stringify(body),
      );
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.headers.get("content-type")).toBe("application/json");
      const error = (await response.json()) as { message: string; error: string };
      expect(error.error).toBe("InvalidRequestError");
      expect(error.message).toContain(field);
      expect(sent).toEqual([]);
    }
  });

  it("answers malformed JSON, another content type and an oversized body in Langfuse's shape", async () => {
    const notJson = await withRecordingQueue("/api/public/scores", "{name:");
    expect(notJson.response.status).toBe(400);
    expect(await notJson.response.json()).toMatchObject({ error: "InvalidRequestError" });

    const form = await withRecordingQueue("/api/public/scores", "name=helpful", {
      "content-type": "application/x-www-form-urlencoded",
    });
    expect(form.response.status).toBe(400);
    expect(((await form.response.json()) as { message: string }).message).toMatch(/JSON/);

    const huge = await withRecordingQueue(
      "/api/public/scores",
      JSON.stringify({ observationId: "o", name: "n", value: 1, comment: "x".repeat(600_000) }),
    );
    expect(huge.response.status).toBe(413);
    expect(await huge.response.json()).toMatchObject({ error: "PayloadTooLargeError" });
    for (const { sent } of [notJson, form, huge]) expect(sent).toEqual([]);
  });

  it("answers a key past the ingest rate limit with a Langfuse 429 and Retry-After", async () => {
    const headers = { "cuecard-key-id": `key_${crypto.randomUUID()}` };
    const score = JSON.stringify({ observationId: "obs-1", name: "helpful", value: 1 });
    for (let sent = 0; sent < env.TEST_RATE_LIMIT; sent++) {
      const { response } = await withRecordingQueue("/api/public/scores", score, headers);
      expect(response.status).toBe(200);
    }
    const { response, sent } = await withRecordingQueue("/api/public/scores", score, headers);
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("60");
    expect(await response.json()).toMatchObject({ error: "TooManyRequestsError" });
    expect(sent).toEqual([]);
  });

  it("refuses a request that did not come through the edge with a Langfuse 401", async () => {
    const response = await fromEdge(
      "/api/public/scores",
      { observationId: "o", name: "n", value: 1 },
      { project: "", key: "" },
    );
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: "UnauthorizedError" });
  });
});

describe("POST /api/public/ingestion", () => {
  it("answers 207 with each envelope's outcome; a generation and its score reach the metrics", async () => {
    const project = newProject();
    const generation = generationBody({ level: "ERROR", statusMessage: "upstream timeout" });
    const generationEnvelope = envelope("generation-create", generation);
    const scoreEnvelope = envelope("score-create", {
      id: crypto.randomUUID(),
      traceId: generation.traceId,
      observationId: generation.id,
      name: "accuracy",
      value: 0.5,
    });
    const unknown = envelope("trace-create", { id: "t1", name: "support" });
    const span = envelope("observation-create", { id: "s1", type: "SPAN", name: "retrieve" });

    const response = await ingest(project, [generationEnvelope, scoreEnvelope, unknown, span]);
    expect(response.status).toBe(207);
    const body = (await response.json()) as {
      successes: { id: string; status: number }[];
      errors: { id: string; status: number; message: string; error: string }[];
    };
    expect(body.successes).toEqual([
      { id: generationEnvelope.id, status: 201 },
      { id: scoreEnvelope.id, status: 201 },
    ]);
    expect(body.errors).toMatchObject([
      { id: unknown.id, status: 400, error: "InvalidRequestError" },
      { id: span.id, status: 400, error: "InvalidRequestError" },
    ]);
    expect(body.errors[0]?.message).toMatch(/trace-create/);
    expect(body.errors[1]?.message).toMatch(/GENERATION/);

    const total = await waitForTotals(project, PROMPT, 3, (t) => t.scores.accuracy?.n === 1);
    expect(total).toMatchObject({
      calls: 1,
      errors: 1,
      inputTokens: 1000,
      outputTokens: 200,
      // 1200 ms falls in the bucket ending at 1500 ms; 300 ms in the one ending at 400 ms.
      latencyMs: { p50: 1500 },
      timeToFirstTokenMs: { p50: 400 },
      scores: { accuracy: { n: 1, mean: 0.5 } },
    });
  });

  it("counts a batch sent again (same envelope ids) once", async () => {
    const project = newProject();
    const generation = generationBody();
    const batch = [
      envelope("generation-create", generation),
      envelope("score-create", {
        id: crypto.randomUUID(),
        traceId: generation.traceId,
        observationId: generation.id,
        name: "helpful",
        value: 1,
      }),
    ];
    expect((await ingest(project, batch)).status).toBe(207);
    expect((await ingest(project, batch)).status).toBe(207);
    await waitForTotals(project, PROMPT, 3, (t) => (t.scores.helpful?.n ?? 0) >= 1);
    // Let any late delivery land before checking nothing was counted twice.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await scoreRows(project)).toMatchObject([
      { prompt_name: PROMPT, prompt_version: 3, name: "helpful", n: 1, sum: 1 },
    ]);
    const total = await waitForTotals(project, PROMPT, 3, () => true);
    expect(total.calls).toBe(1);
  });

  it("takes what @langfuse/client 5.x score.create() sends, with an OpenTelemetry span as the observation", async () => {
    const traceId = hex(32);
    const spanId = hex(16);
    const { response, sent } = await withRecordingQueue(
      "/api/public/ingestion",
      JSON.stringify({
        batch: [
          envelope("score-create", {
            name: "quality",
            value: 0.85,
            traceId,
            observationId: spanId,
            id: "0b1c3c1e-61f4-4c1e-9a59-2f3f1f1b2c3d",
          }),
        ],
      }),
    );
    expect(response.status).toBe(207);
    // The id the OTLP ingest gives the span's generation: the score meets it.
    expect(sent.flatMap((message) => message.events)).toMatchObject([
      { type: "score", generationId: `${traceId}:${spanId}`, value: 0.85 },
    ]);
  });

  it("reports each refused envelope in the 207 body and writes only the accepted ones", async () => {
    const good = envelope("score-create", { observationId: "obs-9", name: "helpful", value: 1 });
    const { response, sent } = await withRecordingQueue(
      "/api/public/ingestion",
      JSON.stringify({
        batch: [
          good,
          envelope("score-create", { traceId: "trace-only", name: "helpful", value: 1 }),
          envelope("generation-create", generationBody({ endTime: undefined })),
          envelope("generation-create", generationBody({ promptName: "support|triage" })),
          { id: "no-body", type: "score-create", timestamp: new Date().toISOString() },
          "not an envelope",
        ],
      }),
    );
    expect(response.status).toBe(207);
    const body = (await response.json()) as {
      successes: { id: string }[];
      errors: { id: string; status: number; message: string }[];
    };
    expect(body.successes).toEqual([{ id: good.id, status: 201 }]);
    expect(body.errors.map((error) => error.status)).toEqual([400, 400, 400, 400, 400]);
    const [traceOnly, unfinished, badPrompt, noBody, notObject] = body.errors;
    expect(traceOnly?.message).toMatch(/observationId is required/);
    expect(unfinished?.message).toMatch(/endTime is required/);
    expect(badPrompt?.message).toMatch(/promptName/);
    expect(noBody).toMatchObject({ id: "no-body" });
    expect(noBody?.message).toMatch(/body must be an object/);
    expect(notObject).toMatchObject({ id: "" });
    // A score without its own id takes the envelope's.
    expect(sent.flatMap((message) => message.events)).toMatchObject([
      { type: "score", id: good.id, generationId: "obs-9" },
    ]);
  });

  it("refuses a malformed envelope with a Langfuse-shaped 400 (not JSON, no batch array) and an oversized batch with 413", async () => {
    for (const raw of ["not json", JSON.stringify({ events: [] }), JSON.stringify([])]) {
      const { response, sent } = await withRecordingQueue("/api/public/ingestion", raw);
      expect(response.status, raw).toBe(400);
      expect(await response.json()).toMatchObject({ error: "InvalidRequestError" });
      expect(sent).toEqual([]);
    }
    const tooMany = Array.from({ length: 101 }, () =>
      envelope("score-create", { observationId: "o", name: "n", value: 1 }),
    );
    const { response, sent } = await withRecordingQueue(
      "/api/public/ingestion",
      JSON.stringify({ batch: tooMany }),
    );
    expect(response.status).toBe(413);
    expect(((await response.json()) as { message: string }).message).toMatch(/at most 100/);
    expect(sent).toEqual([]);
  });

  it("answers an unknown /api/public path with a Langfuse-shaped 404", async () => {
    const response = await fromEdge("/api/public/datasets", {}, { project: newProject() });
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toMatchObject({ error: "LangfuseNotFoundError" });
  });
});
