import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { keyFor } from "./api";

const origin = "http://admin.test";
const get = (path: string, init?: RequestInit) => exports.default.fetch(`${origin}${path}`, init);

/** The `src`/`href` of every script and stylesheet the page loads. */
function loadedUrls(html: string): string[] {
  return [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
}

function directives(csp: string): Map<string, string> {
  return new Map(
    csp
      .split(";")
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const [name, ...values] = part.split(/\s+/);
        return [name!, values.join(" ")];
      }),
  );
}

describe("/api/docs", () => {
  it("is served whole by this worker: every script and stylesheet is its own, none inline", async () => {
    const response = await get("/api/docs");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    const html = await response.text();
    // No other site anywhere in the page, so the docs also work with the network cut off.
    expect(html).not.toMatch(/https?:\/\/(?!admin\.test\/)/);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style\b|\sstyle=|\son\w+=/i);
    const urls = loadedUrls(html);
    expect(urls.length).toBeGreaterThanOrEqual(3);
    for (const url of urls) {
      expect(new URL(url, origin).origin).toBe(origin);
      const asset = await get(new URL(url, origin).pathname);
      expect(asset.status, url).toBe(200);
      expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(asset.headers.get("x-content-type-options")).toBe("nosniff");
      expect(asset.headers.get("content-type")).toMatch(/^text\/(javascript|css)/);
    }
    const bundle = urls.find((url) => url.endsWith("/swagger-ui-bundle.js"))!;
    // The pinned package's version is in the asset's URL, so the immutable caching is honest.
    expect(bundle).toMatch(/\/api\/docs\/assets\/5\.35\.0\/swagger-ui-bundle\.js$/);
    expect(await (await get(new URL(bundle, origin).pathname)).text()).toContain("SwaggerUIBundle");
  });

  it("runs sandboxed in an opaque origin, so it cannot use the session cookie", async () => {
    const response = await get("/api/docs");
    const csp = directives(response.headers.get("content-security-policy") ?? "");
    // `sandbox` without allow-same-origin: document.cookie throws, requests carry no cookie
    // of this site, and same-origin pages cannot be read.
    expect(csp.get("sandbox")).toBe("allow-scripts");
    expect(csp.get("default-src")).toBe("'none'");
    expect(csp.get("script-src")).not.toMatch(/unsafe-inline|unsafe-eval|https:|\*/);
    expect(csp.get("script-src")).toContain(origin);
    expect(csp.get("connect-src")).not.toMatch(/https:|\*/);
    expect(csp.get("frame-ancestors")).toBe("'none'");
    expect(response.headers.get("content-security-policy")).not.toContain("cdn.");
    expect(response.headers.get("x-frame-options")).toBe("DENY");
  });

  it("an unknown asset is a 404 problem with the strict policy", async () => {
    const response = await get("/api/docs/assets/5.35.0/evil.js");
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.headers.get("content-security-policy")).toContain("default-src 'self'");
  });

  it("the OpenAPI document and the API answer CORS without credentials, for the sandboxed page", async () => {
    const spec = await get("/api/openapi.json", { headers: { origin: "null" } });
    expect(spec.status).toBe(200);
    expect(spec.headers.get("access-control-allow-origin")).toBe("*");
    expect(spec.headers.get("access-control-allow-credentials")).toBeNull();

    const preflight = await get("/api/v1/projects", {
      method: "OPTIONS",
      headers: {
        origin: "null",
        "access-control-request-method": "GET",
        "access-control-request-headers": "authorization",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-headers")).toContain("authorization");
    expect(preflight.headers.get("access-control-allow-credentials")).toBeNull();

    const withKey = await get("/api/v1/projects", {
      headers: { origin: "null", authorization: `Bearer ${await keyFor("editor")}` },
    });
    expect(withKey.status).toBe(200);
    expect(withKey.headers.get("access-control-allow-origin")).toBe("*");
  });
});
