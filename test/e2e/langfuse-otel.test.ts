/**
 * The unchanged Langfuse SDKs sending to Cuecard's telemetry worker, in Node: `@langfuse/tracing`
 * records a generation linked to a prompt version, the real `LangfuseSpanProcessor` of
 * `@langfuse/otel` exports it over OTLP/HTTP, and `@langfuse/client` scores it (a `score-create`
 * envelope to the batch ingestion). The numbers are read back from the metrics query the admin
 * worker makes.
 *
 * The workers are the real ones, served by Miniflare. A small HTTP front stands in for the edge
 * (which checks the Langfuse key pair and forwards /api/public/* to the telemetry worker with the
 * caller's project in its trusted headers): it forwards what the SDKs send, as they send it.
 */
import { createServer, type Server } from "node:http";
import { LangfuseClient } from "@langfuse/client";
import { LangfuseSpanProcessor } from "@langfuse/otel";
import { setLangfuseTracerProvider, startObservation } from "@langfuse/tracing";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { findFreePort, type Platform, startEphemeralPlatform } from "../../scripts/platform";

const PROJECT = "langfuse-sdk";
const PROMPT = "support/triage";

let platform: Platform;
let front: Server;
let baseUrl: string;
/** The telemetry worker as Miniflare hands it to Node (its own Fetcher typings clash here). */
interface WorkerFetcher {
  fetch(
    url: string,
    init?: { method?: string; headers?: Record<string, string>; body?: Uint8Array },
  ): Promise<Response>;
}

async function telemetryWorker(): Promise<WorkerFetcher> {
  return (await platform.miniflare.getWorker("telemetry")) as unknown as WorkerFetcher;
}

/** Paths the SDKs called, in order. */
const called: string[] = [];

beforeAll(async () => {
  platform = await startEphemeralPlatform("langfuse-otel");
  const telemetry = await telemetryWorker();
  front = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    called.push(`${request.method} ${request.url}`);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (typeof value === "string" && name !== "authorization" && name !== "host") {
        headers[name] = value;
      }
    }
    const answer = await telemetry.fetch(`http://telemetry.internal${request.url}`, {
      method: request.method,
      headers: { ...headers, "cuecard-project-id": PROJECT, "cuecard-key-id": "key_langfuse" },
      body: chunks.length > 0 ? new Uint8Array(Buffer.concat(chunks)) : undefined,
    });
    response.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "" });
    response.end(Buffer.from(await answer.arrayBuffer()));
  });
  const port = await findFreePort();
  await new Promise<void>((resolve) => front.listen(port, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await new Promise((resolve) => front?.close(resolve));
  await platform?.dispose();
});

interface VersionTotal {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  scores: Record<string, { n: number; mean: number }>;
}

async function versionTotal(version: number): Promise<VersionTotal | undefined> {
  const telemetry = await telemetryWorker();
  const query = new URLSearchParams({
    groupBy: "version",
    from: new Date(Date.now() - 3_600_000).toISOString(),
    to: new Date(Date.now() + 3_600_000).toISOString(),
  });
  const response = await telemetry.fetch(
    `http://telemetry.internal/internal/projects/${PROJECT}/prompts/${PROMPT}/metrics?${query}`,
  );
  const body = (await response.json()) as { series: { version: number; total: VersionTotal }[] };
  return body.series.find((series) => series.version === version)?.total;
}

describe("the Langfuse SDKs against the telemetry worker", () => {
  it("a generation traced with @langfuse/otel and scored with @langfuse/client shows under its prompt version", async () => {
    const credentials = { publicKey: "pk-lf-cuecard", secretKey: "sk-lf-cuecard", baseUrl };
    const processor = new LangfuseSpanProcessor({ ...credentials, exportMode: "immediate" });
    const provider = new BasicTracerProvider({ spanProcessors: [processor] });
    setLangfuseTracerProvider(provider);

    const generation = startObservation(
      "triage",
      {
        model: "gpt-4o",
        input: [{ role: "user", content: "My order never arrived." }],
        usageDetails: { input: 400, output: 100 },
        prompt: { name: PROMPT, version: 7, isFallback: false },
      },
      { asType: "generation" },
    );
    generation.update({ output: { role: "assistant", content: "Sorry to hear that." } });
    generation.end();
    await processor.forceFlush();

    const langfuse = new LangfuseClient(credentials);
    langfuse.score.observation(generation, { name: "helpful", value: 0.8 });
    await langfuse.score.flush();

    expect(called).toEqual(["POST /api/public/otel/v1/traces", "POST /api/public/ingestion"]);
    const total = await vi.waitFor(
      async () => {
        const found = await versionTotal(7);
        if (found?.scores.helpful?.n !== 1) throw new Error(`not yet: ${JSON.stringify(found)}`);
        return found;
      },
      { timeout: 20_000, interval: 250 },
    );
    expect(total).toMatchObject({
      calls: 1,
      inputTokens: 400,
      outputTokens: 100,
      scores: { helpful: { n: 1, mean: 0.8 } },
    });
    await provider.shutdown();
    await langfuse.shutdown();
  });
});
