import { costOf } from "@cuecard/core/telemetry";
import { checkEvent } from "../../workers/telemetry/event-rules";
import telemetry from "../../workers/telemetry/index";
import { packMessages, type TelemetryMessage, validateEvent } from "../../workers/telemetry/ingest";

/**
 * Bench-only: runs one section of ingest on the request's batch `n` times and answers when done,
 * so the caller (timing from outside: workerd's clock does not advance during a request's CPU
 * work) divides the wall time by `n`.
 */
interface Env {
  TELEMETRY_EVENTS: Queue<TelemetryMessage>;
  INGEST_LIMITER: RateLimit;
  [name: string]: unknown;
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    const section = url.searchParams.get("section") ?? "";
    const n = Number(url.searchParams.get("n") ?? "1");
    const text = await request.text();
    const events = (JSON.parse(text) as { events: unknown[] }).events;
    const now = Date.now();
    const check = (raw: unknown) => checkEvent(raw, now);
    const validated = events.map((raw, index) => validateEvent(raw, index, check));
    const accepted = validated.flatMap((item) => (item.ok ? [item.event] : []));
    let sink = 0;
    for (let i = 0; i < n; i++) {
      switch (section) {
        case "none":
          break;
        case "parse":
          sink += (JSON.parse(text) as { events: unknown[] }).events.length;
          break;
        case "decode-parse": {
          const bytes = new TextEncoder().encode(text);
          sink += JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)).events.length;
          break;
        }
        case "validate":
          for (const [index, raw] of events.entries()) {
            sink += validateEvent(raw, index, check).ok ? 1 : 0;
          }
          break;
        case "cost":
          for (const e of accepted) {
            if (e.type === "generation")
              sink += costOf(e.model, e.inputTokens, e.outputTokens) ?? 0;
          }
          break;
        case "pack":
          sink += packMessages("bench", accepted).length;
          break;
        case "stringify":
          sink += JSON.stringify({ projectId: "bench", events: accepted }).length;
          break;
        case "send":
          for (const messages of packMessages("bench", accepted)) {
            await env.TELEMETRY_EVENTS.sendBatch(
              messages.map((body) => ({ body, contentType: "json" })),
            );
          }
          break;
        case "limit":
          sink += (await env.INGEST_LIMITER.limit({ key: "bench" })).success ? 1 : 0;
          break;
        case "route": {
          const response = await telemetry.fetch(
            new Request("http://telemetry.internal/v1/events", {
              method: "POST",
              headers: {
                "content-type": "application/json",
                "cuecard-project-id": "bench",
                "cuecard-key-id": "bench",
              },
              body: text,
            }),
            env as unknown as TelemetryEnv,
            ctx,
          );
          sink += (await response.text()).length;
          break;
        }
        default:
          return new Response(`no section ${section}`, { status: 400 });
      }
    }
    return Response.json({ section, n, sink });
  },
};
