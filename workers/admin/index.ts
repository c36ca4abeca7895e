import { REQUEST_BODY_MAX_BYTES } from "@cuecard/core/limits";
import { ProblemError, problemResponse } from "@cuecard/core/problem";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { registerAccessRoutes } from "../modules/access/api/access";
import { registerKeyRoutes } from "../modules/access/api/keys";
import { accessRefusals } from "../modules/access/api/refusals";
import { authorize } from "../modules/access/middleware";
import { registerExperimentRoutes } from "../modules/experiments/api";
import { runRolloutSchedule } from "../modules/experiments/rollout";
import { createLangfuseRouter } from "../modules/langfuse/api";
import { registerMetricsRoutes } from "../modules/metrics/api";
import { registerModelProviderRoutes } from "../modules/playground/api";
import { registerProjectRoutes } from "../modules/projects/api";
import { registerLabelRoutes } from "../modules/prompts/api/labels";
import { registerPromptRoutes } from "../modules/prompts/api/prompts";
import { registerVersionRoutes } from "../modules/prompts/api/versions";
import { registerResultsRoutes } from "../modules/results/api";
import { registerWebhookRoutes } from "../modules/webhooks/api";
import { consumeWebhookDeliveries, markDeadLettered } from "../modules/webhooks/delivery";
import { type DeliveryMessage, fanOutEvent } from "../modules/webhooks/fan-out";
import { requeueStuckDeliveries } from "../modules/webhooks/recovery";
import type { EventMessage } from "../platform/context";
import { openDatabase } from "../platform/db/client";
import { consumeEvents, recordDeadLetteredEvents } from "../platform/events-consumer";
import { registerApiDocs } from "../platform/http/api-docs";
import { type AdminHonoEnv, createRouter } from "../platform/http/app";
import {
  handleError,
  requestId,
  securityHeaders,
  wellFormedJsonBody,
} from "../platform/http/middleware";
import { documentAccessErrors } from "../platform/http/openapi";
import { recoveryGraceSeconds, retryPendingOutbox } from "../platform/outbox";
import { optionalModulesOf, platformOf, webhookFanOutOf } from "./platform";
import { createAdminUi } from "./ui";

/** The admin JSON API, mounted at /api. Its register calls are the table of contents. */
const api = createRouter();
// Keys work from any origin, as with GitHub's API; cookies never do (no credentials), so a site
// cannot read the API as a signed-in user. The sandboxed docs page calls the API this way too.
const apiCors = cors({
  origin: "*",
  allowHeaders: ["authorization", "content-type"],
  exposeHeaders: ["x-request-id", "etag", "retry-after"],
  maxAge: 600,
});
api.use("/openapi.json", apiCors);
api.use("/v1/*", apiCors);
api.use("/v1/*", authorize(api.openAPIRegistry));
api.use(
  "/v1/*",
  bodyLimit({
    maxSize: REQUEST_BODY_MAX_BYTES,
    onError: () => {
      throw new ProblemError(
        "payload_too_large",
        `The body is larger than ${REQUEST_BODY_MAX_BYTES} bytes.`,
      );
    },
  }),
);
api.use("/v1/*", wellFormedJsonBody());
registerAccessRoutes(api);
registerProjectRoutes(api);
registerPromptRoutes(api);
registerVersionRoutes(api);
registerLabelRoutes(api);
registerMetricsRoutes(api);
registerKeyRoutes(api);
registerWebhookRoutes(api);
registerExperimentRoutes(api);
registerResultsRoutes(api);
registerModelProviderRoutes(api);
documentAccessErrors(api.openAPIRegistry, accessRefusals);

api.openAPIRegistry.registerComponent("securitySchemes", "adminToken", {
  type: "http",
  scheme: "bearer",
  description: "An API key (cc_editor_…, cc_publisher_…, cc_admin_…)",
});
api.doc31("/openapi.json", {
  openapi: "3.1.0",
  info: {
    title: "Cuecard admin API",
    version: "1.0.0",
    description:
      "Control plane: prompts, immutable versions, labels, experiments, keys, audit, the playground's model provider.",
  },
  servers: [{ url: "/api", description: "This deployment" }],
  security: [{ adminToken: [] }],
  tags: [
    { name: "access", description: "The bootstrap token, and signing in and out of the UI" },
    { name: "projects", description: "Projects and their settings" },
    { name: "audit", description: "The audit log" },
    { name: "prompts", description: "Prompts: name, type, description, tags" },
    { name: "versions", description: "Immutable, numbered versions of a prompt" },
    { name: "labels", description: "Labels pointing at versions: moves, history, rollback" },
    { name: "metrics", description: "Per-version metrics from the telemetry worker" },
    { name: "keys", description: "API and read keys" },
    { name: "webhooks", description: "Webhook endpoints and their deliveries" },
    { name: "experiments", description: "Experiments and rollouts on a label" },
    { name: "model provider", description: "The model the playground runs versions against" },
  ],
});
registerApiDocs(api);

const app = new Hono<AdminHonoEnv>();
app.use(requestId());
app.use(securityHeaders());
app.use(async function wirePlatform(c, next) {
  c.set("platform", platformOf(c.env));
  c.set("modules", optionalModulesOf(c.env));
  await next();
});
// The Langfuse-compatible prompt API's writes and lists, handed over by the edge (its ADMIN binding).
app.route("/api/public", createLangfuseRouter());
app.route("/api", api);
app.route("/", createAdminUi());
app.notFound((c) =>
  problemResponse(
    new ProblemError("not_found", `No route for ${c.req.method} ${new URL(c.req.url).pathname}.`),
    c.get("requestId"),
  ),
);
app.onError(handleError);
api.onError(handleError);

export default {
  fetch: app.fetch,
  /**
   * Retries outbox rows whose publish or enqueue failed after their commit, and sends again the
   * work whose queue message was lost: events never consumed, deliveries never attempted when due.
   * And advances rollouts whose current stage has its exposure and duration.
   */
  async scheduled(controller, env, ctx) {
    const graceSeconds = recoveryGraceSeconds(env.RECOVERY_GRACE_SECONDS);
    ctx.waitUntil(retryPendingOutbox(platformOf(env), 50, { graceSeconds }));
    ctx.waitUntil(requeueStuckDeliveries(webhookFanOutOf(env), { graceSeconds }));
    ctx.waitUntil(
      runRolloutSchedule(
        platformOf(env),
        optionalModulesOf(env).telemetry,
        new Date(controller.scheduledTime),
      ).catch((error) => console.error("rollout schedule failed", String(error))),
    );
  },
  /** One handler for every queue this worker consumes (see wrangler.toml). */
  async queue(batch, env) {
    switch (batch.queue) {
      case "cuecard-events": {
        const fanOut = webhookFanOutOf(env);
        return consumeEvents(batch as MessageBatch<EventMessage>, platformOf(env), (event) =>
          fanOutEvent(event, fanOut),
        );
      }
      case "cuecard-webhooks":
        return consumeWebhookDeliveries(batch as MessageBatch<DeliveryMessage>, {
          db: openDatabase(env.DB),
          fetch: (input, init) => fetch(input, init),
          allowLoopback: env.WEBHOOK_ALLOW_LOOPBACK === "true",
        });
      case "cuecard-webhooks-dlq":
        return markDeadLettered(batch as MessageBatch<DeliveryMessage>, openDatabase(env.DB));
      case "cuecard-events-dlq":
        return recordDeadLetteredEvents(batch as MessageBatch<EventMessage>, openDatabase(env.DB));
      default:
        // A queue bound in wrangler.toml but not handled here: fail loudly rather than consume
        // its messages as something they are not.
        throw new Error(`no consumer for queue ${batch.queue}`);
    }
  },
} satisfies ExportedHandler<AdminEnv>;
