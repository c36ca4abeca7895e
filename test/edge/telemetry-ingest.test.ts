import { env, exports } from "cloudflare:workers";
import { generateKey, hashKey } from "@cuecard/core/keys";
import { KV_FORMAT, readKeyRecordKey } from "@cuecard/core/kv-records";
import { describe, expect, it } from "vitest";
import app from "../../workers/edge/index";
import { NO_TELEMETRY_INGEST, telemetryIngestOf } from "../../workers/edge/modules";
import { edgeFetch, problemOf } from "./edge-client";
import { seedReadKey, uniqueName, uniqueProject } from "./factories";
import { type ReceivedRequest, toHex } from "./fake-telemetry";
import { testExecutionContext } from "./faulty-kv";

/**
 * Telemetry at the edge's base URL: the read key is checked here, then the request goes to the
 * telemetry worker (a recording stand-in, fake-telemetry.ts) with the trusted project and key
 * headers set by the edge and the body untouched.
 */

const records = (env as unknown as { FAKE_TELEMETRY_RECORDS: Fetcher }).FAKE_TELEMETRY_RECORDS;

/** What reached the telemetry worker for this request id, or null when nothing did. */
async function receivedBy(id: string): Promise<ReceivedRequest | null> {
  const response = await records.fetch(`https://records/${encodeURIComponent(id)}`);
  return response.status === 404 ? null : ((await response.json()) as ReceivedRequest);
}

const headerOf = (record: ReceivedRequest, name: string) =>
  record.headers.filter(([key]) => key === name).map(([, value]) => value);

async function telemetryKey(options: { sendTelemetry?: boolean } = {}) {
  const project = uniqueProject();
  const keyId = uniqueName("key");
  const key = await seedReadKey({ project, keyId, sendTelemetry: options.sendTelemetry });
  return { project, keyId, key };
}

const BATCH = `{"events":[{"type":"generation","id":"e1","timestamp":"2026-07-01T12:00:00.000Z","model":"gpt-4o-mini","latencyMs":812,"prompt":{"name":"support/triage","version":3,"label":"production"}}]}  \n`;

describe("telemetry ingest at the edge", () => {
  it("forwards an event batch with the key's project and id set by the edge, the client's credentials and Cuecard-* headers left out", async () => {
    const { project, keyId, key } = await telemetryKey();
    const request = uniqueName("req");
    const response = await edgeFetch("/v1/events", {
      key,
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-test-request": request,
        "user-agent": "checkout-app/1.2",
        cookie: "session=secret",
        // A client trying to write into another project, or to pass as another key:
        "Cuecard-Project-Id": "someone-elses-project",
        "Cuecard-Key-Id": "key_forged",
        "Cuecard-Anything": "x",
      },
      body: BATCH,
    });

    expect(response.status).toBe(200);
    const received = await receivedBy(request);
    expect(received).not.toBeNull();
    const forwarded = received as ReceivedRequest;
    expect(forwarded.method).toBe("POST");
    expect(new URL(forwarded.url).pathname).toBe("/v1/events");
    expect(headerOf(forwarded, "cuecard-project-id")).toEqual([project]);
    expect(headerOf(forwarded, "cuecard-key-id")).toEqual([keyId]);
    expect(headerOf(forwarded, "cuecard-anything")).toEqual([]);
    expect(headerOf(forwarded, "authorization")).toEqual([]);
    expect(headerOf(forwarded, "cookie")).toEqual([]);
    expect(headerOf(forwarded, "content-type")).toEqual(["application/json"]);
    expect(headerOf(forwarded, "user-agent")).toEqual(["checkout-app/1.2"]);
    expect(forwarded.bodyHex).toBe(toHex(new TextEncoder().encode(BATCH)));
  });

  it.each(["/v1/events", "/v1/scores", "/v1/otel/v1/traces"])(
    "forwards POST %s to the same path of the telemetry worker, query included",
    async (path) => {
      const { key } = await telemetryKey();
      const request = uniqueName("req");
      const response = await edgeFetch(`${path}?source=browser`, {
        key,
        method: "POST",
        headers: { "content-type": "application/json", "x-test-request": request },
        body: "{}",
      });
      expect(response.status).toBe(200);
      const forwarded = (await receivedBy(request)) as ReceivedRequest;
      const url = new URL(forwarded.url);
      expect(`${url.pathname}${url.search}`).toBe(`${path}?source=browser`);
    },
  );

  it("passes any body through byte for byte, binary and chunked ones included", async () => {
    const { key } = await telemetryKey();
    // OTLP may come as protobuf: bytes that are not UTF-8 must arrive exactly as sent.
    const binary = new Uint8Array(4096);
    crypto.getRandomValues(binary);
    const binaryRequest = uniqueName("req");
    const binaryResponse = await exports.default.fetch(
      new Request("https://edge.test/v1/otel/v1/traces", {
        method: "POST",
        headers: {
          authorization: `Bearer ${key}`,
          "content-type": "application/x-protobuf",
          "x-test-request": binaryRequest,
        },
        body: binary,
      }),
    );
    expect(binaryResponse.status).toBe(200);
    const binaryForwarded = (await receivedBy(binaryRequest)) as ReceivedRequest;
    expect(binaryForwarded.bodyHex).toBe(toHex(binary));
    expect(headerOf(binaryForwarded, "content-type")).toEqual(["application/x-protobuf"]);

    // A streamed body without Content-Length is streamed on, not dropped or buffered away.
    const parts = ['{"events":[', '{"type":"conversion","id":"c1"}', "]}"];
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of parts) controller.enqueue(encoder.encode(part));
        controller.close();
      },
    });
    const chunkedRequest = uniqueName("req");
    const chunkedResponse = await exports.default.fetch(
      new Request("https://edge.test/v1/events", {
        method: "POST",
        headers: {
          authorization: `Bearer ${key}`,
          "content-type": "application/json",
          "x-test-request": chunkedRequest,
        },
        body: stream,
      }),
    );
    expect(chunkedResponse.status).toBe(200);
    const chunkedForwarded = (await receivedBy(chunkedRequest)) as ReceivedRequest;
    expect(chunkedForwarded.bodyHex).toBe(toHex(encoder.encode(parts.join(""))));
  });

  it("returns the telemetry worker's answer as it is: status, headers and body", async () => {
    const { key } = await telemetryKey();
    const send = (answer: string) =>
      edgeFetch("/v1/events", {
        key,
        method: "POST",
        headers: { "content-type": "application/json", "x-fake-answer": answer },
        body: BATCH,
      });

    const accepted = await send("accepted");
    expect(accepted.status).toBe(200);
    expect(accepted.headers.get("telemetry-answer")).toBe("accepted");
    expect(await accepted.json()).toEqual({
      accepted: 1,
      rejected: 0,
      results: [{ id: "e1", index: 0, status: "accepted" }],
    });

    const partial = await send("partial");
    expect(partial.status).toBe(207);
    expect(partial.headers.get("telemetry-answer")).toBe("partial");
    expect(await partial.json()).toMatchObject({
      accepted: 1,
      rejected: 1,
      results: [
        { id: "e1", status: "accepted" },
        { id: "e2", status: "rejected", errors: [{ path: "events[1].latencyMs" }] },
      ],
    });

    const limited = await send("rate-limited");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("7");
    const problem = await problemOf(limited);
    expect(problem.code).toBe("rate_limited");
    // The ingest's own request id, not one the edge made up: the answer was not rewritten.
    expect(problem.requestId).toBe("fake-telemetry");
  });

  it("refuses a missing, unknown or expired key with 401, before anything is forwarded", async () => {
    const project = uniqueProject();
    const expired = await seedReadKey({ project, expiresAt: "2020-01-01T00:00:00.000Z" });
    for (const key of [undefined, "hunter2", generateKey("reader"), expired]) {
      const request = uniqueName("req");
      const response = await edgeFetch("/v1/events", {
        key,
        method: "POST",
        headers: { "content-type": "application/json", "x-test-request": request },
        body: BATCH,
      });
      expect(response.status, `key ${key}`).toBe(401);
      expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect((await problemOf(response)).code).toBe("unauthorized");
      expect(await receivedBy(request)).toBeNull();
    }
  });

  it("refuses a key that may not send telemetry with 403 saying how to allow it, and still serves it prompts", async () => {
    const { key } = await telemetryKey({ sendTelemetry: false });
    for (const path of ["/v1/events", "/v1/scores", "/v1/otel/v1/traces"]) {
      const request = uniqueName("req");
      const response = await edgeFetch(path, {
        key,
        method: "POST",
        headers: { "content-type": "application/json", "x-test-request": request },
        body: BATCH,
      });
      expect(response.status, path).toBe(403);
      const problem = await problemOf(response);
      expect(problem.code).toBe("telemetry_not_allowed");
      expect(problem.detail).toContain("sendTelemetry: true");
      expect(await receivedBy(request)).toBeNull();
    }
    // Reads are untouched by the flag: the prompt is simply not there (404), not forbidden.
    expect((await edgeFetch("/v1/prompts/nothing-here", { key })).status).toBe(404);
  });

  it("treats a key record published before the telemetry flag existed as not allowed", async () => {
    const project = uniqueProject();
    const key = generateKey("reader");
    // Written as the publisher did before `sendTelemetry` was part of the record.
    await env.PROMPTS_KV.put(
      readKeyRecordKey(await hashKey(key)),
      JSON.stringify({
        format: KV_FORMAT,
        keyId: "key_old",
        projectId: project,
        role: "reader",
        expiresAt: null,
      }),
    );
    const response = await edgeFetch("/v1/events", {
      key,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: BATCH,
    });
    expect(response.status).toBe(403);
    expect((await problemOf(response)).code).toBe("telemetry_not_allowed");
  });

  it("answers 503 telemetry_not_configured in a deployment without the TELEMETRY binding", async () => {
    const { key } = await telemetryKey();
    const { ctx } = testExecutionContext();
    const response = await app.fetch(
      new Request("https://edge.test/v1/events", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: BATCH,
      }),
      { PROMPTS_KV: env.PROMPTS_KV, ISOLATE_CACHE_TTL_MS: "0" },
      ctx,
    );
    expect(response.status).toBe(503);
    const problem = await problemOf(response);
    expect(problem.code).toBe("telemetry_not_configured");
    expect(problem.detail).toContain("TELEMETRY");
    expect(telemetryIngestOf({})).toBe(NO_TELEMETRY_INGEST);
  });

  it("answers a retryable 503 when the telemetry service itself fails", async () => {
    const { key } = await telemetryKey();
    const { ctx } = testExecutionContext();
    const broken = {
      fetch: () => Promise.reject(new Error("the telemetry worker threw")),
    } as unknown as Fetcher;
    const response = await app.fetch(
      new Request("https://edge.test/v1/events", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: BATCH,
      }),
      { PROMPTS_KV: env.PROMPTS_KV, ISOLATE_CACHE_TTL_MS: "0", TELEMETRY: broken },
      ctx,
    );
    expect(response.status).toBe(503);
    expect((await problemOf(response)).code).toBe("unavailable");
  });
});
