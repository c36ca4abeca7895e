import {
  API_DOCS_INIT_SCRIPT,
  type ApiDocsAssetName,
  apiDocsAssetResponse,
  apiDocsHeaders,
  apiDocsHtml,
} from "@cuecard/core/api-docs";
import swaggerUiPackage from "swagger-ui-dist/package.json";
import type { createRouter } from "./app";

/**
 * The docs assets, bundled into this worker from the pinned swagger-ui-dist package (wrangler.toml
 * imports them as text; `npm run types` declares them), so the docs work offline and run no code
 * from another site. Imported on first use: code that loads the app for its OpenAPI document
 * (the SDK's generator, under Node) never touches them.
 */
async function loadAssets(): Promise<Record<ApiDocsAssetName, string>> {
  const [bundle, stylesheet] = await Promise.all([
    import("swagger-ui-dist/swagger-ui-bundle.js"),
    import("swagger-ui-dist/swagger-ui.css"),
  ]);
  return {
    "swagger-ui-bundle.js": bundle.default,
    "swagger-ui.css": stylesheet.default,
    "cuecard-docs.js": API_DOCS_INIT_SCRIPT,
  };
}
let assets: Promise<Record<ApiDocsAssetName, string>> | undefined;

/** Where the assets live, relative to /api; the version in the path makes them immutable. */
export const API_DOCS_ASSET_PATH = `/docs/assets/${swaggerUiPackage.version}/`;

/** `GET /api/docs` and its assets. Another worker's docs page can link to the same assets. */
export function registerApiDocs(api: ReturnType<typeof createRouter>) {
  api.get("/docs", (c) => {
    const assetBase = new URL(`/api${API_DOCS_ASSET_PATH}`, c.req.url).href;
    return c.body(
      apiDocsHtml({ title: "Cuecard admin API", specUrl: "/api/openapi.json", assetBase }),
      200,
      apiDocsHeaders(c.req.url, assetBase),
    );
  });
  api.get(`${API_DOCS_ASSET_PATH}:file`, async (c) => {
    assets ??= loadAssets();
    const response = apiDocsAssetResponse(c.req.param("file") ?? "", await assets);
    return response ?? c.notFound();
  });
}
