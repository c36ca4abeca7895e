import { describe, expect, it } from "vitest";
import { edgeFetch } from "./edge-client";

describe("service routes", () => {
  it("reports health without a key", async () => {
    const response = await edgeFetch("/healthz");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("documents every edge route in an OpenAPI 3.1 document", async () => {
    const response = await edgeFetch("/openapi.json");
    const document = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(document.openapi).toBe("3.1.0");
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        "GET /healthz",
        "GET /openapi.json",
        "GET /v1/prompts",
        "GET /v1/prompts/{name}",
        "POST /v1/prompts/{name}/render",
      ].sort(),
    );
  });
});
