/**
 * A webhook receiver on loopback for the tests that run the real platform: it keeps every
 * request and answers as the test says. The admin worker posts to it only with
 * WEBHOOK_ALLOW_LOOPBACK, the local-development setting.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  /** The request's path, e.g. `/hook`. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** What the receiver answered. */
  status: number;
}

export interface ReceiverAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>`, without a path. */
  origin: string;
  /** Every request so far, oldest first. */
  received: ReceivedRequest[];
  close(): Promise<void>;
}

/**
 * Starts a receiver on a free loopback port. `answer` sees the request and everything received
 * before it (to fail a delivery's first attempts, say).
 */
export async function startWebhookReceiver(
  answer: (
    request: Omit<ReceivedRequest, "status">,
    earlier: readonly ReceivedRequest[],
  ) => ReceiverAnswer,
): Promise<WebhookReceiver> {
  const received: ReceivedRequest[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      const seen = { path: request.url ?? "", headers: request.headers, body };
      const reply = answer(seen, received);
      received.push({ ...seen, status: reply.status });
      response.writeHead(reply.status, reply.headers ?? {});
      response.end(reply.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
