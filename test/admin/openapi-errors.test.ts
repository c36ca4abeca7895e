import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { json } from "./api";

type Operation = {
  "x-cuecard-permission"?: string;
  responses: Record<string, { description: string; headers?: object }>;
};

const PUBLIC_ROUTES = [
  "POST /v1/bootstrap",
  "POST /v1/session",
  "GET /v1/session",
  "DELETE /v1/session",
];
let operations: Map<string, Operation>;
beforeAll(async () => {
  const doc = await json(await exports.default.fetch("http://admin.test/api/openapi.json"));
  operations = new Map(
    Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(
      ([path, byMethod]) =>
        Object.entries(byMethod).map(([method, operation]) => [
          `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`,
          operation,
        ]),
    ),
  );
});

describe("the admin OpenAPI document lists the errors each operation can give", () => {
  it("declares on every operation the permission it needs, or that it is public", () => {
    expect(operations.size).toBeGreaterThan(30);
    const declared = [...operations].map(([route, op]) => [route, op["x-cuecard-permission"]]);
    const publicOnes = declared.filter(([, access]) => access === "public").map(([r]) => r);
    expect(publicOnes.sort()).toEqual([...PUBLIC_ROUTES].sort());
    for (const [route, access] of declared) {
      expect(access, route).toMatch(/^(public|[a-z]+:[a-z-]+)$/);
    }
  });

  it("every non-public operation: 401, 403 naming its permission, 404, 422, 429 with Retry-After, 500", () => {
    for (const [route, operation] of operations) {
      const permission = operation["x-cuecard-permission"];
      if (permission === "public") continue;
      const responses = operation.responses;
      for (const status of ["401", "403", "404", "422", "429", "500"]) {
        expect(Object.keys(responses), `${route} ${status}`).toContain(status);
      }
      expect(responses["403"]?.description, route).toContain(`\`${permission}\``);
      expect(responses["429"]?.headers, route).toHaveProperty("Retry-After");
    }
  });

  it("sign-in documents 403 (reader keys) and 429; bootstrap 401, 409 and 429", () => {
    const signIn = operations.get("POST /v1/session")?.responses ?? {};
    expect(Object.keys(signIn)).toEqual(expect.arrayContaining(["401", "403", "422", "429"]));
    const bootstrap = operations.get("POST /v1/bootstrap")?.responses ?? {};
    expect(Object.keys(bootstrap)).toEqual(expect.arrayContaining(["401", "409", "422", "429"]));
    const signOut = operations.get("DELETE /v1/session")?.responses ?? {};
    expect(Object.keys(signOut)).toContain("403");
  });
});
