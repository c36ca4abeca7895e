/**
 * Shared by the observe suites: a local ingest endpoint (node:http) standing in for
 * `POST /v1/events` (built elsewhere), whose answer each test scripts, and an in-memory
 * OpenTelemetry tracer provider registered as the app's global one.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { GenerationEvent, TelemetryBatch } from "@cuecard/core/telemetry";
import { trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

export interface IngestRequest {
  path: string;
  authorization: string | undefined;
  batch: TelemetryBatch;
}

/** `respond` decides each answer: "ok" (200, all accepted), a status, or "hang" (never answers). */
export type IngestMode = "ok" | "hang" | number | ((batch: TelemetryBatch) => [number, object]);

export async function startIngest(initial: IngestMode = "ok") {
  const requests: IngestRequest[] = [];
  const hanging: ServerResponse[] = [];
  let mode: IngestMode = initial;
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const batch = JSON.parse(Buffer.concat(chunks).toString("utf8")) as TelemetryBatch;
    requests.push({ path: req.url ?? "", authorization: req.headers.authorization, batch });
    if (mode === "hang") {
      hanging.push(res);
      return;
    }
    let status = 200;
    let body: object;
    if (typeof mode === "function") [status, body] = mode(batch);
    else if (mode === "ok") {
      body = {
        accepted: batch.events.length,
        rejected: 0,
        results: batch.events.map((event, index) => ({ id: event.id, index, status: "accepted" })),
      };
    } else {
      status = mode;
      body = { type: "about:blank", status, title: "failed on purpose" };
    }
    res.writeHead(status, {
      "content-type": status < 300 ? "application/json" : "application/problem+json",
    });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    /** Every event received, in order. */
    events: () => requests.flatMap((request) => request.batch.events),
    generations: () =>
      requests
        .flatMap((request) => request.batch.events)
        .filter((event): event is GenerationEvent => event.type === "generation"),
    hanging,
    set mode(next: IngestMode) {
      mode = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A URL nothing listens on: a server's port, after the server is gone. */
export async function unreachableUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** The app's OpenTelemetry SDK, exporting to memory. */
export function registerInMemoryTracing() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  return {
    exporter,
    close: async () => {
      await provider.shutdown();
      trace.disable();
    },
  };
}
