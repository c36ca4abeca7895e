import { ProblemError } from "@cuecard/core/problem";
import {
  costOf,
  EVENT_ID_MAX,
  type EventResult,
  type IngestResponse,
  type TelemetryEvent,
} from "@cuecard/core/telemetry";
import type { Checked, FieldIssue } from "./event-rules";

/** What goes on the telemetry queue: accepted events of one project, a few per message. */
export interface TelemetryMessage {
  projectId: string;
  events: TelemetryEvent[];
}

// Cloudflare Queues: a message is at most 128 KB, a sendBatch at most 100 messages and 256 KB.
// These stay below, leaving room for the envelope the runtime adds.
export const QUEUE_MESSAGE_MAX_BYTES = 100_000;
export const SEND_BATCH_MAX_BYTES = 240_000;
export const SEND_BATCH_MAX_MESSAGES = 100;

export type Validated =
  | { ok: true; event: TelemetryEvent }
  | { ok: false; result: Extract<EventResult, { status: "rejected" }> };

/** The id to echo in a result: the sender's, when it is one an event could have. */
function echoedId(raw: unknown): string | null {
  if (raw === null || typeof raw !== "object") return null;
  const id = (raw as { id?: unknown }).id;
  return typeof id === "string" && id.length > 0 && id.length <= EVENT_ID_MAX ? id : null;
}

/**
 * One event checked by its rules (event-rules.ts). A generation without a cost is priced from
 * the model price table.
 */
export function validateEvent(
  raw: unknown,
  index: number,
  check: (raw: unknown) => Checked<TelemetryEvent>,
): Validated {
  const result = check(raw);
  if (!result.ok) return reject(echoedId(raw), index, result.errors);
  const { event } = result;
  if (event.type === "generation" && event.costUsd == null) {
    event.costUsd = costOf(event.model, event.inputTokens, event.outputTokens);
  }
  return { ok: true, event };
}

/** An event refused before its rules were read (e.g. a type this ingest does not record). */
export function reject(id: string | null, index: number, errors: FieldIssue[]): Validated {
  return { ok: false, result: { id, index, status: "rejected", errors } };
}

const encoder = new TextEncoder();

/** Accepted events packed into messages, and messages into sendBatch calls, within the limits. */
export function packMessages(projectId: string, events: TelemetryEvent[]): TelemetryMessage[][] {
  const envelope = encoder.encode(JSON.stringify({ projectId, events: [] })).byteLength;
  const messages: { message: TelemetryMessage; bytes: number }[] = [];
  let current: { message: TelemetryMessage; bytes: number } | undefined;
  for (const event of events) {
    const bytes = encoder.encode(JSON.stringify(event)).byteLength + 1;
    if (!current || current.bytes + bytes > QUEUE_MESSAGE_MAX_BYTES) {
      current = { message: { projectId, events: [] }, bytes: envelope };
      messages.push(current);
    }
    current.message.events.push(event);
    current.bytes += bytes;
  }
  const sends: TelemetryMessage[][] = [];
  let send: TelemetryMessage[] = [];
  let sendBytes = 0;
  for (const { message, bytes } of messages) {
    if (send.length === SEND_BATCH_MAX_MESSAGES || sendBytes + bytes > SEND_BATCH_MAX_BYTES) {
      sends.push(send);
      send = [];
      sendBytes = 0;
    }
    send.push(message);
    sendBytes += bytes;
  }
  if (send.length > 0) sends.push(send);
  return sends;
}

/**
 * Validates each event and enqueues the accepted ones. An event counts as accepted only once its
 * message is on the queue: if any send fails the whole request is answered 503, and the client
 * sends the same ids again (those already enqueued are counted once, by id).
 */
export async function ingestEvents(
  queue: Queue<TelemetryMessage>,
  projectId: string,
  validated: Validated[],
): Promise<IngestResponse> {
  const accepted = validated.flatMap((item) => (item.ok ? [item.event] : []));
  try {
    for (const messages of packMessages(projectId, accepted)) {
      await queue.sendBatch(messages.map((body) => ({ body, contentType: "json" })));
    }
  } catch (error) {
    console.error("telemetry queue send failed", String(error));
    throw new ProblemError(
      "unavailable",
      "The events could not be queued. Send the same batch again (events are counted once by id).",
      { headers: { "retry-after": "5" } },
    );
  }
  const results: EventResult[] = validated.map((item, index) =>
    item.ok ? { id: item.event.id, index, status: "accepted" } : item.result,
  );
  return { accepted: accepted.length, rejected: validated.length - accepted.length, results };
}
