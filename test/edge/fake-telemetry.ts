/**
 * A stand-in for the `cuecard-telemetry` worker, bound to the edge under test as its TELEMETRY
 * service (test/edge/vitest.config.ts). It runs in Node, outside workerd, and only does what the
 * edge relies on: it records each request exactly as it arrived, and answers the way the real
 * ingest does (200 / 207 JSON, problem+json), so the tests can check the edge passes the answer
 * back untouched. Validating events is the real worker's job and is not imitated here.
 *
 * A test names its request with `x-test-request: <unique id>` (not a Cuecard-* header, so the
 * edge forwards it) and reads the record back through FAKE_TELEMETRY_RECORDS at `/<id>`; it
 * picks the answer with `x-fake-answer: accepted | partial | rate-limited`.
 */

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: [string, string][];
  /** The body's bytes as hex: compared byte for byte with what the client sent. */
  bodyHex: string;
}

const received = new Map<string, ReceivedRequest>();

const ANSWERS: Record<string, () => Response> = {
  accepted: () =>
    Response.json(
      { accepted: 1, rejected: 0, results: [{ id: "e1", index: 0, status: "accepted" }] },
      { headers: { "telemetry-answer": "accepted" } },
    ),
  partial: () =>
    Response.json(
      {
        accepted: 1,
        rejected: 1,
        results: [
          { id: "e1", index: 0, status: "accepted" },
          {
            id: "e2",
            index: 1,
            status: "rejected",
            errors: [{ path: "events[1].latencyMs", message: "must be at least 0" }],
          },
        ],
      },
      { status: 207, headers: { "telemetry-answer": "partial" } },
    ),
  "rate-limited": () =>
    new Response(
      JSON.stringify({
        type: "https://cuecard.dev/problems/rate-limited",
        title: "Too many requests",
        status: 429,
        detail: "Slow down.",
        code: "rate_limited",
        requestId: "fake-telemetry",
      }),
      {
        status: 429,
        headers: { "content-type": "application/problem+json", "retry-after": "7" },
      },
    ),
};

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export async function fakeTelemetry(request: Request): Promise<Response> {
  const body = new Uint8Array(await request.arrayBuffer());
  const id = request.headers.get("x-test-request");
  if (id) {
    received.set(id, {
      method: request.method,
      url: request.url,
      headers: [...request.headers],
      bodyHex: toHex(body),
    });
  }
  const answer = ANSWERS[request.headers.get("x-fake-answer") ?? "accepted"] ?? ANSWERS.accepted;
  return (answer as () => Response)();
}

/** GET /<id>: what the fake received for that request, or 404 if nothing reached it. */
export function fakeTelemetryRecords(request: Request): Response {
  const record = received.get(decodeURIComponent(new URL(request.url).pathname.slice(1)));
  return record ? Response.json(record) : new Response(null, { status: 404 });
}
