import { ProblemError, problemResponse } from "@cuecard/core/problem";
import { swaggerUI } from "@hono/swagger-ui";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { registerAccessRoutes } from "../modules/access/api/access";
import { registerKeyRoutes } from "../modules/access/api/keys";
import { authorize } from "../modules/access/middleware";
import { registerProjectRoutes } from "../modules/projects/api";
import { registerLabelRoutes } from "../modules/prompts/api/labels";
import { registerPromptRoutes } from "../modules/prompts/api/prompts";
import { registerVersionRoutes } from "../modules/prompts/api/versions";
import { registerWebhookRoutes } from "../modules/webhooks/api";
import { consumeWebhookDeliveries, markDeadLettered } from "../modules/webhooks/delivery";
import type { DeliveryMessage, WebhookFanOut } from "../modules/webhooks/fan-out";
import type { EventMessage, Platform } from "../platform/context";
import { openDatabase } from "../platform/db/client";
import { consumeEvents, recordDeadLetteredEvents } from "../platform/events-consumer";
import { type AdminHonoEnv, createRouter } from "../platform/http/app";
import {
  handleError,
  MAX_BODY_BYTES,
  requestId,
  securityHeaders,
} from "../platform/http/middleware";
import { retryPendingOutbox } from "../platform/outbox";
import { createAdminUi } from "./ui";

/** The admin JSON API, mounted at /api. Its register calls are the table of contents. */
const api = createRouter();
api.use("/v1/*", authorize());
api.use(
  "/v1/*",
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ProblemError(
        "payload_too_large",
        `The body is larger than ${MAX_BODY_BYTES} bytes.`,
      );
    },
  }),
);
registerAccessRoutes(api);
registerProjectRoutes(api);
registerPromptRoutes(api);
registerVersionRoutes(api);
registerLabelRoutes(api);
registerKeyRoutes(api);
registerWebhookRoutes(api);

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
    description: "Control plane: prompts, immutable versions, labels, keys, audit.",
  },
  servers: [{ url: "/api", description: "This deployment" }],
  security: [{ adminToken: [] }],
});
api.get("/docs", swaggerUI({ url: "/api/openapi.json" }));

const app = new Hono<AdminHonoEnv>();
app.use(requestId());
app.use(securityHeaders());
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

function platformOf(env: AdminEnv): Platform {
  return { db: openDatabase(env.DB), kv: env.PROMPTS_KV, events: env.EVENTS };
}

function webhookFanOutOf(env: AdminEnv): WebhookFanOut {
  return {
    db: openDatabase(env.DB),
    deliveries: env.WEBHOOK_DELIVERIES as Queue<DeliveryMessage>,
    links: { adminUrl: env.ADMIN_URL, edgeUrl: env.EDGE_URL },
  };
}

export default {
  fetch: app.fetch,
  /** Retries outbox rows whose publish or enqueue failed after their commit. */
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(retryPendingOutbox(platformOf(env)));
  },
  /** One handler for every queue this worker consumes (see wrangler.toml). */
  async queue(batch, env) {
    switch (batch.queue) {
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
        return consumeEvents(
          batch as MessageBatch<EventMessage>,
          platformOf(env),
          webhookFanOutOf(env),
        );
    }
  },
} satisfies ExportedHandler<AdminEnv>;
