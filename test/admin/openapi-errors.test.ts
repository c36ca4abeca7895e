import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { PUBLIC_ROUTES, ROUTE_POLICY } from "../../workers/modules/access/roles";
import { json } from "./api";

type Operation = { responses: Record<string, { description: string; headers?: object }> };
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
  it("documents every route of the policy table and every public route", () => {
    expect([...operations.keys()].sort()).toEqual(
      [...Object.keys(ROUTE_POLICY), ...PUBLIC_ROUTES].sort(),
    );
  });

  for (const [route, permission] of Object.entries(ROUTE_POLICY)) {
    it(`${route}: 401, 403 naming '${permission}', 404, 422, 429 with Retry-After, 500`, () => {
      const responses = operations.get(route)?.responses ?? {};
      for (const status of ["401", "403", "404", "422", "429", "500"]) {
        expect(Object.keys(responses), status).toContain(status);
      }
      expect(responses["403"]?.description).toContain(`\`${permission}\``);
      expect(responses["429"]?.headers).toHaveProperty("Retry-After");
    });
  }

  it("sign-in documents 403 (reader keys) and 429; bootstrap 401, 409 and 429", () => {
    const signIn = operations.get("POST /v1/session")?.responses ?? {};
    expect(Object.keys(signIn)).toEqual(expect.arrayContaining(["401", "403", "422", "429"]));
    const bootstrap = operations.get("POST /v1/bootstrap")?.responses ?? {};
    expect(Object.keys(bootstrap)).toEqual(expect.arrayContaining(["401", "409", "422", "429"]));
    const signOut = operations.get("DELETE /v1/session")?.responses ?? {};
    expect(Object.keys(signOut)).toContain("403");
  });
});
