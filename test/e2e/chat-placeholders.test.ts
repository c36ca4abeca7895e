/**
 * A Langfuse-shaped chat prompt end to end over real HTTP: created through the admin API with a
 * name Langfuse allows (upper case, spaces, a folder), a placeholder and an unusual role, then
 * read and rendered at the edge.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startEphemeralPlatform } from "../../scripts/platform";
import { type SeedResult, seedPlatform } from "../../scripts/seed";

const project = "default";

let platform: Platform;
let seeded: SeedResult;
let readKey: string;

beforeAll(async () => {
  platform = await startEphemeralPlatform("e2e-chat");
  seeded = await seedPlatform(platform);
  const created = await adminRequest("POST", `/projects/${project}/keys`, {
    name: "chat reader",
    role: "reader",
  });
  expect(created.status).toBe(201);
  readKey = ((await created.json()) as { secret: string }).secret;
});

afterAll(async () => {
  await platform?.dispose();
});

describe("a chat prompt with a placeholder, through the edge", () => {
  const name = `Support Bots/Order Helper ${randomUUID().slice(0, 8)}`;
  const stored = [
    { role: "system", content: "You help {{company}} customers." },
    { type: "placeholder", name: "history" },
    { role: "tool-result", content: "Lookup: {{lookup}}" },
  ];

  beforeAll(async () => {
    const created = await adminRequest("POST", `/projects/${project}/prompts`, {
      name,
      version: {
        prompt: [
          stored[0],
          stored[1],
          // As Langfuse's SDK sends a message.
          { type: "chatmessage", ...stored[2] },
        ],
        labels: ["production"],
      },
    });
    expect(created.status).toBe(201);
  });

  it("serves it as stored at GET /v1/prompts/{name}", async () => {
    const response = await edge(`/v1/prompts/${encodeURIComponent(name)}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      name,
      type: "chat",
      version: 1,
      label: "production",
      prompt: stored,
      variables: [
        { name: "company", type: "any", required: true },
        { name: "lookup", type: "any", required: true },
      ],
    });
  });

  it("renders it with the placeholder filled by the messages given", async () => {
    const response = await render(name, {
      variables: { company: "Acme", lookup: "order 42 shipped" },
      placeholders: {
        history: [
          { role: "user", content: "Where is my {{order}}?" },
          { role: "assistant", content: "Let me check." },
        ],
      },
    });
    expect(response.status).toBe(200);
    expect((await response.json()).prompt).toEqual([
      { role: "system", content: "You help Acme customers." },
      // Given messages are data: `{{order}}` is not a variable of the prompt.
      { role: "user", content: "Where is my {{order}}?" },
      { role: "assistant", content: "Let me check." },
      { role: "tool-result", content: "Lookup: order 42 shipped" },
    ]);
  });

  it("answers 422 naming an unfilled placeholder, with the missing variables", async () => {
    const response = await render(name, { variables: { company: "Acme" } });
    expect(response.status).toBe(422);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await response.json()) as {
      errors: { field: string }[];
      missingPlaceholders: string[];
      missing: string[];
    };
    expect(problem.errors.map((error) => error.field)).toEqual([
      "body.variables.lookup",
      "body.placeholders.history",
    ]);
    expect(problem.missingPlaceholders).toEqual(["history"]);
    expect(problem.missing).toEqual(["lookup"]);
  });

  it("answers 422 for a placeholder it does not have and for a value that is not messages", async () => {
    const variables = { company: "Acme", lookup: "x" };
    const unknown = await render(name, { variables, placeholders: { history: [], histroy: [] } });
    expect(unknown.status).toBe(422);
    expect(((await unknown.json()) as { errors: { field: string }[] }).errors).toEqual([
      { field: "body.placeholders.histroy", message: "is not a placeholder of version 1" },
    ]);
    const notMessages = await render(name, { variables, placeholders: { history: "Hi" } });
    expect(notMessages.status).toBe(422);
    expect(((await notMessages.json()) as { errors: { field: string }[] }).errors[0]?.field).toBe(
      "body.placeholders.history",
    );
  });
});

async function adminRequest(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${platform.adminUrl}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${seeded.adminKey.secret}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

function edge(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${platform.edgeUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${readKey}`, ...init.headers },
  });
}

function render(name: string, body: unknown): Promise<Response> {
  return edge(`/v1/prompts/${encodeURIComponent(name)}/render`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}
