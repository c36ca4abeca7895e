import { describe, expect, it } from "vitest";
import { app as edge } from "../../workers/edge/index";
import { type OpenApiDocument, responseSchema, shapeProblems } from "../openapi-shape";
import { edgeFetch, renderRequest } from "./edge-client";
import { seedProject, seedPrompt, seedReadKey } from "./factories";

describe("service routes", () => {
  it("reports health without a key", async () => {
    const response = await edgeFetch("/healthz");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("documents exactly the routes the worker serves, in an OpenAPI 3.1 document", async () => {
    const response = await edgeFetch("/openapi.json");
    const document = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(document.openapi).toBe("3.1.0");
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    // The routes the app really registers (middleware is registered as ALL), in OpenAPI's syntax.
    // GET /docs is the page that shows this document, not an API route (as the admin's /api/docs).
    const served = edge.routes
      .filter((route) => route.method !== "ALL")
      .map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, "{$1}")}`)
      .filter((route) => route !== "GET /docs");
    expect(served.length).toBeGreaterThan(0);
    expect([...new Set(operations)].sort()).toEqual([...new Set(served)].sort());
  });

  it("serves a docs page of this document that loads only its own, static, assets", async () => {
    const response = await edgeFetch("/docs");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const csp = response.headers.get("content-security-policy") ?? "";
    // Scripts and styles only from files, never inline; requests only to the edge itself. No
    // sandbox: the edge has no cookie or session to protect, and "Try it out" stays same-origin.
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'self' https:\/\/edge\.test(;|$)/);
    expect(csp).toMatch(/connect-src 'self' https:\/\/edge\.test(;|$)/);
    expect(csp).not.toContain("sandbox");
    const html = await response.text();
    expect(html).toContain('data-spec-url="/openapi.json"');
    const urls = [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"/g)].map(
      (match) => new URL(match[1] as string),
    );
    // Workers static assets under /docs/assets/ (wrangler.toml's [assets]), never another site.
    expect(urls.map((url) => url.pathname).sort()).toEqual([
      "/docs/assets/cuecard-docs.js",
      "/docs/assets/swagger-ui-bundle.js",
      "/docs/assets/swagger-ui.css",
    ]);
    expect(new Set(urls.map((url) => url.origin))).toEqual(new Set(["https://edge.test"]));
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it("answers with exactly the fields its document gives, problems included", async () => {
    const document = (await (await edgeFetch("/openapi.json")).json()) as OpenApiDocument;
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({
      project,
      templates: ["Hello {{customer}}"],
      declared: { customer: { default: "you", description: "who" } },
    });
    const answers: [string, string, number, Response][] = [
      ["GET", "/v1/prompts/{name}", 200, await edgeFetch(`/v1/prompts/${seeded.name}`, { key })],
      [
        "GET",
        "/v1/prompts/{name}",
        200,
        await edgeFetch(`/v1/prompts/${seeded.name}?version=1`, { key }),
      ],
      [
        "GET",
        "/v1/prompts",
        200,
        await edgeFetch(`/v1/prompts?names=${seeded.name},nope`, { key }),
      ],
      [
        "POST",
        "/v1/prompts/{name}/render",
        200,
        await renderRequest(`/v1/prompts/${seeded.name}/render`, key, {}),
      ],
      ["GET", "/v1/prompts/{name}", 401, await edgeFetch(`/v1/prompts/${seeded.name}`)],
      ["GET", "/v1/prompts/{name}", 404, await edgeFetch("/v1/prompts/nope", { key })],
      [
        "POST",
        "/v1/prompts/{name}/render",
        422,
        await renderRequest(`/v1/prompts/${seeded.name}/render`, key, {
          variables: { costumer: "typo" },
        }),
      ],
    ];
    // Telemetry answers come from the telemetry worker (here its stand-in, fake-telemetry.ts);
    // the 401/403 are the edge's own.
    const sendEvents = (answer: string, withKey: string | null = key) =>
      edgeFetch("/v1/events", {
        key: withKey ?? undefined,
        method: "POST",
        headers: { "content-type": "application/json", "x-fake-answer": answer },
        body: '{"events":[]}',
      });
    const readOnlyKey = await seedReadKey({ project, sendTelemetry: false });
    answers.push(
      ["POST", "/v1/events", 200, await sendEvents("accepted")],
      ["POST", "/v1/events", 207, await sendEvents("partial")],
      ["POST", "/v1/events", 429, await sendEvents("rate-limited")],
      ["POST", "/v1/events", 401, await sendEvents("accepted", null)],
      ["POST", "/v1/events", 403, await sendEvents("accepted", readOnlyKey)],
    );
    for (const [method, path, status, response] of answers) {
      expect(response.status, `${method} ${path}`).toBe(status);
      const problems = shapeProblems(
        document,
        responseSchema(document, method, path, status),
        await response.json(),
      );
      expect(problems, `${method} ${path} ${status}`).toEqual([]);
    }
  });
});
