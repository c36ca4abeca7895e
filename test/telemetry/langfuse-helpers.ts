import { env } from "cloudflare:workers";
import { vi } from "vitest";
import worker from "../../workers/telemetry/index";
import type { TelemetryMessage } from "../../workers/telemetry/ingest";
import { getMetrics } from "./harness";

export const hex = (length: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(length / 2)), (byte) =>
    byte.toString(16).padStart(2, "0"),
  ).join("");

/**
 * A request to the worker whose queue only records what it is given: what a request would have
 * written, without any consumer running.
 */
export async function withRecordingQueue(
  path: string,
  body: BodyInit,
  headers: Record<string, string> = {},
): Promise<{ response: Response; sent: TelemetryMessage[] }> {
  const sent: TelemetryMessage[] = [];
  const recordingQueue = {
    send: async (message: TelemetryMessage) => {
      sent.push(message);
    },
    sendBatch: async (messages: { body: TelemetryMessage }[]) => {
      sent.push(...messages.map((message) => message.body));
    },
  } as unknown as Queue;
  const response = await worker.fetch(
    new Request(`http://telemetry.internal${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "cuecard-project-id": "p-recorded",
        "cuecard-key-id": `key_${crypto.randomUUID()}`,
        ...headers,
      },
      body,
    }),
    { ...env, TELEMETRY_EVENTS: recordingQueue },
    { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext,
  );
  return { response, sent };
}

export interface MetricsTotal {
  calls: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  latencyMs: { p50: number | null; p95: number | null };
  timeToFirstTokenMs: { p50: number | null; p95: number | null };
  scores: Record<string, { n: number; mean: number }>;
}

/** The version's totals over the last day, as the admin metrics page reads them. */
export async function versionTotals(
  project: string,
  prompt: string,
  version: number,
): Promise<MetricsTotal | undefined> {
  const response = await getMetrics(project, prompt, {
    groupBy: "version",
    from: new Date(Date.now() - 24 * 3_600_000).toISOString(),
    to: new Date(Date.now() + 3_600_000).toISOString(),
  });
  const body = (await response.json()) as {
    series: { version: number; total: MetricsTotal }[];
  };
  return body.series.find((series) => series.version === version)?.total;
}

/** Waits until the version's totals satisfy `done` (the real queue delivers every 2 s or so). */
export function waitForTotals(
  project: string,
  prompt: string,
  version: number,
  done: (total: MetricsTotal) => boolean,
): Promise<MetricsTotal> {
  return vi.waitFor(
    async () => {
      const total = await versionTotals(project, prompt, version);
      if (!total || !done(total)) throw new Error(`not yet: ${JSON.stringify(total)}`);
      return total;
    },
    { timeout: 15_000, interval: 200 },
  );
}
