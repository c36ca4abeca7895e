import { describe, expect, it } from "vitest";
import edge from "../../workers/edge/index";
import { edgeFetch } from "./edge-client";

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
    const served = edge.routes
      .filter((route) => route.method !== "ALL")
      .map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, "{$1}")}`);
    expect(served.length).toBeGreaterThan(0);
    expect([...new Set(operations)].sort()).toEqual([...new Set(served)].sort());
  });
});
