import { env, exports } from "cloudflare:workers";
import { hashKey } from "@cuecard/core/keys";
import { type ReadKeyRecord, readKeyRecordKey } from "@cuecard/core/kv-records";
import { describe, expect, it } from "vitest";
import { api, json, keyFor, uniqueName } from "./api";

/**
 * Browser origins: a project's allowed origins and a key's narrower ones, validated and stored
 * normalized, and published on every key record (what the edge decides CORS from); browser keys:
 * readers only, refused by the admin API.
 */

async function publishedRecord(secret: string): Promise<ReadKeyRecord | null> {
  return env.PROMPTS_KV.get<ReadKeyRecord>(readKeyRecordKey(await hashKey(secret)), "json");
}

async function createKey(body: Record<string, unknown>) {
  const response = await api("POST", "/projects/default/keys", {
    name: uniqueName("key"),
    role: "reader",
    ...body,
  });
  return { response, created: await json(response) };
}

const setProjectOrigins = (allowedOrigins: unknown) =>
  api("PATCH", "/projects/default", { allowedOrigins });

const fieldsOf = (problem: { errors?: { field: string; message: string }[] }) =>
  (problem.errors ?? []).map((error) => error.field);

describe("a project's allowed origins", () => {
  it("are stored normalized (lowercase, default port dropped, duplicates once) and published on every usable key", async () => {
    const reader = await keyFor("reader");
    const { created: revoked } = await createKey({});
    expect((await api("DELETE", `/projects/default/keys/${revoked.key.id}`)).status).toBe(204);

    const response = await setProjectOrigins([
      "https://App.Example.com",
      "https://app.example.com:443",
      "http://localhost:*",
      "http://127.0.0.1:8080",
      "http://[::1]:3000",
    ]);
    expect(response.status).toBe(200);
    const expected = [
      "https://app.example.com",
      "http://localhost:*",
      "http://127.0.0.1:8080",
      "http://[::1]:3000",
    ];
    expect((await json(response)).allowedOrigins).toEqual(expected);
    expect((await json(await api("GET", "/projects/default"))).allowedOrigins).toEqual(expected);

    // Every key record carries the project's list: the edge reads no second KV record for it.
    expect((await publishedRecord(reader))?.origins).toEqual(expected);
    // A revoked key stays withdrawn.
    expect(await publishedRecord(revoked.secret)).toBeNull();

    const audit = await json(
      await api("GET", "/projects/default/audit?action=project.update&target=default"),
    );
    expect(audit.items[0].after).toEqual({ allowedOrigins: expected });

    // Emptied: no browser app may call any more, and the records say so.
    expect((await setProjectOrigins([])).status).toBe(200);
    expect((await publishedRecord(reader))?.origins).toEqual([]);
  });

  it("refuses anything but scheme://host[:port|:*], naming each bad entry", async () => {
    const bad = [
      "https://app.example.com/", // a path, even "/"
      "https://app.example.com/login",
      "https://app.example.com?x=1",
      "https://user@app.example.com",
      "ftp://files.example.com",
      "app.example.com",
      "localhost:3000",
      "*",
      "https://*.example.com",
      "http://localhost:0",
      "http://localhost:65536",
      "null",
      "",
    ];
    for (const origin of bad) {
      const response = await setProjectOrigins(["https://ok.example.com", origin]);
      expect(response.status, origin).toBe(422);
      const problem = await json(response);
      expect(problem.code).toBe("validation_failed");
      expect(fieldsOf(problem), origin).toEqual(["body.allowedOrigins.1"]);
    }
    const tooMany = Array.from({ length: 21 }, (_, i) => `https://app${i}.example.com`);
    const response = await setProjectOrigins(tooMany);
    expect(response.status).toBe(422);
    expect(fieldsOf(await json(response))).toContain("body.allowedOrigins");
    const notAList = await setProjectOrigins("https://app.example.com");
    expect(notAList.status).toBe(422);
    // Nothing was stored by the refused requests.
    expect((await json(await api("GET", "/projects/default"))).allowedOrigins).not.toContain(
      "https://ok.example.com",
    );
  });
});

describe("a key's own origins", () => {
  it("are set at creation, normalized, and published beside the project's", async () => {
    expect(
      (await setProjectOrigins(["http://localhost:*", "https://app.example.com"])).status,
    ).toBe(200);
    const { response, created } = await createKey({
      allowedOrigins: ["HTTPS://APP.EXAMPLE.COM:443"],
    });
    expect(response.status).toBe(201);
    expect(created.key.allowedOrigins).toEqual(["https://app.example.com"]);
    const record = await publishedRecord(created.secret);
    expect(record).toMatchObject({
      origins: ["http://localhost:*", "https://app.example.com"],
      keyOrigins: ["https://app.example.com"],
      browser: false,
    });

    const { created: plain } = await createKey({});
    expect(plain.key.allowedOrigins).toBeNull();
    expect((await publishedRecord(plain.secret))?.keyOrigins).toBeNull();
  });

  it("are changed with PATCH (null: the project's), audited, and refused when malformed or on a revoked key", async () => {
    const { created } = await createKey({});
    const path = `/projects/default/keys/${created.key.id}`;
    const narrowed = await api("PATCH", path, { allowedOrigins: ["http://localhost:5173"] });
    expect(narrowed.status).toBe(200);
    expect((await json(narrowed)).allowedOrigins).toEqual(["http://localhost:5173"]);
    expect((await publishedRecord(created.secret))?.keyOrigins).toEqual(["http://localhost:5173"]);

    const reset = await api("PATCH", path, { allowedOrigins: null });
    expect(reset.status).toBe(200);
    expect((await json(reset)).allowedOrigins).toBeNull();
    expect((await publishedRecord(created.secret))?.keyOrigins).toBeNull();

    const audit = await json(
      await api("GET", `/projects/default/audit?action=key.update&target=${created.key.id}`),
    );
    expect(audit.items.map((item: { after: unknown }) => item.after)).toEqual([
      { allowedOrigins: null },
      { allowedOrigins: ["http://localhost:5173"] },
    ]);

    const malformed = await api("PATCH", path, { allowedOrigins: ["http://localhost:5173/app"] });
    expect(malformed.status).toBe(422);
    expect(fieldsOf(await json(malformed))).toEqual(["body.allowedOrigins.0"]);
    expect((await api("PATCH", path, {})).status).toBe(422);
    expect((await api("PATCH", path, { allowedOrigins: null, role: "admin" })).status).toBe(422);

    expect((await api("DELETE", path)).status).toBe(204);
    const revoked = await api("PATCH", path, { allowedOrigins: ["http://localhost:1"] });
    expect(revoked.status).toBe(409);
    expect(await publishedRecord(created.secret)).toBeNull();
    expect(
      (
        await api("PATCH", "/projects/default/keys/key_00000000000000000000", {
          allowedOrigins: null,
        })
      ).status,
    ).toBe(404);
  });

  it("refuses malformed origins at creation, naming the entry", async () => {
    const { response, created } = await createKey({
      allowedOrigins: ["https://a.example", "a.example"],
    });
    expect(response.status).toBe(422);
    expect(fieldsOf(created)).toEqual(["body.allowedOrigins.1"]);
  });
});

describe("browser keys", () => {
  it("must be readers, default to sending no telemetry, and say so in their record", async () => {
    for (const role of ["editor", "publisher", "admin"]) {
      const { response, created } = await createKey({ role, browser: true });
      expect(response.status, role).toBe(422);
      expect(fieldsOf(created)).toEqual(["body.role"]);
    }
    const { response, created } = await createKey({ browser: true });
    expect(response.status).toBe(201);
    expect(created.key).toMatchObject({ role: "reader", browser: true, sendTelemetry: false });
    expect(await publishedRecord(created.secret)).toMatchObject({
      browser: true,
      sendTelemetry: false,
    });
    // Scores from the page are a choice: the key may be created to send them.
    const { created: scoring } = await createKey({ browser: true, sendTelemetry: true });
    expect(scoring.key.sendTelemetry).toBe(true);
  });

  it("get nothing from the admin API: they are readers, and readers read only at the edge", async () => {
    const { created } = await createKey({ browser: true });
    const response = await exports.default.fetch("http://admin.test/api/v1/projects/default", {
      headers: { authorization: `Bearer ${created.secret}` },
    });
    expect(response.status).toBe(403);
    expect((await json(response)).code).toBe("forbidden");
  });
});

describe("the keys page", () => {
  const origin = "http://admin.test";
  async function adminSession() {
    const response = await exports.default.fetch(`${origin}/api/v1/session`, {
      method: "POST",
      headers: { "content-type": "application/json", origin },
      body: JSON.stringify({ key: await keyFor("admin") }),
    });
    const { csrfToken } = await json(response);
    return { cookie: (response.headers.get("set-cookie") ?? "").split(";")[0] ?? "", csrfToken };
  }

  it("sets the project's origins and creates a browser key with its own, showing refusals in the form", async () => {
    const session = await adminSession();
    const post = (path: string, form: Record<string, string>) =>
      exports.default.fetch(`${origin}${path}`, {
        method: "POST",
        headers: {
          cookie: session.cookie,
          origin,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ _csrf: session.csrfToken, ...form }).toString(),
        redirect: "manual",
      });

    const saved = await post("/keys/origins", {
      projectOrigins: "https://shop.example.com\nhttp://localhost:*\n",
    });
    expect(saved.status).toBe(303);
    expect((await json(await api("GET", "/projects/default"))).allowedOrigins).toEqual([
      "https://shop.example.com",
      "http://localhost:*",
    ]);
    const list = await (
      await exports.default.fetch(`${origin}/keys`, { headers: { cookie: session.cookie } })
    ).text();
    expect(list).toContain("https://shop.example.com\nhttp://localhost:*");

    const refused = await post("/keys/origins", {
      projectOrigins: "https://shop.example.com/cart",
    });
    expect(refused.status).toBe(422);
    const refusedPage = await refused.text();
    expect(refusedPage).toContain("no path");
    // What was typed stays in the form to be corrected.
    expect(refusedPage).toContain("https://shop.example.com/cart");

    const name = uniqueName("storefront");
    const created = await post("/keys/new", {
      name,
      role: "reader",
      browser: "true",
      origins: "https://shop.example.com",
    });
    expect(created.status).toBe(201);
    expect(await created.text()).toContain("for browsers");
    const { items } = await json(await api("GET", "/projects/default/keys"));
    expect(items.find((key: { name: string }) => key.name === name)).toMatchObject({
      browser: true,
      sendTelemetry: false,
      allowedOrigins: ["https://shop.example.com"],
    });

    const adminBrowser = await post("/keys/new", {
      name: uniqueName("storefront"),
      role: "admin",
      browser: "true",
    });
    expect(adminBrowser.status).toBe(422);
    expect(await adminBrowser.text()).toContain("must be a reader");
  });
});
