import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runSweep, sweepCases } from "../openapi-sweep";
import { adminKey, api, createTextPrompt, json } from "./api";

/**
 * Every operation of the admin API, as its served OpenAPI document lists them, with broken
 * input in every path parameter, query parameter and JSON body field, sent by the project's
 * admin (allowed to call every operation): nothing may answer 5xx, every error is problem+json.
 */
describe("input sweep over the admin OpenAPI document", () => {
  it("answers no operation with a 5xx, and every error as problem+json", async () => {
    const key = await adminKey();
    const name = await createTextPrompt("Hi {{v}}", ["production"]);
    const reader = await json(
      await api("POST", "/projects/default/keys", { name: "sweep", role: "reader" }),
    );
    const hook = await json(
      await api("POST", "/projects/default/webhooks", { url: "https://hooks.example.com/sweep" }),
    );
    const doc = await (await exports.default.fetch("http://admin.test/api/openapi.json")).json();

    const cases = sweepCases(doc as never, {
      prefix: "/api",
      params: {
        project: "default",
        name,
        version: "1",
        label: "production",
        keyId: reader.key.id,
        webhookId: hook.webhook.id,
        deliveryId: "dlv_00000000000000000000",
      },
      samples: {
        name: "sweep/new",
        url: "https://hooks.example.com/sweep",
        prompt: "Hi {{v}}",
        role: "reader",
      },
    });
    const operations = new Set(cases.map((c) => `${c.method} ${c.operation}`));
    const documented = Object.values((doc as { paths: object }).paths).flatMap(Object.keys);
    expect(operations.size).toBe(documented.length);
    expect(operations.size).toBeGreaterThanOrEqual(30);

    const { failures, statuses } = await runSweep(cases, (c) =>
      exports.default.fetch(`http://admin.test${c.url}`, {
        method: c.method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(c.body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: c.body,
      }),
    );
    expect(failures).toEqual([]);
    // The sweep reached the routes' own checks, not only a blanket refusal.
    expect(Object.keys(statuses).length).toBeGreaterThan(1);
    console.log(
      `admin sweep: ${cases.length} requests over ${operations.size} operations`,
      statuses,
    );
  }, 120_000);
});
