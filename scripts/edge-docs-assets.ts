/**
 * `npm run edge:docs-assets`: copies the edge's /docs page files into workers/edge/assets/, which
 * the edge serves as Workers static assets (`[assets]` in workers/edge/wrangler.toml), so Swagger
 * UI (~1.5 MB) never enters the edge's script bundle and its 40 KiB budget. The files are
 * swagger-ui-dist's, byte for byte, from the pinned package, plus core's start-up script; they are
 * committed so wrangler, Miniflare and the tests serve them with no build step.
 * test/build/edge-docs-assets.test.ts fails when they differ from what this writes: run it after
 * upgrading swagger-ui-dist.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { API_DOCS_ASSETS, API_DOCS_INIT_SCRIPT } from "../workers/core/api-docs";
import { openApiDocument } from "../workers/edge/openapi-document";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
/** Where the page's assets are served on the edge: `/docs/assets/<file>`. */
export const EDGE_DOCS_ASSET_PATH = "/docs/assets/";
/** Where the edge's OpenAPI document is served (and written, under the assets directory). */
export const EDGE_OPENAPI_ASSET = "/openapi.json";
export const edgeAssetsDir = join(root, "workers/edge/assets");

/** Each file the edge's assets directory holds, by path under it, and its content. */
export function edgeDocsAssets(): Map<string, Buffer> {
  const swaggerUi = (file: string) =>
    readFileSync(join(root, "node_modules/swagger-ui-dist", file));
  const at = (file: string) => `${EDGE_DOCS_ASSET_PATH.slice(1)}${file}`;
  return new Map([
    [at(API_DOCS_ASSETS.script), swaggerUi(API_DOCS_ASSETS.script)],
    [at(API_DOCS_ASSETS.stylesheet), swaggerUi(API_DOCS_ASSETS.stylesheet)],
    [at(API_DOCS_ASSETS.init), Buffer.from(API_DOCS_INIT_SCRIPT)],
    // The edge's OpenAPI document (~4 KiB gzipped) is an asset too, kept out of its bundle.
    [EDGE_OPENAPI_ASSET.slice(1), Buffer.from(JSON.stringify(openApiDocument))],
  ]);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [path, content] of edgeDocsAssets()) {
    const target = join(edgeAssetsDir, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
    console.log(`wrote ${relative(root, target)}`);
  }
}
