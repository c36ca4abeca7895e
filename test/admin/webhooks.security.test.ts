import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { attemptDelivery, responseExcerpt } from "../../workers/modules/webhooks/delivery";
import { auditUrl } from "../../workers/modules/webhooks/endpoints";
import { checkWebhookUrl } from "../../workers/modules/webhooks/url-guard";
import { openDatabase } from "../../workers/platform/db/client";
import { webhookAttempts, webhookEndpoints } from "../../workers/platform/db/schema";
import { api, json, keyFor } from "./api";

const db = openDatabase(env.DB);
const strict = { allowLoopback: false };
const localDev = { allowLoopback: true };

/** Every spelling the issue names, and the ranges behind them. */
const REFUSED = [
  "https://2130706433/",
  "https://0x7f.1/",
  "https://127.1/",
  "https://0177.0.0.1/",
  "https://127.0.0.1/",
  "https://[::ffff:127.0.0.1]/",
  "https://[::ffff:7f00:1]/",
  "https://[::127.0.0.1]/",
  "https://[64:ff9b::7f00:1]/",
  "https://[64:ff9b::127.0.0.9]/",
  "https://[::1]/",
  "https://[::]/",
  "https://169.254.169.254/latest/meta-data/",
  "https://[::ffff:169.254.169.254]/",
  "https://[64:ff9b::a9fe:a9fe]/",
  // IPv4-translated (::ffff:0:0:0/96) and local-use NAT64 (64:ff9b:1::/48).
  "https://[::ffff:0:7f00:1]/",
  "https://[::ffff:0:a9fe:a9fe]/",
  "https://[::ffff:0:10.0.0.1]/",
  "https://[64:ff9b:1::a9fe:a9fe]/",
  "https://[64:ff9b:1::7f00:1]/",
  "https://[64:ff9b:1:ffff::8.8.8.8]/",
  // The rest of the IPv6 special-purpose registry.
  "https://[100::1]/",
  "https://[2001::a9fe:a9fe]/",
  "https://[2001:2::1]/",
  "https://[2001:db8::1]/",
  "https://[2002:a9fe:a9fe::1]/",
  "https://[2620:4f:8000::1]/",
  "https://[3fff::1]/",
  "https://[5f00::1]/",
  "https://localhost/",
  "https://localhost./",
  "https://api.localhost/",
  "https://metadata.google.internal/",
  "https://db.internal/",
  "https://db.internal./",
  "https://printer.local/",
  "https://intranet/",
  "https://10.0.0.5/",
  "https://172.16.1.1/",
  "https://172.31.255.255/",
  "https://192.168.1.1/",
  "https://100.64.0.1/",
  "https://0.0.0.0/",
  "https://224.0.0.1/",
  "https://[fc00::1]/",
  "https://[fd12:3456::1]/",
  "https://[fe80::1]/",
  "https://user:pass@hooks.example.com/",
  "https://token@hooks.example.com/",
  "http://hooks.example.com/",
  "ftp://hooks.example.com/",
  "javascript:alert(1)",
  "not a url",
];

async function bootstrapAdmin(project: string): Promise<string> {
  const response = await api(
    "POST",
    "/bootstrap",
    { project, keyName: "webhook tests" },
    { authorization: `Bearer ${env.ADMIN_BOOTSTRAP_TOKEN}` },
  );
  expect(response.status).toBe(201);
  return (await json<{ secret: string }>(response)).secret;
}

describe("webhook URL guard (SSRF)", () => {
  it.each(REFUSED)("refuses %s", (url) => {
    const verdict = checkWebhookUrl(url, strict);
    expect(verdict.ok).toBe(false);
  });

  it.each([
    "https://hooks.example.com/cuecard",
    "https://ci.example.org:8443/hooks?token=abc",
    "https://8.8.8.8/",
    "https://172.32.0.1/",
    "https://[2606:4700:4700::1111]/",
    "https://[2a00:1450:4001::200e]/",
    "https://[::ffff:8.8.8.8]/",
    "https://[64:ff9b::8.8.8.8]/",
    "https://api.github.com/repos/acme/prompts/dispatches",
  ])("accepts the public https URL %s", (url) => {
    expect(checkWebhookUrl(url, strict)).toMatchObject({ ok: true });
  });

  it("the local-development setting opens loopback only, over http too — not other private ranges", () => {
    for (const url of [
      "http://127.0.0.1:9999/hook",
      "http://localhost:3000/",
      "http://[::1]:8080/",
      "https://0x7f.1/",
    ]) {
      expect(checkWebhookUrl(url, localDev), url).toMatchObject({ ok: true });
    }
    for (const url of [
      "http://10.0.0.1/",
      "http://169.254.169.254/",
      "http://db.internal/",
      "http://user:pw@127.0.0.1/",
      "http://hooks.example.com/",
    ]) {
      expect(checkWebhookUrl(url, localDev), url).toMatchObject({ ok: false });
    }
  });

  // IPv4-mapped, IPv4-compatible and NAT64 spellings of 127/8 must behave exactly like 127.0.0.1.
  it.each([
    "127.0.0.1",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::127.0.0.1]",
    "[::7f00:1]",
    "[64:ff9b::7f00:1]",
    "[64:ff9b::127.0.0.9]",
    "[::ffff:0:7f00:1]",
    "[::ffff:0:127.0.0.1]",
  ])("every spelling of loopback %s: refused as loopback, allowed over http locally", (host) => {
    for (const scheme of ["http", "https"]) {
      const url = `${scheme}://${host}:8790/hook`;
      const verdict = checkWebhookUrl(url, strict);
      expect(verdict.ok, url).toBe(false);
      if (!verdict.ok) expect(verdict.reason, url).toMatch(/loopback.*WEBHOOK_ALLOW_LOOPBACK/);
      expect(checkWebhookUrl(url, localDev), url).toMatchObject({ ok: true });
    }
  });

  it("saving refuses each spelling with a 422 naming the url field, and stores nothing", async () => {
    const project = "wh-sec-save";
    const key = await bootstrapAdmin(project);
    const auth = { authorization: `Bearer ${key}` };
    for (const url of [
      "https://0x7f.1/",
      "https://169.254.169.254/",
      "https://localhost./",
      "https://a.internal/",
      "https://u:p@example.com/",
    ]) {
      const response = await api("POST", `/projects/${project}/webhooks`, { url }, auth);
      expect(response.status, url).toBe(422);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      const problem = await json(response);
      expect(problem.errors[0].field).toBe("body.url");
    }
    const list = await json(await api("GET", `/projects/${project}/webhooks`, undefined, auth));
    expect(list.items).toEqual([]);

    const created = await api(
      "POST",
      `/projects/${project}/webhooks`,
      { url: "https://hooks.example.com/a" },
      auth,
    );
    expect(created.status).toBe(201);
    const { webhook } = await json(created);
    const patched = await api(
      "PATCH",
      `/projects/${project}/webhooks/${webhook.id}`,
      { url: "https://2130706433/" },
      auth,
    );
    expect(patched.status).toBe(422);
    const after = await json(
      await api("GET", `/projects/${project}/webhooks/${webhook.id}`, undefined, auth),
    );
    expect(after.url).toBe("https://hooks.example.com/a");
  });

  it("sending re-checks the URL: a row holding a private URL is never called", async () => {
    const project = "wh-sec-send";
    const key = await bootstrapAdmin(project);
    const auth = { authorization: `Bearer ${key}` };
    const { webhook } = await json(
      await api(
        "POST",
        `/projects/${project}/webhooks`,
        { url: "https://hooks.example.com/b" },
        auth,
      ),
    );
    const sent = await json(
      await api("POST", `/projects/${project}/webhooks/${webhook.id}/test`, undefined, auth),
    );
    // Simulates a row saved under an older, looser rule.
    await db
      .update(webhookEndpoints)
      .set({ url: "https://169.254.169.254/" })
      .where(eq(webhookEndpoints.id, webhook.id));

    const delivery = await waitForDelivery(sent.eventId);
    let called = false;
    const outcome = await attemptDelivery(delivery.id, 1, {
      db,
      allowLoopback: false,
      fetch: async () => {
        called = true;
        return new Response("ok");
      },
    });
    expect(called).toBe(false);
    // Either this attempt refused it, or the background consumer already did.
    expect(["failed", "skipped"]).toContain(outcome.result);
    const row = await db.query.webhookDeliveries.findFirst({
      where: (d, { eq }) => eq(d.id, delivery.id),
    });
    expect(row?.status).toBe("failed");
    const attempts = await db
      .select()
      .from(webhookAttempts)
      .where(eq(webhookAttempts.deliveryId, delivery.id));
    expect(attempts.every((a) => a.statusCode === null && /link-local/.test(a.error ?? ""))).toBe(
      true,
    );
  });

  it("secrets are shown once: never in list or get responses", async () => {
    const project = "wh-sec-secret";
    const key = await bootstrapAdmin(project);
    const auth = { authorization: `Bearer ${key}` };
    const created = await json(
      await api(
        "POST",
        `/projects/${project}/webhooks`,
        { url: "https://hooks.example.com/c" },
        auth,
      ),
    );
    expect(created.secret).toMatch(/^whsec_/);
    const listed = await (
      await api("GET", `/projects/${project}/webhooks`, undefined, auth)
    ).text();
    const got = await (
      await api("GET", `/projects/${project}/webhooks/${created.webhook.id}`, undefined, auth)
    ).text();
    expect(listed).not.toContain(created.secret);
    expect(listed).not.toContain("whsec_");
    expect(got).not.toContain("whsec_");
  });

  it("audit URLs keep the origin and first path segment, never the rest of the path or a query", () => {
    expect(auditUrl("https://hooks.example.com/services/T000/B000/SECRET?token=abc#x")).toBe(
      "https://hooks.example.com/services/…?…",
    );
    expect(auditUrl("https://ci.example.com:8443/hooks")).toBe("https://ci.example.com:8443/hooks");
    expect(auditUrl("https://ci.example.com/hooks/")).toBe("https://ci.example.com/hooks/");
    expect(auditUrl("https://ci.example.com/?k=v")).toBe("https://ci.example.com/?…");
    expect(auditUrl("https://api.github.com/repos/acme/prompts/dispatches")).toBe(
      "https://api.github.com/repos/…",
    );
  });

  it("the audit log, readable by publishers, never shows a webhook URL's credentials", async () => {
    const project = "wh-sec-audit";
    const key = await bootstrapAdmin(project);
    const auth = { authorization: `Bearer ${key}` };
    const secretUrl = "https://hooks.example.com/services/T000/B000/SECRET?token=abc";
    const created = await api("POST", `/projects/${project}/webhooks`, { url: secretUrl }, auth);
    expect(created.status).toBe(201);
    const { webhook } = await json(created);
    const patched = await api(
      "PATCH",
      `/projects/${project}/webhooks/${webhook.id}`,
      { url: "https://hooks.example.com/services/T000/B000/OTHERSECRET?token=def" },
      auth,
    );
    expect(patched.status).toBe(200);
    const deleted = await api(
      "DELETE",
      `/projects/${project}/webhooks/${webhook.id}`,
      undefined,
      auth,
    );
    expect(deleted.status).toBe(204);

    const publisher = await keyFor("publisher", project, key);
    const audit = await api("GET", `/projects/${project}/audit`, undefined, {
      authorization: `Bearer ${publisher}`,
    });
    expect(audit.status).toBe(200);
    const page = await json<{ items: { action: string; before: unknown; after: unknown }[] }>(
      audit,
    );
    const rows = page.items.filter((row) => row.action.startsWith("webhook."));
    expect(rows.map((row) => row.action).sort()).toEqual([
      "webhook.create",
      "webhook.delete",
      "webhook.update",
    ]);
    const text = JSON.stringify(rows);
    for (const leak of ["SECRET", "token=abc", "token=def", "T000"]) {
      expect(text).not.toContain(leak);
    }
    expect(text).toContain("https://hooks.example.com/services/…?…");
  });

  it("the bootstrap token alone cannot manage webhooks", async () => {
    const response = await api("GET", "/projects/default/webhooks", undefined, {
      authorization: `Bearer ${env.ADMIN_BOOTSTRAP_TOKEN}`,
    });
    expect(response.status).toBe(403);
  });
});

describe("receiver responses are never shown raw", () => {
  it("keeps a short excerpt without markup, control characters or credentials", async () => {
    const body = `<html><script>alert(1)</script><b>Error</b>\u0000\u001b[31m token=abc123 whsec_AAAABBBB ${"x".repeat(5000)}</html>`;
    const excerpt = await responseExcerpt(new Response(body));
    expect(excerpt).not.toMatch(/[<>]/);
    expect([...(excerpt ?? "")].some((char) => char.charCodeAt(0) < 0x20)).toBe(false);
    expect(excerpt).not.toContain("abc123");
    expect(excerpt).not.toContain("AAAABBBB");
    expect(excerpt?.length).toBeLessThanOrEqual(201);
  });
});

async function waitForDelivery(eventId: string) {
  for (let i = 0; i < 100; i++) {
    const row = await db.query.webhookDeliveries.findFirst({
      where: (d, { eq }) => eq(d.eventId, eventId),
    });
    if (row) return row;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no delivery for ${eventId}`);
}
