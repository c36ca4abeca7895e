import { Hono } from "hono";
import { consumeTelemetry, keepDeadEvents } from "./consumer";
import {
  errorResponse,
  ingestRateLimit,
  notFoundResponse,
  type TelemetryApp,
  trustedCaller,
} from "./http";
import type { TelemetryMessage } from "./ingest";
import { pruneIngestedEvents } from "./prune";
import { registerIngestEvents } from "./routes/events";
import { registerInternalQueries } from "./routes/internal";
import { registerLangfuseIngest } from "./routes/langfuse";
import { registerOtlpTraces } from "./routes/otlp";
import { registerIngestScore } from "./routes/scores";

/**
 * Cuecard telemetry worker: ingest (events, scores, OTLP traces, and the Langfuse ingest API) onto a queue, a consumer that
 * rolls them up in its own D1 database exactly once, and the metrics queries. It has no public
 * route: the edge forwards ingest to it and the admin worker queries it, by service bindings.
 */
const app: TelemetryApp = new Hono();

app.onError(errorResponse);
app.notFound(notFoundResponse);

app.use("/v1/*", trustedCaller(), ingestRateLimit());
registerIngestEvents(app);
registerIngestScore(app);
registerOtlpTraces(app);
registerInternalQueries(app);
// The Langfuse SDKs' ingest paths, with Langfuse's error shape (its own error handler).
registerLangfuseIngest(app);

export default {
  fetch: app.fetch,
  /** Raw events past the dedup window are deleted; rollups stay. */
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(pruneIngestedEvents(env.TELEMETRY_DB, controller.scheduledTime));
  },
  async queue(batch, env) {
    switch (batch.queue) {
      case "cuecard-telemetry":
        return consumeTelemetry(batch as MessageBatch<TelemetryMessage>, env.TELEMETRY_DB);
      case "cuecard-telemetry-dlq":
        return keepDeadEvents(batch as MessageBatch<TelemetryMessage>, env.TELEMETRY_DB);
      default:
        throw new Error(`no consumer for queue ${batch.queue}`);
    }
  },
} satisfies ExportedHandler<TelemetryEnv>;
