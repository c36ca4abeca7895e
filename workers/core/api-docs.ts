/**
 * The interactive API docs page (Swagger UI), for any worker that serves an OpenAPI document.
 *
 * The page holds no inline code and names no other site: its scripts and stylesheet come from
 * `assetBase`, served by the admin worker from the pinned `swagger-ui-dist` package. This file
 * imports none of them, so a worker that only links to them (the edge) stays small.
 *
 * The page is served with CSP `sandbox allow-scripts`: it runs in an opaque origin, so its
 * scripts cannot read the worker's cookies, cannot use a browser session and cannot read
 * same-origin pages. It fetches the OpenAPI document (and "Try it out" calls) as a cross-origin
 * client, which is why those answer CORS (without credentials).
 */

/** File names of the docs assets under `assetBase`. */
export const API_DOCS_ASSETS = {
  script: "swagger-ui-bundle.js",
  stylesheet: "swagger-ui.css",
  init: "cuecard-docs.js",
} as const;
export type ApiDocsAssetName = (typeof API_DOCS_ASSETS)[keyof typeof API_DOCS_ASSETS];

/** Starts Swagger UI on the page's `#swagger-ui` element with the spec URL it names. */
export const API_DOCS_INIT_SCRIPT = `"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    // The page has an opaque origin: storage would throw, and nothing must outlive the tab.
    persistAuthorization: false,
  });
})();
`;

export interface ApiDocsPage {
  title: string;
  /** URL of the OpenAPI document, e.g. `/api/openapi.json`. */
  specUrl: string;
  /** Absolute URL (with trailing slash) the assets are served under. */
  assetBase: string;
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);

export function apiDocsHtml(page: ApiDocsPage): string {
  const asset = (name: ApiDocsAssetName) => escapeHtml(new URL(name, page.assetBase).href);
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${escapeHtml(page.title)}</title>
    <link rel="stylesheet" href="${asset(API_DOCS_ASSETS.stylesheet)}">
  </head>
  <body>
    <div id="swagger-ui" data-spec-url="${escapeHtml(page.specUrl)}"></div>
    <script src="${asset(API_DOCS_ASSETS.script)}"></script>
    <script src="${asset(API_DOCS_ASSETS.init)}"></script>
  </body>
</html>
`;
}

/**
 * Headers of the docs page. `sandbox allow-scripts` (no `allow-same-origin`) gives the page an
 * opaque origin; scripts and styles load only from the asset origin, never inline; requests go
 * only to this worker. `'self'` is spelled out as the origin too, since the sandboxed page's own
 * origin is opaque.
 *
 * `sandbox: false` is for a worker with no cookie and no session to protect (the edge): its page
 * then has the worker's own origin, so it reads the document and "Try it out" calls the API
 * same-origin, with no CORS needed.
 */
export function apiDocsHeaders(
  pageUrl: string,
  assetBase: string,
  options: { sandbox?: boolean } = {},
): Record<string, string> {
  const self = new URL(pageUrl).origin;
  const assets = new URL(assetBase).origin;
  const sources = [...new Set(["'self'", self, assets])].join(" ");
  return {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": [
      ...(options.sandbox === false ? [] : ["sandbox allow-scripts"]),
      "default-src 'none'",
      `script-src ${sources}`,
      // Swagger UI sets element styles from script; no stylesheet or script is inline.
      `style-src ${sources} 'unsafe-inline'`,
      "img-src data:",
      `connect-src ${[...new Set(["'self'", self])].join(" ")}`,
      "form-action 'none'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "object-src 'none'",
    ].join("; "),
    "cache-control": "no-cache",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
  };
}

const ASSET_TYPES: Record<ApiDocsAssetName, string> = {
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui.css": "text/css; charset=utf-8",
  "cuecard-docs.js": "text/javascript; charset=utf-8",
};

/**
 * One docs asset. Its URL names the package version, so it is cached for a year as immutable;
 * CORP `cross-origin` lets a docs page of another worker load it.
 */
export function apiDocsAssetResponse(
  name: string,
  assets: Record<ApiDocsAssetName, string>,
): Response | undefined {
  if (!Object.hasOwn(ASSET_TYPES, name)) return undefined;
  const asset = name as ApiDocsAssetName;
  return new Response(assets[asset], {
    headers: {
      "content-type": ASSET_TYPES[asset],
      "cache-control": "public, max-age=31536000, immutable",
      "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
      "x-content-type-options": "nosniff",
      "cross-origin-resource-policy": "cross-origin",
    },
  });
}
