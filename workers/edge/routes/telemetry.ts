import { ProblemError } from "@cuecard/core/problem";
import { ORIGIN_VARY, registerPreflight, setCorsHeaders } from "../cors";
import type { EdgeApp } from "../http";
import { telemetryIngestOf } from "../modules";
import { authorizeReadKey } from "../read-key-auth";

/** The telemetry worker's routes, served at the edge's base URL so apps need one URL and key. */
export const TELEMETRY_PATHS = ["/v1/events", "/v1/scores", "/v1/otel/v1/traces"] as const;

/**
 * POST /v1/events, /v1/scores, /v1/otel/v1/traces — the read key is checked as for prompt reads
 * (same cache, same 401s), then whether it may send telemetry, then the request goes to the
 * telemetry worker, whose answer (200/207 or a problem) is returned unchanged.
 */
export function registerTelemetry(app: EdgeApp) {
  for (const path of TELEMETRY_PATHS) {
    app.post(path, async (c) => {
      await authorizeReadKey(c);
      const readKey = c.get("readKey");
      if (readKey.browser && path !== "/v1/scores") {
        // Events and traces carry what only a server knows (model, tokens, cost, latency); from a
        // public key anyone could forge them. A browser app may at most send scores (feedback).
        throw new ProblemError(
          "telemetry_not_allowed",
          "A browser key sends scores at most; send events and traces from your server.",
        );
      }
      if (!readKey.sendTelemetry) {
        throw new ProblemError(
          "telemetry_not_allowed",
          "This key may read prompts but not send telemetry. Send events with a key created with sendTelemetry: true (admin UI: API keys → New key → “May send telemetry”); a key published before telemetry existed needs its project republished.",
        );
      }
      const answer = await telemetryIngestOf(c.env).ingest(c.req.raw, readKey);
      // The service's response headers are immutable: copy them to add the edge's own.
      const response = new Response(answer.body, answer);
      response.headers.set("vary", ORIGIN_VARY);
      setCorsHeaders(response.headers, c.get("allowOrigin"));
      return response;
    });
    registerPreflight(app, path, "POST");
  }
}
