import { HonoBase } from "hono/hono-base";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { type EdgeApp, type EdgeBindings, errorResponse, notFoundResponse } from "./http";
import { registerBatchPrompts } from "./routes/batch-prompts";
import { fastGetPrompt, registerGetPrompt } from "./routes/get-prompt";
import { fastLangfusePrompt, registerLangfuse } from "./routes/langfuse";
import { registerRenderPrompt } from "./routes/render-prompt";
import { registerService } from "./routes/service";
import { registerTelemetry } from "./routes/telemetry";

/**
 * Cuecard edge worker (data plane): serves published prompts from Workers KV through an isolate
 * cache. Read-only; it has no D1 binding and never talks to the admin worker. Telemetry sent with
 * a read key is checked here and forwarded to the telemetry worker (optional, service binding).
 */
/**
 * The router, for everything but `fastGetPrompt`'s hits (and for tests listing its routes).
 * RegExpRouter alone, not Hono's default SmartRouter (RegExpRouter with TrieRouter as a fallback
 * for patterns it cannot compile, which these routes never use): one router less in the bundle.
 */
export const app: EdgeApp = new HonoBase({ router: new RegExpRouter() });

app.onError(errorResponse);
app.notFound(notFoundResponse);

registerService(app);
registerBatchPrompts(app);
registerGetPrompt(app);
registerRenderPrompt(app);
registerTelemetry(app);
registerLangfuse(app);

export default {
  /** An isolate hit of a prompt read (native or Langfuse) skips Hono; the rest is Hono's. */
  fetch(request: Request, env: EdgeBindings, ctx: ExecutionContext): Response | Promise<Response> {
    if (request.method === "GET") {
      // Read once for both fast paths: each read of `request.url` crosses into workerd.
      const url = request.url;
      const hit =
        fastGetPrompt(request, url, env, ctx) ?? fastLangfusePrompt(request, url, env, ctx);
      if (hit) return hit;
    }
    return app.fetch(request, env, ctx);
  },
};
