import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runSweep, sweepCases } from "../openapi-sweep";
import { seedProject, seedPrompt, seedReadKey, uniqueName } from "./factories";

/**
 * Every operation of the edge API, as its served OpenAPI document lists them, with broken input
 * in every path parameter, query parameter and JSON body field, sent with a read key of the
 * project: nothing may answer 5xx, every error is problem+json; under /api/public (the Langfuse-
 * compatible API, sent with the same key as a Langfuse pair) Langfuse's JSON errors.
 */
describe("input sweep over the edge OpenAPI document", () => {
  it("answers no operation with a 5xx, and every error as problem+json", async () => {
    const { project, key } = await seedProject();
    const keyId = uniqueName("key");
    const pair = btoa(`pk-lf-${keyId}:${await seedReadKey({ project, keyId })}`);
    const langfuse = (c: { operation: string }) => c.operation.startsWith("/api/public/");
    const seeded = await seedPrompt({
      project,
      templates: ["Hi {{customer}}{{#rows}}{{label}}{{/rows}}"],
    });
    const doc = await (await exports.default.fetch("https://edge.test/openapi.json")).json();

    const cases = sweepCases(doc as never, {
      params: { name: seeded.name },
      samples: { variables: { customer: "Ada" } },
    });
    const operations = new Set(cases.map((c) => `${c.method} ${c.operation}`));
    const documented = Object.values((doc as { paths: object }).paths).flatMap(Object.keys);
    expect(operations.size).toBe(documented.length);
    expect(cases.some((c) => c.what.startsWith("body.variables"))).toBe(true);

    const { failures, statuses } = await runSweep(
      cases,
      (c) =>
        exports.default.fetch(`https://edge.test${c.url}`, {
          method: c.method,
          headers: {
            authorization: langfuse(c) ? `Basic ${pair}` : `Bearer ${key}`,
            ...(c.body === undefined ? {} : { "content-type": "application/json" }),
          },
          body: c.body,
        }),
      6,
      (c) => (langfuse(c) ? "application/json" : "application/problem+json"),
    );
    expect(failures).toEqual([]);
    expect(Object.keys(statuses).length).toBeGreaterThan(1);
    console.log(
      `edge sweep: ${cases.length} requests over ${operations.size} operations`,
      statuses,
    );
  }, 60_000);
});
