/**
 * A playground run inside the admin worker, as the page's script posts it: the answer comes back
 * as server-sent events, the run goes to the telemetry worker over its binding as a generation of
 * the version (with this project's identity, not a credential), and a provider that quotes the
 * API key in its error gets the key into neither the answer nor telemetry.
 */
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { api, createTextPrompt, enc, json, keyFor } from "./api";
import { ECHO_PROVIDER } from "./echo-provider";

const origin = "http://admin.test";
const API_KEY = `sk-admin-test-${crypto.randomUUID()}`;

let name: string;
let author: { post(path: string, form: Record<string, string>): Promise<Response> };

/** A signed-in editor's session, posting forms as the browser does (CSRF token included). */
async function session(role: string) {
  const response = await exports.default.fetch(`${origin}/api/v1/session`, {
    method: "POST",
    headers: { "content-type": "application/json", origin },
    body: JSON.stringify({ key: await keyFor(role) }),
  });
  const { csrfToken } = await json(response);
  const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  return {
    post: (path: string, form: Record<string, string>) =>
      exports.default.fetch(`${origin}${path}`, {
        method: "POST",
        headers: { cookie, origin, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ _csrf: csrfToken, ...form }).toString(),
      }),
  };
}

/** The events of an SSE body, in order. */
function eventsOf(body: string): { event: string; data: any }[] {
  return body
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const lines = block.split("\n");
      const event = lines.find((line) => line.startsWith("event: "))?.slice(7) ?? "message";
      const data = lines.find((line) => line.startsWith("data: "))?.slice(6) ?? "null";
      return { event, data: JSON.parse(data) };
    });
}

async function ingestedFor(prompt: string) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const response = await env.TELEMETRY.fetch(
      `https://telemetry.test/__test/ingested?prompt=${enc(prompt)}`,
    );
    const requests = (await response.json()) as { headers: Record<string, string>; body: string }[];
    if (requests.length > 0 || Date.now() > deadline) return requests;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const streamPath = () => `/prompts/${enc(name)}/versions/1/playground/stream`;

beforeAll(async () => {
  name = await createTextPrompt("Hello {{customer}}");
  author = await session("editor");
});

describe("a run against a provider that refuses the key and quotes it", () => {
  beforeAll(async () => {
    const response = await api("PUT", "/projects/default/model-provider", {
      baseUrl: `${ECHO_PROVIDER}/v1`,
      defaultModel: "gpt-4o-mini",
      apiKey: API_KEY,
    });
    expect(response.status).toBe(200);
  });

  it("streams the 401 as an error the author can act on, with the key redacted", async () => {
    const response = await author.post(streamPath(), { "var.customer": "Ada" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const body = await response.text();
    expect(body).not.toContain(API_KEY);
    const events = eventsOf(body);
    expect(events.map((e) => e.event)).toEqual(["start", "error"]);
    expect(events[0]?.data).toEqual({ type: "start", version: 1, model: "gpt-4o-mini" });
    expect(events[1]?.data).toMatchObject({ type: "error", status: 401 });
    expect(events[1]?.data.message).toContain("HTTP 401 from the model provider");
    expect(events[1]?.data.message).toContain("refused the API key");
    expect(events[1]?.data.message).toContain("Incorrect API key provided: [redacted].");
  });

  it("records the failed run for telemetry as a generation of the version, key redacted", async () => {
    const [request, ...more] = await ingestedFor(name);
    expect(more).toEqual([]);
    // The project is named by the trusted header, as the edge does; no credential is forwarded.
    expect(request?.headers["cuecard-project-id"]).toBe("default");
    expect(request?.headers["cuecard-key-id"]).toMatch(/^playground:key_/);
    expect(request?.headers.authorization).toBeUndefined();
    expect(request?.body).not.toContain(API_KEY);
    const [event] = (JSON.parse(request?.body ?? "{}") as { events: any[] }).events;
    expect(event).toMatchObject({
      type: "generation",
      prompt: { name, version: 1 },
      model: "gpt-4o-mini",
      stream: true,
      error: { status: 401, message: expect.stringContaining("[redacted]") },
    });
  });
});

describe("what a run refuses before calling the provider", () => {
  it("a missing variable: 422, naming it", async () => {
    const response = await author.post(streamPath(), {});
    expect(response.status).toBe(422);
    const [event] = eventsOf(await response.text());
    expect(event?.data).toMatchObject({ type: "error", status: 422 });
    expect(event?.data.message).toContain("customer");
  });

  it("no provider: 409, saying who sets one up", async () => {
    expect((await api("DELETE", "/projects/default/model-provider")).status).toBe(204);
    const response = await author.post(streamPath(), { "var.customer": "Ada" });
    expect(response.status).toBe(409);
    const [event] = eventsOf(await response.text());
    expect(event?.data.message).toContain("no model provider");
  });
});
