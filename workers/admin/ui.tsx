import { REQUEST_BODY_MAX_BYTES } from "@cuecard/core/limits";
import { ProblemError } from "@cuecard/core/problem";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ENHANCE_SCRIPT } from "../../admin/assets/enhance";
import { FAVICON } from "../../admin/assets/favicon";
import { STYLESHEET } from "../../admin/assets/stylesheet";
import { renderUiError } from "../../admin/errors";
import type { UiEnv } from "../../admin/session";
import { registerKeyPages } from "../modules/access/pages/keys";
import { registerSessionPages } from "../modules/access/pages/session";
import { registerAuditPages } from "../modules/audit/pages/audit";
import { registerExperimentPages } from "../modules/experiments/pages/experiments";
import { registerMetricsPages } from "../modules/metrics/pages/metrics";
import { registerPlaygroundPages } from "../modules/playground/pages/playground";
import { registerProviderPages } from "../modules/playground/pages/provider";
import { registerSettingsPages } from "../modules/projects/pages/settings";
import { registerLabelPages } from "../modules/prompts/pages/labels";
import { registerPromptPages } from "../modules/prompts/pages/prompts";
import { registerVersionPages } from "../modules/prompts/pages/versions";
import { registerResultsPages } from "../modules/results/pages/results";
import { registerWebhookPages } from "../modules/webhooks/pages/webhooks";

/**
 * The admin UI: server-rendered pages over the same domain verbs as the JSON API, mounted at `/`
 * by the admin worker. Its register calls are the table of contents.
 */
export function createAdminUi() {
  const ui = new Hono<UiEnv>();
  ui.use(
    "*",
    bodyLimit({
      maxSize: REQUEST_BODY_MAX_BYTES,
      onError: () => {
        throw new ProblemError(
          "payload_too_large",
          `The form is larger than ${REQUEST_BODY_MAX_BYTES} bytes.`,
        );
      },
    }),
  );
  // The CSP allows no inline code, so the stylesheet and the script are files of their own.
  ui.get("/assets/cuecard.css", (c) => {
    c.header("cache-control", "public, max-age=3600");
    return c.body(STYLESHEET, 200, { "content-type": "text/css; charset=utf-8" });
  });
  ui.get("/assets/cuecard.js", (c) => {
    c.header("cache-control", "public, max-age=3600");
    return c.body(ENHANCE_SCRIPT, 200, { "content-type": "text/javascript; charset=utf-8" });
  });
  ui.get("/assets/favicon.svg", (c) => {
    c.header("cache-control", "public, max-age=86400");
    return c.body(FAVICON, 200, { "content-type": "image/svg+xml" });
  });
  registerSessionPages(ui);
  registerPromptPages(ui);
  registerVersionPages(ui);
  registerLabelPages(ui);
  registerPlaygroundPages(ui);
  registerMetricsPages(ui);
  registerExperimentPages(ui);
  registerResultsPages(ui);
  registerKeyPages(ui);
  registerWebhookPages(ui);
  registerProviderPages(ui);
  registerAuditPages(ui);
  registerSettingsPages(ui);
  ui.onError(renderUiError);
  return ui;
}
