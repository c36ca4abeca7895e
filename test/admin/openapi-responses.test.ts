import { env, exports } from "cloudflare:workers";
import { newId } from "@cuecard/core/ids";
import { beforeAll, describe, expect, it } from "vitest";
import { type OpenApiDocument, responseSchema, shapeProblems } from "../openapi-shape";
import { api, enc, json, keyFor, uniqueName } from "./api";

/**
 * Every response carries exactly the fields the admin OpenAPI document gives for it: the
 * verbs' views are typed from the response schemas, but `c.json` sends whatever a mapper
 * built, so a field that slipped into a view (a key's hash, say) would be sent undocumented.
 */

let doc: OpenApiDocument;
beforeAll(async () => {
  doc = await json(await exports.default.fetch("http://admin.test/api/openapi.json"));
});

/** Calls `METHOD path` and checks the answer against `documented`'s schema for that status. */
async function expectDocumented(
  method: string,
  documented: string,
  path: string,
  status: number,
  body?: unknown,
  headers?: Record<string, string>,
) {
  const response = await api(method, path, body, headers);
  const text = await response.text();
  expect(response.status, `${method} ${path}: ${text}`).toBe(status);
  const problems = shapeProblems(
    doc,
    responseSchema(doc, method, documented, status),
    JSON.parse(text),
  );
  expect(problems, `${method} ${documented}`).toEqual([]);
  return JSON.parse(text);
}

const project = "/v1/projects/{project}";
const prompt = `${project}/prompts/{name}`;
const webhook = `${project}/webhooks/{webhookId}`;

describe("admin responses have exactly the documented fields", () => {
  it("projects, prompts, versions, labels and the audit log", async () => {
    const name = uniqueName();
    const path = `/projects/default/prompts/${enc(name)}`;
    await expectDocumented("POST", `${project}/prompts`, "/projects/default/prompts", 201, {
      name,
      description: "shape check",
      tags: ["shape"],
      version: {
        prompt: [{ role: "user", content: "Hi {{who}}, {{#items}}{{.}}{{/items}}" }],
        config: { model: "m", temperature: 0.1 },
        commitMessage: "first",
        labels: ["staging"],
        variables: { who: { default: "you", description: "who to greet" } },
      },
    });
    await expectDocumented("POST", `${prompt}/versions`, `${path}/versions`, 201, {
      prompt: [{ role: "user", content: "Hello {{who}}" }],
    });
    await expectDocumented("POST", `${project}/prompts`, "/projects/default/prompts", 201, {
      name: uniqueName(),
      type: "text",
    });
    await expectDocumented("GET", `${project}/prompts`, "/projects/default/prompts?limit=1", 200);
    await expectDocumented("GET", prompt, path, 200);
    await expectDocumented("PATCH", prompt, path, 200, { description: "changed" });
    await expectDocumented("GET", `${prompt}/versions`, `${path}/versions?limit=1`, 200);
    await expectDocumented("GET", `${prompt}/versions/{version}`, `${path}/versions/1`, 200);
    await expectDocumented("GET", `${prompt}/labels`, `${path}/labels`, 200);
    // The stand-in telemetry worker reports v99, which this prompt lacks: `unknownVersion`.
    const metrics = await expectDocumented("GET", `${prompt}/metrics`, `${path}/metrics`, 200);
    expect(metrics.series.some((s: { unknownVersion?: boolean }) => s.unknownVersion)).toBe(true);
    await expectDocumented("GET", `${prompt}/metrics`, `${path}/metrics?groupBy=variant`, 200);
    await expectDocumented("GET", `${prompt}/metrics`, `${path}/metrics?groupBy=week`, 422);
    await expectDocumented("PUT", `${prompt}/labels/{label}`, `${path}/labels/staging`, 200, {
      version: 2,
    });
    await expectDocumented(
      "POST",
      `${prompt}/labels/{label}/rollback`,
      `${path}/labels/staging/rollback`,
      200,
      {},
    );
    await expectDocumented(
      "GET",
      `${prompt}/labels/{label}/history`,
      `${path}/labels/staging/history?limit=1`,
      200,
    );
    await expectDocumented("DELETE", prompt, path, 200);
    await expectDocumented("GET", "/v1/projects", "/projects", 200);
    await expectDocumented("GET", project, "/projects/default", 200);
    await expectDocumented("PATCH", project, "/projects/default", 200, { name: "Default" });
    await expectDocumented("GET", `${project}/audit`, "/projects/default/audit?limit=5", 200);
  });

  it("keys, with the secret only where documented", async () => {
    const created = await expectDocumented(
      "POST",
      `${project}/keys`,
      "/projects/default/keys",
      201,
      {
        name: "shape key",
        role: "editor",
        expiresAt: "2999-01-01T00:00:00Z",
      },
    );
    expect(created.secret).toMatch(/^cc_editor_/);
    await expectDocumented("GET", `${project}/keys`, "/projects/default/keys", 200);
  });

  it("webhooks, their deliveries and attempts", async () => {
    const created = await expectDocumented(
      "POST",
      `${project}/webhooks`,
      "/projects/default/webhooks",
      201,
      { url: "https://hooks.example.com/cuecard", description: "shape" },
    );
    const id: string = created.webhook.id;
    const path = `/projects/default/webhooks/${id}`;
    await expectDocumented("GET", `${project}/webhooks`, "/projects/default/webhooks", 200);
    await expectDocumented("GET", webhook, path, 200);
    await expectDocumented("PATCH", webhook, path, 200, { description: "changed" });
    await expectDocumented("POST", `${webhook}/rotate-secret`, `${path}/rotate-secret`, 200, {
      overlapHours: 1,
    });

    // A delivery as the consumer leaves it after one failed attempt, bookkeeping included.
    const deliveryId = newId("delivery");
    const now = new Date().toISOString();
    await env.DB.prepare(
      `INSERT INTO webhook_deliveries (id, project_id, endpoint_id, event_id, event_type, payload,
        status, attempts, last_status_code, last_latency_ms, last_response_excerpt, last_error,
        next_retry_at, lease_until, round, round_attempts, created_at, updated_at)
      VALUES (?, 'default', ?, ?, 'prompt.updated', '{"a":1}', 'retrying', 1, 500, 12, 'oops',
        'HTTP 500', ?, NULL, 0, 1, ?, ?)`,
    )
      .bind(deliveryId, id, newId("event"), now, now, now)
      .run();
    await env.DB.prepare(
      `INSERT INTO webhook_attempts (delivery_id, attempt, status_code, latency_ms,
        response_excerpt, error, created_at) VALUES (?, 1, 500, 12, 'oops', 'HTTP 500', ?)`,
    )
      .bind(deliveryId, now)
      .run();
    await expectDocumented("GET", `${webhook}/deliveries`, `${path}/deliveries`, 200);
    const detail = await expectDocumented(
      "GET",
      `${webhook}/deliveries/{deliveryId}`,
      `${path}/deliveries/${deliveryId}`,
      200,
    );
    expect(detail.attemptLog).toHaveLength(1);
    await expectDocumented(
      "POST",
      `${webhook}/deliveries/{deliveryId}/redeliver`,
      `${path}/deliveries/${deliveryId}/redeliver`,
      202,
    );
  });

  it("experiments, through every state", async () => {
    const name = uniqueName();
    await api("POST", "/projects/default/prompts", {
      name,
      version: { prompt: "v1", labels: ["staging"] },
    });
    await api("POST", `/projects/default/prompts/${enc(name)}/versions`, { prompt: "v2" });
    const experiments = `${project}/experiments`;
    const experiment = `${experiments}/{id}`;
    const created = await expectDocumented(
      "POST",
      experiments,
      "/projects/default/experiments",
      201,
      {
        prompt: name,
        label: "staging",
        key: `shape-${name.replaceAll("/", "-")}`,
        unit: "user id",
        control: { weight: 0.5 },
        variants: [{ key: "b", version: 2, weight: 0.5 }],
        metrics: { primary: { kind: "conversion", name: "signup" } },
        stages: [{ weights: [0.5, 0.5], minExposures: 100, minDurationHours: 24 }],
      },
    );
    const path = `/projects/default/experiments/${created.id}`;
    await expectDocumented("GET", experiments, "/projects/default/experiments?limit=1", 200);
    await expectDocumented("GET", experiment, path, 200);
    await expectDocumented("PATCH", experiment, path, 200, { description: "shape" });
    await expectDocumented("POST", `${experiment}/start`, `${path}/start`, 200);
    await expectDocumented("POST", `${experiment}/pause`, `${path}/pause`, 200);
    await expectDocumented("POST", `${experiment}/resume`, `${path}/resume`, 200);
    await expectDocumented("POST", `${experiment}/start`, `${path}/start`, 409);
    await expectDocumented("POST", `${experiment}/stop`, `${path}/stop`, 200, { promote: "b" });
    await expectDocumented("PATCH", experiment, path, 409, { description: "too late" });
  });

  it("problems: not found, validation, forbidden and conflict", async () => {
    await expectDocumented("GET", prompt, `/projects/default/prompts/${enc(uniqueName())}`, 404);
    await expectDocumented("POST", `${project}/prompts`, "/projects/default/prompts", 422, {
      name: "Not|A Name",
    });
    const editor = await keyFor("editor");
    await expectDocumented("GET", `${project}/keys`, "/projects/default/keys", 403, undefined, {
      authorization: `Bearer ${editor}`,
    });
    const broken = uniqueName("broken/prompt");
    await api("POST", "/projects/default/prompts", { name: broken, version: { prompt: "x" } });
    await expectDocumented(
      "GET",
      `${prompt}/metrics`,
      `/projects/default/prompts/${enc(broken)}/metrics`,
      503,
    );
    const name = uniqueName();
    await api("POST", "/projects/default/prompts", { name, version: { prompt: "x" } });
    await expectDocumented(
      "PUT",
      `${prompt}/labels/{label}`,
      `/projects/default/prompts/${enc(name)}/labels/staging`,
      409,
      { version: 1, expectedRev: 999_999 },
    );
  });
});
