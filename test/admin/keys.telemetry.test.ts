import { env, exports } from "cloudflare:workers";
import { newId } from "@cuecard/core/ids";
import { hashKey } from "@cuecard/core/keys";
import { type ReadKeyRecord, readKeyRecordKey } from "@cuecard/core/kv-records";
import { describe, expect, it } from "vitest";
import { api, json, keyFor, uniqueName } from "./api";

/**
 * Whether a key may send telemetry (`sendTelemetry`): set at creation through the API or the
 * keys page, listed, audited, and published in the key's KV record, which is what the edge
 * checks before it forwards events.
 */

async function publishedRecord(secret: string): Promise<ReadKeyRecord | null> {
  return env.PROMPTS_KV.get<ReadKeyRecord>(readKeyRecordKey(await hashKey(secret)), "json");
}

async function createKey(body: Record<string, unknown>) {
  const response = await api("POST", "/projects/default/keys", body);
  return { response, created: await json(response) };
}

async function listed(keyId: string) {
  const { items } = await json(await api("GET", "/projects/default/keys"));
  return items.find((key: { id: string }) => key.id === keyId);
}

describe("keys that may send telemetry", () => {
  it("a new key may send telemetry unless told otherwise, and its edge record says so", async () => {
    const { response, created } = await createKey({ name: uniqueName("app"), role: "reader" });
    expect(response.status).toBe(201);
    expect(created.key.sendTelemetry).toBe(true);
    expect((await listed(created.key.id)).sendTelemetry).toBe(true);
    expect(await publishedRecord(created.secret)).toMatchObject({
      keyId: created.key.id,
      projectId: "default",
      sendTelemetry: true,
    });
  });

  it("a key created with sendTelemetry false reads only: API, list, edge record and audit agree", async () => {
    const name = uniqueName("browser app");
    const { response, created } = await createKey({
      name,
      role: "reader",
      sendTelemetry: false,
    });
    expect(response.status).toBe(201);
    expect(created.key.sendTelemetry).toBe(false);
    expect((await listed(created.key.id)).sendTelemetry).toBe(false);
    const record = await publishedRecord(created.secret);
    expect(record?.sendTelemetry).toBe(false);

    const audit = await json(
      await api("GET", `/projects/default/audit?action=key.create&target=${created.key.id}`),
    );
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0].after).toMatchObject({ name, role: "reader", sendTelemetry: false });
  });

  it("refuses a sendTelemetry that is not a boolean, naming the field", async () => {
    const { response, created } = await createKey({
      name: uniqueName("app"),
      role: "reader",
      sendTelemetry: "no",
    });
    expect(response.status).toBe(422);
    expect(created.code).toBe("validation_failed");
    expect(created.errors.map((error: { field: string }) => error.field)).toContain(
      "body.sendTelemetry",
    );
  });

  it("a key row written without the column (as every key before it) may send telemetry", async () => {
    // ALTER TABLE … ADD … DEFAULT fills existing rows with the default, as this insert does.
    const id = newId("key");
    await env.DB.prepare(
      `INSERT INTO api_keys (id, project_id, name, role, prefix, hash, created_by, created_at)
       VALUES (?, 'default', 'legacy', 'reader', 'cc_reader_old0', ?, 'test', ?)`,
    )
      .bind(id, crypto.randomUUID(), new Date().toISOString())
      .run();
    const row = await env.DB.prepare("SELECT send_telemetry FROM api_keys WHERE id = ?")
      .bind(id)
      .first<{ send_telemetry: number }>();
    expect(row?.send_telemetry).toBe(1);
    expect((await listed(id)).sendTelemetry).toBe(true);
  });
});

describe("upgrading: records published before sendTelemetry", () => {
  it("a republish rewrites an old key record with the key's sendTelemetry", async () => {
    const { created } = await createKey({ name: uniqueName("server"), role: "reader" });
    const recordKey = readKeyRecordKey(await hashKey(created.secret));
    // The record as the publisher wrote it before the field existed (the edge refuses its
    // telemetry: test/edge/telemetry-ingest.test.ts).
    const { sendTelemetry: _, ...old } = (await publishedRecord(created.secret)) as ReadKeyRecord;
    await env.PROMPTS_KV.put(recordKey, JSON.stringify(old));
    expect(await publishedRecord(created.secret)).not.toHaveProperty("sendTelemetry");

    let after: string | undefined;
    for (let round = 0; round < 50; round++) {
      const report = await json(
        await api(
          "POST",
          `/projects/default/republish${after ? `?after=${encodeURIComponent(after)}` : ""}`,
        ),
      );
      if (report.complete) break;
      after = report.nextCursor;
    }
    expect((await publishedRecord(created.secret))?.sendTelemetry).toBe(true);
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

  it("offers the telemetry checkbox ticked, creates a read-only key when it is unticked, and lists both", async () => {
    const session = await adminSession();
    const page = (path: string) =>
      exports.default.fetch(`${origin}${path}`, { headers: { cookie: session.cookie } });
    const submit = (form: Record<string, string>) =>
      exports.default.fetch(`${origin}/keys/new`, {
        method: "POST",
        headers: {
          cookie: session.cookie,
          origin,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ _csrf: session.csrfToken, ...form }).toString(),
      });

    const form = await (await page("/keys/new")).text();
    expect(form).toMatch(/<input[^>]*name="sendTelemetry"[^>]*checked/);

    const sending = uniqueName("server app");
    const readOnly = uniqueName("browser app");
    expect((await submit({ name: sending, role: "reader", sendTelemetry: "true" })).status).toBe(
      201,
    );
    // An unticked checkbox is simply absent from the form.
    const created = await submit({ name: readOnly, role: "reader" });
    expect(created.status).toBe(201);
    expect(await created.text()).toContain("may not send telemetry");

    const { items } = await json(await api("GET", "/projects/default/keys"));
    const byName = new Map(
      items.map((key: { name: string; sendTelemetry: boolean }) => [key.name, key.sendTelemetry]),
    );
    expect(byName.get(sending)).toBe(true);
    expect(byName.get(readOnly)).toBe(false);

    const list = await (await page("/keys")).text();
    const rowOf = (name: string) => list.split("<tr").find((row) => row.includes(name)) ?? "";
    expect(rowOf(sending)).toContain("may send");
    expect(rowOf(readOnly)).toContain("reads only");
  });
});
