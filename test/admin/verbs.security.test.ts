/**
 * The domain verbs decide who may act and what input they take, whoever calls them: an API route,
 * a UI page, or code that forgets to check. These tests call the verbs directly, and post the UI's
 * forms, with roles that must be refused.
 */
import { env, exports } from "cloudflare:workers";
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { Hono } from "hono";
import { beforeAll, describe, expect, it } from "vitest";
import { capabilitiesOf } from "../../workers/modules/access/access";
import { createKey, listKeys, revokeKey } from "../../workers/modules/access/keys";
import { authorize } from "../../workers/modules/access/middleware";
import { defineRoute } from "../../workers/modules/access/route-policy";
import { actorNames, listAudit } from "../../workers/modules/audit/audit";
import { republish, updateProject } from "../../workers/modules/projects/projects";
import { planRollback, rollbackLabel } from "../../workers/modules/prompts/labels";
import { createPrompt, findPrompt, listPrompts } from "../../workers/modules/prompts/prompts";
import { createEndpoint, listEndpoints } from "../../workers/modules/webhooks/endpoints";
import type { Actor } from "../../workers/platform/context";
import { handleError } from "../../workers/platform/http/middleware";
import { addVersion, adminKey, api, createTextPrompt, json, keyFor } from "./api";
import { testContext } from "./faults";

const actor = (role: Actor["role"], projectId = "default"): Actor => ({
  id: `key_${role}`,
  name: `${role} tester`,
  role,
  projectId,
  via: "key",
});
const as = (role: Actor["role"], projectId?: string) =>
  testContext({ actor: actor(role, projectId) });
const guard = { allowLoopback: false };

/** The ProblemError a call is refused with. */
async function refusal(call: Promise<unknown>): Promise<{ status: number; code: string }> {
  try {
    await call;
  } catch (error) {
    const { status, code } = error as { status: number; code: string };
    return { status, code };
  }
  throw new Error("the call was not refused");
}

async function keyNames(): Promise<string[]> {
  const listed = await json(await api("GET", "/projects/default/keys"));
  return listed.items.map((k: { name: string }) => k.name);
}

beforeAll(async () => {
  await adminKey();
});

describe("verbs called directly refuse a role without the permission", () => {
  it("createKey: an editor cannot make a key, not even one of their own role", async () => {
    for (const role of ["editor", "publisher"] as const) {
      const refused = await refusal(
        createKey(as(role), "default", { name: `sneaky ${role}`, role: "admin" }),
      );
      expect(refused).toEqual({ status: 403, code: "forbidden" });
    }
    expect(await keyNames()).not.toContain("sneaky editor");
    expect(await keyNames()).not.toContain("sneaky publisher");
  });

  it("createEndpoint: an editor or a publisher cannot add a webhook", async () => {
    for (const role of ["editor", "publisher"] as const) {
      const refused = await refusal(
        createEndpoint(as(role), "default", { url: "https://hooks.example.com/x" }, guard),
      );
      expect(refused).toEqual({ status: 403, code: "forbidden" });
    }
    expect(await listEndpoints(as("admin"), "default")).toEqual([]);
  });

  it("reads are checked too: keys, webhooks, the audit log, prompts", async () => {
    const forbidden = { status: 403, code: "forbidden" };
    expect(await refusal(listKeys(as("publisher"), "default"))).toEqual(forbidden);
    expect(await refusal(listEndpoints(as("publisher"), "default"))).toEqual(forbidden);
    expect(await refusal(listAudit(as("editor"), "default", { limit: 10 }))).toEqual(forbidden);
    expect(await refusal(actorNames(as("editor"), "default"))).toEqual(forbidden);
    expect(await refusal(listPrompts(as("reader"), "default", { limit: 10 }))).toEqual(forbidden);
    // What each of them may read, they can.
    expect(await listAudit(as("publisher"), "default", { limit: 1 })).toHaveProperty("items");
    expect(await listPrompts(as("editor"), "default", { limit: 1 })).toHaveProperty("items");
  });

  it("project settings, republish, revoking a key: admins only", async () => {
    const forbidden = { status: 403, code: "forbidden" };
    expect(
      await refusal(updateProject(as("publisher"), "default", { protectedLabels: [] })),
    ).toEqual(forbidden);
    expect(await refusal(republish(as("publisher"), "default"))).toEqual(forbidden);
    const { key } = await createKey(as("admin"), "default", { name: "kept", role: "editor" });
    expect(await refusal(revokeKey(as("publisher"), "default", key.id))).toEqual(forbidden);
    const listed = await listKeys(as("admin"), "default");
    expect(listed.find((k) => k.id === key.id)?.revokedAt).toBeNull();
  });

  it("another project's data answers 404, as if it did not exist", async () => {
    const elsewhere = as("admin", "other-project");
    const notFound = { status: 404, code: "not_found" };
    expect(await refusal(listKeys(elsewhere, "default"))).toEqual(notFound);
    expect(await refusal(listPrompts(elsewhere, "default", { limit: 1 }))).toEqual(notFound);
    expect(
      await refusal(createKey(elsewhere, "default", { name: "cross", role: "admin" })),
    ).toEqual(notFound);
    const name = await createTextPrompt("x");
    expect(await refusal(findPrompt(elsewhere, "default", name))).toEqual(notFound);
    expect(await keyNames()).not.toContain("cross");
  });
});

describe("verbs validate their input with the API's own schemas", () => {
  it("createKey refuses an empty name, an unknown role and a past expiry, field by field", async () => {
    try {
      await createKey(as("admin"), "default", {
        name: "",
        role: "owner",
        expiresAt: "2001-01-01T00:00:00Z",
      });
      expect.unreachable();
    } catch (error) {
      const { status, errors } = error as { status: number; errors: { field: string }[] };
      expect(status).toBe(422);
      expect(errors.map((e) => e.field).sort()).toEqual([
        "body.expiresAt",
        "body.name",
        "body.role",
      ]);
    }
  });

  it("createEndpoint refuses a URL over the limit and an unknown event type", async () => {
    try {
      await createEndpoint(
        as("admin"),
        "default",
        { url: `https://hooks.example.com/${"a".repeat(2001)}`, eventTypes: ["no.such.event"] },
        guard,
      );
      expect.unreachable();
    } catch (error) {
      const { status, errors } = error as { status: number; errors: { field: string }[] };
      expect(status).toBe(422);
      expect(errors.map((e) => e.field).sort()).toEqual(["body.eventTypes.0", "body.url"]);
    }
  });

  it("createPrompt refuses a description over 1000 characters and more than 20 tags", async () => {
    const refused = await refusal(
      createPrompt(as("editor"), "default", {
        name: "too/much",
        type: "text",
        description: "d".repeat(1001),
        tags: Array.from({ length: 21 }, (_, i) => `t${i}`),
      }),
    );
    expect(refused).toEqual({ status: 422, code: "validation_failed" });
  });
});

describe("planRollback: the verb and the confirmation page decide alike", () => {
  it("names the version served before, or why the rollback cannot be made", async () => {
    const name = await createTextPrompt("v1", ["production"]);
    const prompt = await findPrompt(as("admin"), "default", name);
    // Only v1 has been live: nothing to roll back to.
    const nothing = await planRollback(as("publisher"), prompt, "production");
    expect(nothing.target).toBeUndefined();
    expect(nothing.blocked?.status).toBe(409);

    await addVersion(name, "v2", ["production"]);
    const later = await findPrompt(as("admin"), "default", name);
    const plan = await planRollback(as("publisher"), later, "production");
    expect(plan).toMatchObject({ target: 1, current: { version: 2 } });
    expect(plan.blocked).toBeUndefined();

    const asEditor = await planRollback(as("editor"), later, "production");
    expect(asEditor.blocked?.status).toBe(403);
    expect(await refusal(rollbackLabel(as("editor"), later, "production", {}))).toEqual({
      status: 403,
      code: "forbidden",
    });
    const rolled = await rollbackLabel(as("publisher"), later, "production", {});
    expect(rolled.label.version).toBe(1);
  });
});

describe("capabilitiesOf: what pages offer", () => {
  const project = { protectedLabels: ["production"] };
  it("an editor may write and move staging, not production, roll back, archive or administer", () => {
    const can = capabilitiesOf(actor("editor"), project, { archivedAt: null });
    expect(can.writePrompts).toBe(true);
    expect(can.moveLabel("staging")).toBe(true);
    expect(can.moveLabel("production")).toBe(false);
    expect(can.moveLabel("latest")).toBe(false);
    expect(can.rollbackLabel("staging")).toBe(false);
    expect(can.archivePrompt).toBe(false);
    expect([can.readAudit, can.manageKeys, can.manageWebhooks, can.manageProject]).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  it("editors may draft experiments (starting one needs moveLabel of its label); readers and archived prompts not", () => {
    expect(capabilitiesOf(actor("editor"), project, { archivedAt: null }).draftExperiments).toBe(
      true,
    );
    expect(capabilitiesOf(actor("reader"), project, { archivedAt: null }).draftExperiments).toBe(
      false,
    );
    expect(
      capabilitiesOf(actor("admin"), project, { archivedAt: "2026-01-01T00:00:00Z" })
        .draftExperiments,
    ).toBe(false);
  });

  it("nobody moves the labels of an archived prompt or saves versions of it", () => {
    const can = capabilitiesOf(actor("admin"), project, { archivedAt: "2026-01-01T00:00:00Z" });
    expect([can.writePrompts, can.moveLabel("staging"), can.rollbackLabel("production")]).toEqual([
      false,
      false,
      false,
    ]);
  });
});

describe("UI forms are refused by the verb, not by the page", () => {
  const origin = "http://admin.test";
  async function session(role: string) {
    const response = await exports.default.fetch(`${origin}/api/v1/session`, {
      method: "POST",
      headers: { "content-type": "application/json", origin },
      body: JSON.stringify({ key: await keyFor(role) }),
    });
    const { csrfToken } = await json(response);
    return { cookie: (response.headers.get("set-cookie") ?? "").split(";")[0] ?? "", csrfToken };
  }
  const post = (path: string, s: { cookie: string; csrfToken: string }, form: object) =>
    exports.default.fetch(`${origin}${path}`, {
      method: "POST",
      headers: { cookie: s.cookie, origin, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf: s.csrfToken, ...form }).toString(),
    });

  it("an editor posting the new-key and new-webhook forms gets 403 and nothing is made", async () => {
    const editor = await session("editor");
    const key = await post("/keys/new", editor, { name: "from the form", role: "admin" });
    expect(key.status).toBe(403);
    expect(await key.text()).toContain("Your role (editor) cannot manage API keys");
    const hook = await post("/webhooks/new", editor, { url: "https://hooks.example.com/form" });
    expect(hook.status).toBe(403);
    expect(await keyNames()).not.toContain("from the form");
    expect(await listEndpoints(as("admin"), "default")).toEqual([]);
  });

  it("an admin's form with an empty name shows the verb's error next to the field", async () => {
    const admin = await session("admin");
    const response = await post("/keys/new", admin, { name: "", role: "editor" });
    expect(response.status).toBe(422);
    const page = await response.text();
    expect(page).toMatch(/id="name-error"[^>]*>[^<]*give the key a name/);
  });
});

describe("UI pages without their own permission checks", () => {
  const origin = "http://admin.test";
  async function session(role: string) {
    const response = await exports.default.fetch(`${origin}/api/v1/session`, {
      method: "POST",
      headers: { "content-type": "application/json", origin },
      body: JSON.stringify({ key: await keyFor(role) }),
    });
    const { csrfToken } = await json(response);
    return { cookie: (response.headers.get("set-cookie") ?? "").split(";")[0] ?? "", csrfToken };
  }
  const get = (path: string, s: { cookie: string }) =>
    exports.default.fetch(`${origin}${path}`, { headers: { cookie: s.cookie } });

  it("open for the roles that may, and answer 403 to the others", async () => {
    const editor = await session("editor");
    const publisher = await session("publisher");
    const admin = await session("admin");
    for (const path of ["/keys", "/keys/new", "/webhooks", "/webhooks/new", "/audit"]) {
      expect((await get(path, admin)).status, path).toBe(200);
      expect((await get(path, editor)).status, path).toBe(403);
    }
    expect((await get("/audit", publisher)).status).toBe(200);
    expect((await get("/keys/new", publisher)).status).toBe(403);
  });

  it("offer a rollback only to a publisher, and say why it cannot be made", async () => {
    const editor = await session("editor");
    const publisher = await session("publisher");
    const name = await createTextPrompt("v1", ["production"]);
    const path = `/prompts/${encodeURIComponent(name)}`;
    expect(await (await get(path, publisher)).text()).toContain("Roll back production");
    expect(await (await get(path, editor)).text()).not.toContain("Roll back production");
    const rollback = await get(`${path}/labels/production/rollback`, publisher);
    expect(rollback.status).toBe(200);
    expect(await rollback.text()).toContain("has no earlier version in its history");
  });

  it("the new and edit webhook forms show the verb's refusals next to the URL", async () => {
    const admin = await session("admin");
    const post = (path: string, form: Record<string, string>) =>
      exports.default.fetch(`${origin}${path}`, {
        method: "POST",
        headers: {
          cookie: admin.cookie,
          origin,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ _csrf: admin.csrfToken, ...form }).toString(),
      });
    const plain = await post("/webhooks/new", { url: "http://hooks.example.com/x" });
    expect(plain.status).toBe(422);
    expect(await plain.text()).toMatch(/id="url-error"[^>]*>This URL must use https\.</);
    const created = await post("/webhooks/new", { url: "https://hooks.example.com/form" });
    expect(created.status).toBe(201);
    expect(await created.text()).toContain("whsec_");
    const [endpoint] = await listEndpoints(as("admin"), "default");
    const page = `/webhooks/${endpoint?.id}`;
    expect(await (await get(page, admin)).text()).toContain("Save changes");
    const edited = await post(`${page}/edit`, { url: "https://10.0.0.8/hook" });
    expect(edited.status).toBe(422);
    expect(await edited.text()).toMatch(/id="url-error"[^>]*>This URL points at a /);
  });
});

describe("route policy", () => {
  it("a route that declares no permission is refused for every role", async () => {
    const router = new OpenAPIHono();
    router.use("/v1/*", authorize(router.openAPIRegistry));
    const ok = { 200: { description: "ok" } };
    router.openapi(createRoute({ method: "get", path: "/v1/undeclared", responses: ok }), (c) =>
      c.text("served"),
    );
    router.openapi(
      defineRoute({
        permission: "prompts:read",
        method: "get",
        operationId: "declaredForTest",
        path: "/v1/declared",
        responses: ok,
      }),
      (c) => c.text("served"),
    );
    const app = new Hono();
    app.use(async (c, next) => {
      c.set("requestId" as never, "req_test" as never);
      await next();
    });
    app.route("/api", router);
    app.onError(handleError as never);
    const admin = { authorization: `Bearer ${await adminKey()}` };
    const call = (path: string) =>
      app.fetch(new Request(`http://admin.test/api${path}`, { headers: admin }), env, {
        waitUntil() {},
        passThroughOnException() {},
        props: {},
      } as unknown as ExecutionContext);
    expect((await call("/v1/declared")).status).toBe(200);
    const refused = await call("/v1/undeclared");
    expect(refused.status).toBe(403);
    expect((await json(refused)).detail).toContain("not open to any role");
  });
});
