import { apiDocsHeaders, apiDocsHtml } from "@cuecard/core/api-docs";
import type { EdgeApp } from "../http";

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
  // Static assets answer /openapi.json before the worker runs (scripts/edge-docs-assets.ts writes
  // it), so the document stays out of the bundle; this route serves the same file where assets
  // are not answered first (the tests call the worker directly).
  app.get("/openapi.json", (c) => c.env.ASSETS.fetch(c.req.raw));
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
