import { apiDocsHeaders, apiDocsHtml } from "@cuecard/core/api-docs";
import type { EdgeApp } from "../http";
import { openApiDocument } from "../openapi-document";

let openApiJson: string | undefined;

/**
 * Where the docs page's Swagger UI files are: Workers static assets (`[assets]` in wrangler.toml,
 * files in ./assets, written by `npm run edge:docs-assets`), answered before this worker runs, so
 * they never enter its bundle.
 */
const DOCS_ASSET_PATH = "/docs/assets/";

/** GET /healthz, GET /openapi.json and the GET /docs page: no key needed. */
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
  app.get("/docs", (c) => {
    const assetBase = new URL(DOCS_ASSET_PATH, c.req.url).href;
    return new Response(
      apiDocsHtml({ title: "Cuecard edge API", specUrl: "/openapi.json", assetBase }),
      // The edge sets no cookie and keeps no session, so the page needs no sandbox: in the edge's
      // own origin it reads /openapi.json and "Try it out" calls the API without CORS.
      { headers: apiDocsHeaders(c.req.url, assetBase, { sandbox: false }) },
    );
  });
}
