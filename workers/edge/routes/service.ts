import type { EdgeApp } from "../http";
import { openApiDocument } from "../openapi-document";

let openApiJson: string | undefined;

/** GET /healthz and GET /openapi.json: no key needed. */
export function registerService(app: EdgeApp) {
  app.get("/healthz", () =>
    Response.json({ status: "ok" }, { headers: { "cache-control": "no-store" } }),
  );
  app.get("/openapi.json", () => {
    openApiJson ??= JSON.stringify(openApiDocument);
    return new Response(openApiJson, {
      headers: {
        "content-type": "application/json; charset=utf-8",
        "cache-control": "public, max-age=300",
      },
    });
  });
}
