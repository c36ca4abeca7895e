import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { api, json, keyFor } from "./api";

const origin = "http://admin.test";
let editorKey: string;
let readerKey: string;
beforeAll(async () => {
  editorKey = await keyFor("editor");
  readerKey = await keyFor("reader");
});

let addresses = 0;
/** A client address of its own, so each test has its own failed-attempt budget. */
const newAddress = () => `203.0.113.${++addresses}`;

function signInForm(key: string, next?: string, address = newAddress()) {
  const body = new URLSearchParams({ key, ...(next === undefined ? {} : { next }) });
  return exports.default.fetch(`${origin}/sign-in`, {
    method: "POST",
    redirect: "manual",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      origin,
      "cf-connecting-ip": address,
    },
    body,
  });
}

function signInApi(key: string, address: string) {
  return exports.default.fetch(`${origin}/api/v1/session`, {
    method: "POST",
    headers: { "content-type": "application/json", origin, "cf-connecting-ip": address },
    body: JSON.stringify({ key }),
  });
}

async function sessionCount(): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM sessions").first<{ n: number }>();
  return row?.n ?? 0;
}

async function failedSignIns(address: string) {
  const { results } = await env.DB.prepare(
    "SELECT * FROM audit_log WHERE action = 'session.sign_in_failed' AND target = ?",
  )
    .bind(address)
    .all<Record<string, unknown>>();
  return results;
}

describe("where sign-in sends you next", () => {
  // Browsers drop tabs and newlines from URLs and read `\` as `/`: each of these is another site.
  for (const next of [
    "/\t/example.com",
    "/\n/example.com",
    "/\r\n/example.com",
    "/\\example.com",
    "/\\/example.com",
    "//example.com",
    "/\t\\example.com",
    "https://example.com/",
    "http:example.com",
    "javascript:alert(1)",
    "/\u0000/x",
    "/ok\u007f",
    "",
  ]) {
    it(`${JSON.stringify(next)} → /`, async () => {
      const before = await sessionCount();
      const response = await signInForm(editorKey, next);
      expect(response.status).toBe(303);
      expect(response.headers.get("location")).toBe("/");
      expect(await sessionCount()).toBe(before + 1);
    });
  }

  for (const [next, location] of [
    ["/prompts?tag=a#versions", "/prompts?tag=a#versions"],
    ["/prompts/support%2Ftriage", "/prompts/support%2Ftriage"],
    ["/prompts/é", "/prompts/%C3%A9"],
    ["/a b", "/a%20b"],
  ] as const) {
    it(`${JSON.stringify(next)} → ${location}, on this site`, async () => {
      const response = await signInForm(editorKey, next);
      expect(response.status).toBe(303);
      expect(response.headers.get("location")).toBe(location);
    });
  }

  it("the sign-in page carries only a safe next in its form", async () => {
    const page = await exports.default.fetch(`${origin}/sign-in?next=%2F%09%2Fexample.com`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('name="next" value="/"');
    expect(html).not.toContain("example.com");
  });

  it("a refused sign-in writes no session", async () => {
    const before = await sessionCount();
    expect((await signInForm("cc_editor_notarealkeynotarealkeynotarealke", "/x")).status).toBe(401);
    expect((await signInForm(readerKey, "/x")).status).toBe(403);
    expect(await sessionCount()).toBe(before);
  });
});

describe("failed sign-ins", () => {
  const wrongKey = "cc_admin_00000000000000000000000000000000";

  it("are audited with the client address, never the key tried", async () => {
    const address = newAddress();
    expect((await signInForm(wrongKey, "/", address)).status).toBe(401);
    expect((await signInApi(readerKey, address)).status).toBe(403);
    const rows = await failedSignIns(address);
    expect(rows).toHaveLength(2);
    expect(JSON.stringify(rows)).not.toContain(wrongKey);
    expect(JSON.stringify(rows)).not.toContain(readerKey);
    expect(rows.map((row) => JSON.parse(String(row.after)).via).sort()).toEqual(["api", "ui"]);
    // The reader key exists: its refusal is recorded in its project, visible to its admins.
    const audit = await json(
      await api("GET", "/projects/default/audit?action=session.sign_in_failed&limit=200"),
    );
    expect(
      audit.items.some(
        (item: { target: string; actorRole: string }) =>
          item.target === address && item.actorRole === "reader",
      ),
    ).toBe(true);
  });

  it("past 10 a minute from one address are answered 429 with Retry-After, and not written", async () => {
    const address = newAddress();
    for (let attempt = 1; attempt <= 10; attempt++) {
      const response = await (attempt % 2
        ? signInForm(wrongKey, "/", address)
        : signInApi(wrongKey, address));
      expect(response.status, `attempt ${attempt}`).toBe(401);
    }
    const sessionsBefore = await sessionCount();
    const limited = await signInApi(wrongKey, address);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("content-type")).toBe("application/problem+json");
    expect(limited.headers.get("retry-after")).toBe("60");
    const problem = await json(limited);
    expect(problem).toMatchObject({ status: 429, code: "rate_limited" });
    expect(problem.detail).toMatch(/wait 60 seconds/i);

    const form = await signInForm(wrongKey, "/", address);
    expect(form.status).toBe(429);
    expect(form.headers.get("retry-after")).toBe("60");
    expect(await form.text()).toContain("Too many failed keys");

    expect(await failedSignIns(address)).toHaveLength(10);
    expect(await sessionCount()).toBe(sessionsBefore);

    // Another address has its own budget.
    expect((await signInApi(wrongKey, newAddress())).status).toBe(401);
  });

  it("wrong API keys and bootstrap tokens share the budget; a working key is never limited", async () => {
    const address = newAddress();
    const asKey = (key: string) =>
      exports.default.fetch(`${origin}/api/v1/projects`, {
        headers: { authorization: `Bearer ${key}`, "cf-connecting-ip": address },
      });
    for (let attempt = 1; attempt <= 5; attempt++) {
      expect((await asKey(wrongKey)).status).toBe(401);
      expect((await asKey("cc_admin_short")).status).toBe(401);
    }
    const limited = await asKey(wrongKey);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    const bootstrap = await exports.default.fetch(`${origin}/api/v1/bootstrap`, {
      method: "POST",
      headers: {
        authorization: "Bearer wrong",
        "content-type": "application/json",
        "cf-connecting-ip": address,
      },
      body: JSON.stringify({ project: "guessed" }),
    });
    expect(bootstrap.status).toBe(429);
    expect((await asKey(editorKey)).status).toBe(200);
  });
});
