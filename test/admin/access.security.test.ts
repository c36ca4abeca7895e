import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import readme from "../../README.md?raw";
import worker from "../../workers/admin";
import { adminKey, api, BOOTSTRAP_TOKEN, createTextPrompt, enc, json, keyFor } from "./api";

const ROLES = ["reader", "editor", "publisher", "admin"] as const;
type Role = (typeof ROLES)[number];

/**
 * The README's role table ("Roles and keys"), as data: what each role may do, by column. The
 * matrix below takes its expectations from it, not from the code that decides.
 */
function readmeRoleTable(): Map<Role, Set<string>> {
  const section = readme.split("## Roles and keys")[1]?.split("\n## ")[0] ?? "";
  const rows = section
    .split("\n")
    .filter((line) => line.startsWith("|"))
    .map((line) =>
      line
        .slice(1, -1)
        .split("|")
        .map((cell) => cell.trim()),
    );
  const [header = [], , ...body] = rows;
  const columns = header.slice(1);
  return new Map(
    body.map((cells) => [
      cells[0]?.replaceAll("`", "") as Role,
      new Set(columns.filter((_, i) => cells[i + 1] === "✓")),
    ]),
  );
}
const README_ROLES = readmeRoleTable();

const EDGE = "edge reads";
const AUTHORING = "prompts, versions, unprotected labels";
const PUBLISHING = "protected labels, rollbacks, archive, audit log";
const ADMINISTERING = "keys, webhooks, project settings";

/** Each admin API route → the README column that says who may call it. */
const COLUMN_OF: Record<string, string> = {
  "GET /v1/projects": AUTHORING,
  "GET /v1/projects/:project": AUTHORING,
  "PATCH /v1/projects/:project": ADMINISTERING,
  "POST /v1/projects/:project/republish": ADMINISTERING,
  "GET /v1/projects/:project/audit": PUBLISHING,

  "GET /v1/projects/:project/prompts": AUTHORING,
  "POST /v1/projects/:project/prompts": AUTHORING,
  "GET /v1/projects/:project/prompts/:name": AUTHORING,
  "PATCH /v1/projects/:project/prompts/:name": AUTHORING,
  "DELETE /v1/projects/:project/prompts/:name": PUBLISHING,

  "GET /v1/projects/:project/prompts/:name/versions": AUTHORING,
  "POST /v1/projects/:project/prompts/:name/versions": AUTHORING,
  "GET /v1/projects/:project/prompts/:name/versions/:version": AUTHORING,

  "GET /v1/projects/:project/prompts/:name/labels": AUTHORING,
  "PUT /v1/projects/:project/prompts/:name/labels/:label": AUTHORING,
  "DELETE /v1/projects/:project/prompts/:name/labels/:label": AUTHORING,
  "GET /v1/projects/:project/prompts/:name/labels/:label/history": AUTHORING,
  "POST /v1/projects/:project/prompts/:name/labels/:label/rollback": PUBLISHING,

  // Metrics read prompt data: whoever may read prompts on the admin API may read them.
  "GET /v1/projects/:project/prompts/:name/metrics": AUTHORING,
  "GET /v1/projects/:project/experiments": AUTHORING,
  "POST /v1/projects/:project/experiments": AUTHORING,
  "GET /v1/projects/:project/experiments/:id": AUTHORING,
  "GET /v1/projects/:project/experiments/:id/results": AUTHORING,
  "PATCH /v1/projects/:project/experiments/:id": AUTHORING,
  "POST /v1/projects/:project/experiments/:id/start": AUTHORING,
  "POST /v1/projects/:project/experiments/:id/pause": AUTHORING,
  "POST /v1/projects/:project/experiments/:id/resume": AUTHORING,
  "POST /v1/projects/:project/experiments/:id/stop": AUTHORING,

  "GET /v1/projects/:project/keys": ADMINISTERING,
  "POST /v1/projects/:project/keys": ADMINISTERING,
  "DELETE /v1/projects/:project/keys/:keyId": ADMINISTERING,

  "GET /v1/projects/:project/webhooks": ADMINISTERING,
  "POST /v1/projects/:project/webhooks": ADMINISTERING,
  "GET /v1/projects/:project/webhooks/:webhookId": ADMINISTERING,
  "PATCH /v1/projects/:project/webhooks/:webhookId": ADMINISTERING,
  "DELETE /v1/projects/:project/webhooks/:webhookId": ADMINISTERING,
  "POST /v1/projects/:project/webhooks/:webhookId/rotate-secret": ADMINISTERING,
  "POST /v1/projects/:project/webhooks/:webhookId/test": ADMINISTERING,
  "GET /v1/projects/:project/webhooks/:webhookId/deliveries": ADMINISTERING,
  "GET /v1/projects/:project/webhooks/:webhookId/deliveries/:deliveryId": ADMINISTERING,
  "POST /v1/projects/:project/webhooks/:webhookId/deliveries/:deliveryId/redeliver": ADMINISTERING,
};

/** Routes that authenticate on their own terms: the bootstrap token, signing in and out. */
const PUBLIC_ROUTES = [
  "POST /v1/bootstrap",
  "POST /v1/session",
  "GET /v1/session",
  "DELETE /v1/session",
];

const keys: Record<string, string> = {};
beforeAll(async () => {
  for (const role of ROLES) keys[role] = await keyFor(role);
});

const as = (role: string) => ({ authorization: `Bearer ${keys[role]}` });

async function deniedAudits() {
  const audit = await json(
    await api("GET", "/projects/default/audit?action=access.denied&limit=200"),
  );
  return audit.items as Array<{ actorRole: string; target: string }>;
}

/** A concrete URL for a route, on resources that exist (or well-formed ids that do not). */
async function concretePath(route: string): Promise<string> {
  const name = await createTextPrompt("x {{a}}", ["staging"]);
  return route
    .replace(":project", "default")
    .replace(":name", enc(name))
    .replace(":version", "1")
    .replace(":label", "staging")
    .replace(":keyId", "key_00000000000000000000")
    .replace(":id", "exp_00000000000000000000")
    .replace(":webhookId", "whk_00000000000000000000")
    .replace(":deliveryId", `msg_${"0".repeat(32)}`);
}

describe("the README's role table", () => {
  it("lists every role, each able to do what the one before it can, and only the admin everything", () => {
    expect([...README_ROLES.keys()]).toEqual([...ROLES]);
    expect([...(README_ROLES.get("reader") ?? [])]).toEqual([EDGE]);
    for (const [before, role] of [
      ["reader", "editor"],
      ["editor", "publisher"],
      ["publisher", "admin"],
    ] as const) {
      for (const column of README_ROLES.get(before) ?? []) {
        expect(README_ROLES.get(role)?.has(column), `${role} ${column}`).toBe(true);
      }
    }
    expect([...(README_ROLES.get("admin") ?? [])]).toEqual([
      EDGE,
      AUTHORING,
      PUBLISHING,
      ADMINISTERING,
    ]);
  });
});

describe("the role × route matrix, expected from the README's role table", () => {
  it("covers every route the API serves", async () => {
    const doc = await json(await exports.default.fetch("http://admin.test/api/openapi.json"));
    const served = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, operations]) =>
        Object.keys(operations).map(
          (method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`,
        ),
    );
    expect(served.sort()).toEqual([...Object.keys(COLUMN_OF), ...PUBLIC_ROUTES].sort());
  });

  for (const [route, column] of Object.entries(COLUMN_OF)) {
    for (const role of ROLES) {
      const allowed = README_ROLES.get(role)?.has(column) ?? false;
      it(`${role} ${allowed ? "may" : "may not"} ${route}`, async () => {
        const [method, path] = route.split(" ") as [string, string];
        const url = (await concretePath(path)).replace(/^\/v1/, "");
        const response = await api(
          method,
          url,
          method === "GET" || method === "DELETE" ? undefined : {},
          as(role),
        );
        if (allowed) {
          expect([401, 403]).not.toContain(response.status);
          expect(response.status).toBeLessThan(500);
          // A read either finds what it names or says it does not exist.
          if (method === "GET") expect([200, 404]).toContain(response.status);
        } else {
          expect(response.status).toBe(403);
          expect((await json(response)).code).toBe("forbidden");
          const audits = await deniedAudits();
          expect(
            audits.some(
              (a) =>
                a.actorRole === role &&
                a.target.startsWith(`${method} /api/v1${url.split("?")[0]}`),
            ),
          ).toBe(true);
        }
      });
    }
  }
});

describe("HEAD requests", () => {
  it("are authenticated and authorized like GET", async () => {
    const path = "http://admin.test/api/v1/projects/default/keys";
    expect((await exports.default.fetch(path, { method: "HEAD" })).status).toBe(401);
    const asEditor = await exports.default.fetch(path, { method: "HEAD", headers: as("editor") });
    expect(asEditor.status).toBe(403);
    const asAdmin = await exports.default.fetch(path, { method: "HEAD", headers: as("admin") });
    expect(asAdmin.status).toBe(200);
  });
});

describe("projects are isolated", () => {
  let otherAdmin: string;
  beforeAll(async () => {
    const response = await exports.default.fetch("http://admin.test/api/v1/bootstrap", {
      method: "POST",
      headers: { authorization: `Bearer ${BOOTSTRAP_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ project: "other", keyName: "other admin" }),
    });
    expect(response.status).toBe(201);
    otherAdmin = (await json(response)).secret;
  });

  it("an admin of one project cannot see another's prompts, keys, webhooks or audit: 404", async () => {
    for (const path of [
      "/projects/default/prompts",
      "/projects/default/keys",
      "/projects/default/audit",
      "/projects/default",
    ]) {
      const response = await api("GET", path, undefined, { authorization: `Bearer ${otherAdmin}` });
      expect(response.status).toBe(404);
    }
    const mine = await json(
      await api("GET", "/projects", undefined, { authorization: `Bearer ${otherAdmin}` }),
    );
    expect(mine.items.map((p: { id: string }) => p.id)).toEqual(["other"]);
  });

  it("a hidden project's probe is audited in the prober's own project", async () => {
    await api("GET", "/projects/default/keys", undefined, {
      authorization: `Bearer ${otherAdmin}`,
    });
    const audit = await json(
      await api("GET", "/projects/other/audit?action=access.denied", undefined, {
        authorization: `Bearer ${otherAdmin}`,
      }),
    );
    expect(
      audit.items.some((a: { target: string }) => a.target === "GET /api/v1/projects/default/keys"),
    ).toBe(true);
  });
});

describe("keys", () => {
  it("shows the secret once, stores only a hash, never lists it", async () => {
    const created = await json(
      await api("POST", "/projects/default/keys", { name: "ci", role: "editor" }),
    );
    expect(created.secret).toMatch(/^cc_editor_[A-Za-z0-9]{32}$/);
    expect(created.key.prefix).toBe(created.secret.slice(0, "cc_editor_".length + 4));
    const listed = await api("GET", "/projects/default/keys");
    const text = await listed.text();
    expect(text).not.toContain(created.secret);
    expect(text).not.toMatch(/"hash"/);
    const row = await env.DB.prepare("SELECT * FROM api_keys WHERE id = ?")
      .bind(created.key.id)
      .first();
    expect(JSON.stringify(row)).not.toContain(created.secret);
  });

  it("rejects malformed keys before any database lookup", async () => {
    let queries = 0;
    const countingDb = new Proxy(env.DB, {
      get(target, property) {
        if (property === "prepare" || property === "batch") queries++;
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const ctx = createExecutionContext();
    const response = await worker.fetch(
      new Request("http://admin.test/api/v1/projects/default/prompts", {
        headers: { authorization: "Bearer cc_admin_short" },
      }),
      { ...env, DB: countingDb },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(401);
    expect(queries).toBe(0);
  });

  it("a revoked key stops working at once on the admin API and is withdrawn from the edge", async () => {
    const created = await json(
      await api("POST", "/projects/default/keys", { name: "temp", role: "editor" }),
    );
    const hash = [
      ...new Uint8Array(
        await crypto.subtle.digest("SHA-256", new TextEncoder().encode(created.secret)),
      ),
    ]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    expect(await env.PROMPTS_KV.get(`k/${hash}`)).not.toBeNull();
    expect(
      (
        await api("GET", "/projects/default/prompts", undefined, {
          authorization: `Bearer ${created.secret}`,
        })
      ).status,
    ).toBe(200);
    expect((await api("DELETE", `/projects/default/keys/${created.key.id}`)).status).toBe(204);
    expect(
      (
        await api("GET", "/projects/default/prompts", undefined, {
          authorization: `Bearer ${created.secret}`,
        })
      ).status,
    ).toBe(401);
    expect(await env.PROMPTS_KV.get(`k/${hash}`)).toBeNull();
  });

  it("an expired key is refused", async () => {
    const created = await json(
      await api("POST", "/projects/default/keys", {
        name: "old",
        role: "editor",
        expiresAt: new Date(Date.now() + 1500).toISOString(),
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 1600));
    expect(
      (
        await api("GET", "/projects/default/prompts", undefined, {
          authorization: `Bearer ${created.secret}`,
        })
      ).status,
    ).toBe(401);
  });
});

describe("protected labels", () => {
  it("an editor may move staging but not production; the refusal is audited", async () => {
    const name = await createTextPrompt("x");
    const base = `/projects/default/prompts/${enc(name)}/labels`;
    expect((await api("PUT", `${base}/staging`, { version: 1 }, as("editor"))).status).toBe(200);
    const refused = await api("PUT", `${base}/production`, { version: 1 }, as("editor"));
    expect(refused.status).toBe(403);
    expect((await json(refused)).detail).toContain("protected");
    const audits = await deniedAudits();
    expect(
      audits.some((a) => a.actorRole === "editor" && a.target === `PUT /api/v1${base}/production`),
    ).toBe(true);
    // Nor through a version's labels.
    const viaVersion = await api(
      "POST",
      `/projects/default/prompts/${enc(name)}/versions`,
      { prompt: "y", labels: ["production"] },
      as("editor"),
    );
    expect(viaVersion.status).toBe(403);
    expect((await api("PUT", `${base}/production`, { version: 1 }, as("publisher"))).status).toBe(
      200,
    );
  });

  it("an admin chooses which labels are protected", async () => {
    const name = await createTextPrompt("x");
    await api("PATCH", "/projects/default", { protectedLabels: ["production", "staging"] });
    const refused = await api(
      "PUT",
      `/projects/default/prompts/${enc(name)}/labels/staging`,
      { version: 1 },
      as("editor"),
    );
    expect(refused.status).toBe(403);
    await api("PATCH", "/projects/default", { protectedLabels: ["production"] });
  });

  it("an editor cannot archive a prompt through PATCH either", async () => {
    const name = await createTextPrompt("x");
    const refused = await api(
      "PATCH",
      `/projects/default/prompts/${enc(name)}`,
      { archived: true },
      as("editor"),
    );
    expect(refused.status).toBe(403);
  });
});

describe("the bootstrap token", () => {
  it("creates the first admin key only, then is refused", async () => {
    await adminKey();
    const again = await exports.default.fetch("http://admin.test/api/v1/bootstrap", {
      method: "POST",
      headers: { authorization: `Bearer ${BOOTSTRAP_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ project: "default" }),
    });
    expect(again.status).toBe(409);
    const elsewhere = await api("GET", "/projects/default/prompts", undefined, {
      authorization: `Bearer ${BOOTSTRAP_TOKEN}`,
    });
    expect(elsewhere.status).toBe(403);
  });

  it("two racing bootstraps of a new project: exactly one admin key", async () => {
    const bootstrap = () =>
      exports.default.fetch("http://admin.test/api/v1/bootstrap", {
        method: "POST",
        headers: { authorization: `Bearer ${BOOTSTRAP_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ project: "raced" }),
      });
    const statuses = (await Promise.all([bootstrap(), bootstrap()])).map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409]);
    const admins = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM api_keys WHERE project_id = 'raced' AND role = 'admin'",
    ).first<{ n: number }>();
    expect(admins?.n).toBe(1);
  });

  it("works again once the project's only admin key has expired", async () => {
    const first = await exports.default.fetch("http://admin.test/api/v1/bootstrap", {
      method: "POST",
      headers: { authorization: `Bearer ${BOOTSTRAP_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ project: "lapsed" }),
    });
    const { key } = await json(first);
    await env.DB.prepare("UPDATE api_keys SET expires_at = '2020-01-01T00:00:00.000Z' WHERE id = ?")
      .bind(key.id)
      .run();
    const again = await exports.default.fetch("http://admin.test/api/v1/bootstrap", {
      method: "POST",
      headers: { authorization: `Bearer ${BOOTSTRAP_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ project: "lapsed" }),
    });
    expect(again.status).toBe(201);
  });

  it("a wrong bootstrap token is 401", async () => {
    const response = await exports.default.fetch("http://admin.test/api/v1/bootstrap", {
      method: "POST",
      headers: { authorization: "Bearer wrong", "content-type": "application/json" },
      body: JSON.stringify({ project: "third" }),
    });
    expect(response.status).toBe(401);
  });
});

describe("browser sessions", () => {
  const origin = "http://admin.test";
  async function signIn(key: string) {
    const response = await exports.default.fetch(`${origin}/api/v1/session`, {
      method: "POST",
      headers: { "content-type": "application/json", origin },
      body: JSON.stringify({ key }),
    });
    return response;
  }

  it("signs in with a key: HttpOnly SameSite=Strict cookie, CSRF token for changes, sign out", async () => {
    const response = await signIn(keys.publisher!);
    expect(response.status).toBe(200);
    const cookieHeader = response.headers.get("set-cookie") ?? "";
    expect(cookieHeader).toMatch(/HttpOnly/i);
    expect(cookieHeader).toMatch(/SameSite=Strict/i);
    expect(cookieHeader).toMatch(/Secure/i);
    const { csrfToken } = await json(response);
    const cookie = cookieHeader.split(";")[0]!;
    const name = await createTextPrompt("x");
    const url = `${origin}/api/v1/projects/default/prompts/${enc(name)}/labels/staging`;
    const body = JSON.stringify({ version: 1 });
    const read = await exports.default.fetch(`${origin}/api/v1/projects/default/prompts`, {
      headers: { cookie },
    });
    expect(read.status).toBe(200);

    const noToken = await exports.default.fetch(url, {
      method: "PUT",
      headers: { cookie, "content-type": "application/json", origin },
      body,
    });
    expect(noToken.status).toBe(403);
    const crossOrigin = await exports.default.fetch(url, {
      method: "PUT",
      headers: {
        cookie,
        "content-type": "application/json",
        origin: "https://evil.example",
        "x-csrf-token": csrfToken,
      },
      body,
    });
    expect(crossOrigin.status).toBe(403);
    const crossSiteForm = await exports.default.fetch(url, {
      method: "PUT",
      headers: {
        cookie,
        "content-type": "application/x-www-form-urlencoded",
        "sec-fetch-site": "cross-site",
      },
      body: "version=1",
    });
    expect(crossSiteForm.status).toBe(403);
    const ok = await exports.default.fetch(url, {
      method: "PUT",
      headers: { cookie, "content-type": "application/json", origin, "x-csrf-token": csrfToken },
      body,
    });
    expect(ok.status).toBe(200);

    const out = await exports.default.fetch(`${origin}/api/v1/session`, {
      method: "DELETE",
      headers: { cookie, origin },
    });
    expect(out.status).toBe(204);
    const after = await exports.default.fetch(`${origin}/api/v1/projects/default/prompts`, {
      headers: { cookie },
    });
    expect(after.status).toBe(401);
  });

  it("reader keys cannot sign in; bad keys get 401", async () => {
    expect((await signIn(keys.reader!)).status).toBe(403);
    expect((await signIn("cc_admin_notreal")).status).toBe(401);
  });

  it("refuses a sign-in posted from another origin", async () => {
    const response = await exports.default.fetch(`${origin}/api/v1/session`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: "https://evil.example" },
      body: JSON.stringify({ key: keys.editor }),
    });
    expect(response.status).toBe(403);
  });
});

describe("security headers", () => {
  for (const [what, path] of [
    ["the UI", "/"],
    ["an API error", "/api/v1/projects"],
    ["a 404", "/nothing/here"],
  ] as const) {
    it(`are on ${what}`, async () => {
      const response = await exports.default.fetch(`http://admin.test${path}`);
      expect(response.headers.get("content-security-policy")).toContain("default-src 'self'");
      expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("x-frame-options")).toBe("DENY");
    });
  }
});
