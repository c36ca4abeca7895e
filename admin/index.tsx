import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { MAX_BODY_BYTES } from "../workers/admin/http/middleware";
import { ProblemError } from "../workers/shared/problem";
import { ENHANCE_SCRIPT } from "./assets/enhance";
import { FAVICON } from "./assets/favicon";
import { STYLESHEET } from "./assets/stylesheet";
import { registerAuditPages } from "./routes/audit";
import { renderUiError } from "./routes/errors";
import { registerKeyPages } from "./routes/keys";
import { registerLabelPages } from "./routes/labels";
import { registerPromptPages } from "./routes/prompts";
import { registerSessionPages } from "./routes/session";
import { registerVersionPages } from "./routes/versions";
import { registerWebhookPages } from "./routes/webhooks";
import type { UiEnv } from "./session";

/**
 * The admin UI: server-rendered pages over the same domain verbs as the JSON API, mounted at `/`
 * by the admin worker. Its register calls are the table of contents.
 */
export function createAdminUi() {
  const ui = new Hono<UiEnv>();
  ui.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ProblemError(
          "payload_too_large",
          `The form is larger than ${MAX_BODY_BYTES} bytes.`,
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
  registerKeyPages(ui);
  registerWebhookPages(ui);
  registerAuditPages(ui);
  ui.onError(renderUiError);
  return ui;
}
