import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import type { TelemetryEvent } from "@cuecard/core/telemetry";
import { vi } from "vitest";
import worker from "../../workers/telemetry/index";
import type { TelemetryMessage } from "../../workers/telemetry/ingest";

/** A project id no other test uses (storage is shared by the tests of a file). */
export function newProject(): string {
  return `p-${crypto.randomUUID().slice(0, 8)}`;
}

export function newId(prefix = "ev"): string {
  return `${prefix}_${crypto.randomUUID()}`;
}

/** A request as the edge forwards it: the caller's project and key in the trusted headers. */
export function fromEdge(
  path: string,
  body: unknown,
  options: { project: string; key?: string; headers?: Record<string, string> } & {
    raw?: BodyInit;
  },
): Promise<Response> {
  return exports.default.fetch(`http://telemetry.internal${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "cuecard-project-id": options.project,
      "cuecard-key-id": options.key ?? `key_${options.project}`,
      ...options.headers,
    },
    body: options.raw ?? JSON.stringify(body),
  });
}

export function sendEvents(project: string, events: unknown[]): Promise<Response> {
  return fromEdge("/v1/events", { events }, { project });
}

/** Hours relative to the start of the current UTC hour, as ISO times. */
export function hoursAgo(hours: number, minutes = 0): string {
  const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  return new Date(hour - hours * 3_600_000 + minutes * 60_000).toISOString();
}

export function generation(
  overrides: Partial<Extract<TelemetryEvent, { type: "generation" }>> = {},
): Extract<TelemetryEvent, { type: "generation" }> {
  return {
    type: "generation",
    id: newId("gen"),
    timestamp: hoursAgo(1, 10),
    model: "gpt-4o-mini",
    latencyMs: 120,
    inputTokens: 100,
    outputTokens: 20,
    prompt: { name: "support/triage", version: 1, label: "production" },
    ...overrides,
  };
}

export function score(
  generationId: string,
  overrides: Partial<Extract<TelemetryEvent, { type: "score" }>> = {},
): Extract<TelemetryEvent, { type: "score" }> {
  return {
    type: "score",
    id: newId("score"),
    timestamp: hoursAgo(0, 5),
    name: "helpful",
    value: 1,
    generationId,
    ...overrides,
  };
}

let messageCounter = 0;

/** Delivers messages to the worker's queue handler as the queue would, and reports acks/retries. */
export async function deliver(
  messages: TelemetryMessage[],
  options: { queue?: string; env?: TelemetryEnv; attempts?: number } = {},
) {
  const batch = createMessageBatch<TelemetryMessage>(
    options.queue ?? "cuecard-telemetry",
    messages.map((body) => ({
      id: `msg-${++messageCounter}`,
      timestamp: new Date(),
      attempts: options.attempts ?? 1,
      body,
    })),
  );
  const ctx = createExecutionContext();
  const queue = worker.queue as ExportedHandlerQueueHandler<TelemetryEnv, TelemetryMessage>;
  await queue(batch, options.env ?? env, ctx);
  return getQueueResult(batch, ctx);
}

export interface GenerationTotals {
  calls: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}

/** A project's generation rollups summed over every key and hour. */
export async function generationTotals(project: string): Promise<GenerationTotals> {
  const row = await env.TELEMETRY_DB.prepare(
    `SELECT coalesce(sum(calls), 0) AS calls, coalesce(sum(errors), 0) AS errors,
       coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens,
       total(cost_usd) AS cost_usd
     FROM generation_rollups WHERE project_id = ?1`,
  )
    .bind(project)
    .first<GenerationTotals>();
  return row as GenerationTotals;
}

/** Waits until the real queue has delivered the project's generations to the consumer. */
export async function waitForCalls(project: string, calls: number): Promise<GenerationTotals> {
  return vi.waitFor(
    async () => {
      const totals = await generationTotals(project);
      if (totals.calls < calls) throw new Error(`${totals.calls} of ${calls} calls so far`);
      return totals;
    },
    { timeout: 15_000, interval: 200 },
  );
}

export async function scoreRows(project: string) {
  const { results } = await env.TELEMETRY_DB.prepare(
    `SELECT prompt_name, prompt_version, label, name, n, sum, sum_squares FROM score_rollups
     WHERE project_id = ?1 ORDER BY name`,
  )
    .bind(project)
    .all();
  return results;
}

export function getMetrics(project: string, prompt: string, query: Record<string, string>) {
  const search = new URLSearchParams(query).toString();
  return exports.default.fetch(
    `http://telemetry.internal/internal/projects/${project}/prompts/${prompt}/metrics?${search}`,
  );
}
