import { env, exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { attemptDelivery } from "../../workers/modules/webhooks/delivery";
import { sendTestEvent } from "../../workers/modules/webhooks/endpoints";
import { openDatabase } from "../../workers/platform/db/client";
import { webhookAttempts, webhookEndpoints } from "../../workers/platform/db/schema";
import { adminKey, api, createTextPrompt, enc, json, uniqueName } from "./api";
import { webhookProject } from "./webhook-harness";

/** Inputs that used to answer 500, or were acknowledged and then stored as something else. */

const db = openDatabase(env.DB);

async function expectProblem(response: Response, status: number, field?: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  const body = await json(response);
  expect(body.requestId).toMatch(/^req_/);
  if (field) expect(body.errors.map((e: { field: string }) => e.field)).toContain(field);
  return body;
}

/** `{"a":{"a":…{"a":leaf}…}}`, `depth` objects deep, as JSON text. */
function nestedObjectJson(depth: number, leaf = "1"): string {
  return `${'{"a":'.repeat(depth)}${leaf}${"}".repeat(depth)}`;
}

/** Sends `body` as raw JSON text, so it can hold escapes and nesting JSON.stringify won't make. */
async function send(method: string, path: string, body: string) {
  return exports.default.fetch(`http://admin.test/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${await adminKey()}`, "content-type": "application/json" },
    body,
  });
}

describe("a malformed percent-escape in the project segment", () => {
  for (const segment of ["%ZZ", "%E0%A4%A", "%C0%AF"]) {
    it(`${segment} is a 422 naming path.project, not a 500`, async () => {
      const body = await expectProblem(
        await api("GET", `/projects/${segment}/prompts`),
        422,
        "path.project",
      );
      expect(body.errors[0].message).toMatch(/percent-encoding/);
      await expectProblem(
        await api("POST", `/projects/${segment}/prompts`, { name: "x", version: { prompt: "x" } }),
        422,
        "path.project",
      );
    });
  }
});

describe("deeply nested JSON", () => {
  it("a config nested 2,400 levels (under the byte cap) is a 422 naming body.config", async () => {
    const name = uniqueName();
    const config = `{"model":"m","tools":${nestedObjectJson(2_400)}}`;
    expect(config.length).toBeLessThan(16 * 1024);
    const response = await send(
      "POST",
      "/projects/default/prompts",
      `{"name":"${name}","version":{"prompt":"x","config":${config}}}`,
    );
    const body = await expectProblem(response, 422);
    expect(body.errors[0].field).toMatch(/^body\.(version\.)?config/);
    expect(body.errors[0].message).toMatch(/nested more than \d+ levels/);
    expect((await api("GET", `/projects/default/prompts/${enc(name)}`)).status).toBe(404);
  });

  it("a config within the depth limit still saves", async () => {
    const name = await createTextPrompt("x");
    const response = await send(
      "POST",
      `/projects/default/prompts/${enc(name)}/versions`,
      `{"prompt":"y","config":{"tools":${nestedObjectJson(20)}}}`,
    );
    expect(response.status).toBe(201);
  });

  it("a config over the config depth limit is refused even when the body is shallow enough", async () => {
    const name = await createTextPrompt("x");
    const response = await send(
      "POST",
      `/projects/default/prompts/${enc(name)}/versions`,
      `{"prompt":"y","config":${nestedObjectJson(40)}}`,
    );
    const body = await expectProblem(response, 422);
    expect(body.errors[0].field).toMatch(/^body\.config\.a/);
  });

  it("a deep body is refused before any route looks at it, with a 422 naming the field", async () => {
    const response = await send(
      "POST",
      "/projects/default/keys",
      `{"name":${nestedObjectJson(40_000, '"k"')},"role":"reader"}`,
    );
    const body = await expectProblem(response, 422);
    expect(body.errors[0].field).toMatch(/^body\.name/);
    expect(body.errors[0].message).toMatch(/nested more than 64 levels/);
  });

  it("a variable default nested 2,400 levels is a 422 naming the default", async () => {
    const name = await createTextPrompt("x");
    const response = await send(
      "POST",
      `/projects/default/prompts/${enc(name)}/versions`,
      `{"prompt":"{{v}}","variables":{"v":{"default":${nestedObjectJson(2_400)}}}}`,
    );
    const body = await expectProblem(response, 422);
    expect(body.errors[0].field).toMatch(/^body\.variables\.v\.default/);
  });
});

describe("variable defaults must pass the render limits at save", () => {
  it("a default nested deeper than a render allows is refused, naming the default", async () => {
    const name = await createTextPrompt("x");
    const response = await send(
      "POST",
      `/projects/default/prompts/${enc(name)}/versions`,
      `{"prompt":"{{#rows}}{{.}}{{/rows}}","variables":{"rows":{"default":${nestedObjectJson(10)}}}}`,
    );
    const body = await expectProblem(response, 422, "body.variables.rows.default");
    expect(body.errors[0].message).toMatch(/nested more than 8 levels/);
    const versions = await json(
      await api("GET", `/projects/default/prompts/${enc(name)}/versions`),
    );
    expect(versions.items).toHaveLength(1);
  });

  it("a default with over 1,000 list items is refused, naming the default", async () => {
    const name = await createTextPrompt("x");
    const response = await api("POST", `/projects/default/prompts/${enc(name)}/versions`, {
      prompt: "{{#rows}}{{.}}{{/rows}}",
      variables: { rows: { default: Array.from({ length: 1_001 }, (_, i) => i) } },
    });
    const body = await expectProblem(response, 422, "body.variables.rows.default");
    expect(body.errors[0].message).toMatch(/more than 1000 list items/);
  });

  it("a default at the limits saves and renders", async () => {
    const name = await createTextPrompt("x");
    const response = await api("POST", `/projects/default/prompts/${enc(name)}/versions`, {
      prompt: "{{#rows}}{{.}}{{/rows}}",
      variables: { rows: { default: Array.from({ length: 1_000 }, (_, i) => i % 10) } },
    });
    expect(response.status).toBe(201);
  });
});

describe("strings that are not well-formed Unicode", () => {
  it("a lone surrogate in a template is refused with 422 naming the field, and nothing is stored", async () => {
    const name = uniqueName();
    const response = await send(
      "POST",
      "/projects/default/prompts",
      `{"name":"${name}","version":{"prompt":"x\\ud800y"}}`,
    );
    const body = await expectProblem(response, 422, "body.version.prompt");
    expect(body.errors[0].message).toMatch(/lone UTF-16 surrogate/);
    expect((await api("GET", `/projects/default/prompts/${enc(name)}`)).status).toBe(404);
  });

  it("in a description, a commit message, a config value or key, and a default", async () => {
    const name = await createTextPrompt("{{v}}");
    await expectProblem(
      await send("PATCH", `/projects/default/prompts/${enc(name)}`, `{"description":"a\\udc00"}`),
      422,
      "body.description",
    );
    const path = `/projects/default/prompts/${enc(name)}/versions`;
    await expectProblem(
      await send("POST", path, `{"prompt":"y","commitMessage":"\\ud83d"}`),
      422,
      "body.commitMessage",
    );
    await expectProblem(
      await send("POST", path, `{"prompt":"y","config":{"stop":["ok","\\ud800"]}}`),
      422,
      "body.config.stop.1",
    );
    const keyed = await expectProblem(
      await send("POST", path, `{"prompt":"y","config":{"\\ud800":1}}`),
      422,
    );
    expect(keyed.errors[0].field).toMatch(/^body\.config\./);
    await expectProblem(
      await send("POST", path, `{"prompt":"{{v}}","variables":{"v":{"default":"\\udfff"}}}`),
      422,
      "body.variables.v.default",
    );
    const versions = await json(await api("GET", path));
    expect(versions.items).toHaveLength(1);
    const prompt = await json(await api("GET", `/projects/default/prompts/${enc(name)}`));
    expect(prompt.description).not.toContain("\ufffd");
  });

  it("well-formed text outside the BMP (a surrogate pair) is kept exactly", async () => {
    const name = await createTextPrompt("x");
    const response = await send(
      "POST",
      `/projects/default/prompts/${enc(name)}/versions`,
      `{"prompt":"hi \\ud83d\\ude00 {{v}}"}`,
    );
    expect(response.status).toBe(201);
    expect((await json(response)).prompt).toBe("hi \u{1F600} {{v}}");
  });
});

describe("key expiry after year 9999", () => {
  it("is refused with 422 naming body.expiresAt, and no key is made", async () => {
    const before = await json(await api("GET", "/projects/default/keys"));
    for (const expiresAt of ["9999-12-31T23:59:59-23:59", "9999-12-31T23:00:00-01:00"]) {
      const body = await expectProblem(
        await api("POST", "/projects/default/keys", { name: "far", role: "reader", expiresAt }),
        422,
        "body.expiresAt",
      );
      expect(body.errors[0].message).toMatch(/9999/);
    }
    const after = await json(await api("GET", "/projects/default/keys"));
    expect(after.items).toHaveLength(before.items.length);
  });

  it("the last moment of 9999 (UTC) is accepted and the key works", async () => {
    const response = await api("POST", "/projects/default/keys", {
      name: "far",
      role: "editor",
      expiresAt: "9999-12-31T23:59:59+00:00",
    });
    expect(response.status).toBe(201);
    const { key, secret } = await json(response);
    expect(key.expiresAt).toBe("9999-12-31T23:59:59.000Z");
    const used = await api("GET", "/projects/default/prompts", undefined, {
      authorization: `Bearer ${secret}`,
    });
    expect(used.status).toBe(200);
  });
});

describe("github_dispatch authToken", () => {
  const url = "https://api.github.com/repos/acme/prompts/dispatches";

  it("with CR/LF or other control characters is refused at save, naming body.authToken", async () => {
    for (const authToken of ["ghp_abc\r\nX-Evil: 1", "ghp_abc\n", "ghp\u0000abc", "ghp abc"]) {
      await expectProblem(
        await api("POST", "/projects/default/webhooks", {
          url,
          kind: "github_dispatch",
          authToken,
        }),
        422,
        "body.authToken",
      );
    }
    const created = await api("POST", "/projects/default/webhooks", {
      url,
      kind: "github_dispatch",
      authToken: "ghp_valid0123",
    });
    expect(created.status).toBe(201);
    const { webhook } = await json(created);
    await expectProblem(
      await api("PATCH", `/projects/default/webhooks/${webhook.id}`, { authToken: "a\r\nb" }),
      422,
      "body.authToken",
    );
  });

  it("a delivery that cannot be sent for a bad header records that, not 'connection failed'", async () => {
    const { project, ctx, endpoint, drainEvents } = await webhookProject("tok", {
      url,
      kind: "github_dispatch",
      authToken: "ghp_valid0123",
    });
    // A row saved before the rule existed.
    await db
      .update(webhookEndpoints)
      .set({ authToken: "ghp_abc\r\nX-Evil: 1" })
      .where(eq(webhookEndpoints.id, endpoint.id));
    await sendTestEvent(ctx, project, endpoint.id);
    const deliveries = await drainEvents();
    const deliveryId = deliveries[0]?.deliveryId ?? "";
    expect(deliveryId).not.toBe("");
    let called = false;
    await attemptDelivery(deliveryId, 1, {
      db,
      allowLoopback: false,
      // Like the platform's fetch: headers are checked before anything is sent.
      fetch: async (_input, init) => {
        new Headers(init?.headers);
        called = true;
        return new Response("ok");
      },
    });
    expect(called).toBe(false);
    const [attempt] = await db
      .select()
      .from(webhookAttempts)
      .where(eq(webhookAttempts.deliveryId, deliveryId));
    expect(attempt?.error).not.toMatch(/connection failed/i);
    expect(attempt?.error).toMatch(/authorization/i);
    expect(attempt?.error).toMatch(/authToken/);
    // The token itself is never echoed into the delivery log.
    expect(attempt?.error).not.toContain("ghp_abc");
  });
});
