import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { adminKey, api, createTextPrompt, enc, json, uniqueName } from "./api";

async function expectProblem(response: Response, status: number, field?: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  const body = await json(response);
  expect(body).toMatchObject({ status, type: expect.any(String), title: expect.any(String) });
  expect(body.requestId).toMatch(/^req_/);
  expect(JSON.stringify(body)).not.toMatch(/SQLITE|stack|at \w+ \(/);
  if (field) expect(body.errors.map((e: { field: string }) => e.field)).toContain(field);
  return body;
}

describe("authentication", () => {
  it("refuses a missing or wrong admin token with 401 problem+json", async () => {
    await expectProblem(await api("GET", "/projects", undefined, { authorization: "" }), 401);
    await expectProblem(
      await api("GET", "/projects", undefined, { authorization: "Bearer nope" }),
      401,
    );
  });
});

describe("bad input gets a clear error and writes nothing", () => {
  const badNames = [
    "",
    ".",
    "..",
    "a//b",
    "/a",
    "a/",
    "a|b",
    "a@b",
    "a\u0001b",
    " a",
    "x".repeat(129),
  ];
  for (const name of badNames) {
    it(`refuses the prompt name ${JSON.stringify(name.length > 20 ? `${name.slice(0, 10)}…` : name)}`, async () => {
      await expectProblem(
        await api("POST", "/projects/default/prompts", { name, version: { prompt: "x" } }),
        422,
        "body.name",
      );
    });
  }

  it("refuses bad label names and the reserved latest label", async () => {
    const name = await createTextPrompt("x");
    const base = `/projects/default/prompts/${enc(name)}/labels`;
    await expectProblem(await api("PUT", `${base}/latest`, { version: 1 }), 422, "path.label");
    await expectProblem(await api("PUT", `${base}/Production`, { version: 1 }), 422, "path.label");
    await expectProblem(
      await api("PUT", `${base}/${"l".repeat(65)}`, { version: 1 }),
      422,
      "path.label",
    );
    await expectProblem(
      await api("POST", `/projects/default/prompts/${enc(name)}/versions`, {
        prompt: "y",
        labels: ["latest"],
      }),
      422,
      "body.labels.0",
    );
  });

  for (const variable of ["__proto__", "constructor", "1abc"]) {
    it(`refuses the variable name ${variable}`, async () => {
      const name = uniqueName();
      const body = await expectProblem(
        await api("POST", "/projects/default/prompts", {
          name,
          version: { prompt: `Hi {{${variable}}}` },
        }),
        422,
        "body.prompt",
      );
      expect(body.errors[0].message).toContain(variable);
      expect((await api("GET", `/projects/default/prompts/${enc(name)}`)).status).toBe(404);
    });
  }

  it("refuses templates that do not parse or use partials, naming the chat message", async () => {
    await expectProblem(
      await api("POST", "/projects/default/prompts", {
        name: uniqueName(),
        version: { prompt: "{{#a}}open" },
      }),
      422,
      "body.prompt",
    );
    await expectProblem(
      await api("POST", "/projects/default/prompts", {
        name: uniqueName(),
        version: {
          prompt: [
            { role: "system", content: "ok" },
            { role: "user", content: "{{>partial}}" },
          ],
        },
      }),
      422,
      "body.prompt.1.content",
    );
  });

  it("refuses a template over the byte cap built from 4-byte characters", async () => {
    // 20,000 emoji: 20,000 code points but 80,000 UTF-8 bytes, over the 64 KiB cap.
    const body = await expectProblem(
      await api("POST", "/projects/default/prompts", {
        name: uniqueName(),
        version: { prompt: "😀".repeat(20_000) },
      }),
      422,
      "body.prompt",
    );
    expect(body.errors[0].message).toContain("80000 bytes");
  });

  it("refuses unknown JSON keys on mutating routes (strict bodies)", async () => {
    await expectProblem(
      await api("POST", "/projects/default/prompts", {
        name: uniqueName(),
        type: "text",
        colour: "red",
      }),
      422,
    );
    const name = await createTextPrompt("x");
    await expectProblem(
      await api("PUT", `/projects/default/prompts/${enc(name)}/labels/production`, {
        version: 1,
        force: true,
      }),
      422,
    );
  });

  it("answers malformed JSON with 400, a wrong content type with 415, an empty body with 400", async () => {
    const url = "http://admin.test/api/v1/projects/default/prompts";
    const headers = { authorization: `Bearer ${await adminKey()}` };
    await expectProblem(
      await exports.default.fetch(url, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: '{"name": ',
      }),
      400,
    );
    await expectProblem(
      await exports.default.fetch(url, {
        method: "POST",
        headers: { ...headers, "content-type": "text/plain" },
        body: "name=x",
      }),
      415,
    );
    // No body does not parse as JSON either: the documented 400 "Malformed request".
    await expectProblem(
      await exports.default.fetch(url, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
      }),
      400,
    );
  });

  it("refuses a body over the cap with 413 before parsing it", async () => {
    const response = await exports.default.fetch(
      "http://admin.test/api/v1/projects/default/prompts",
      {
        method: "POST",
        headers: {
          authorization: `Bearer ${await adminKey()}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ name: "big", version: { prompt: "x".repeat(300_000) } }),
      },
    );
    await expectProblem(response, 413);
  });

  it("answers unknown prompts, versions and projects with 404 problems", async () => {
    await expectProblem(await api("GET", "/projects/default/prompts/nope%2Fnothing"), 404);
    await expectProblem(await api("GET", "/projects/nope/prompts"), 404);
    const name = await createTextPrompt("x");
    await expectProblem(await api("GET", `/projects/default/prompts/${enc(name)}/versions/7`), 404);
    await expectProblem(await api("GET", "/no/such/route"), 404);
  });

  it("refuses a duplicate prompt name with 409", async () => {
    const name = await createTextPrompt("x");
    await expectProblem(
      await api("POST", "/projects/default/prompts", { name, type: "text" }),
      409,
    );
  });

  it("does not coerce JSON body values: a boolean or an array is not a version", async () => {
    const name = await createTextPrompt("x");
    const path = `/projects/default/prompts/${enc(name)}/labels/staging`;
    await expectProblem(await api("PUT", path, { version: true }), 422, "body.version");
    await expectProblem(await api("PUT", path, { version: [1] }), 422, "body.version");
    await expectProblem(await api("PUT", path, { version: "1" }), 422, "body.version");
    expect((await api("GET", `/projects/default/prompts/${enc(name)}/labels`)).status).toBe(200);
    const labels = await json(await api("GET", `/projects/default/prompts/${enc(name)}/labels`));
    expect(labels.items.map((l: { name: string }) => l.name)).toEqual(["latest"]);
  });

  it("stores key expiry in UTC and refuses one in the past", async () => {
    const inTwoHours = new Date(Date.now() + 2 * 3600_000);
    // The same instant written as wall-clock time in UTC+05:00.
    const withOffset = `${new Date(inTwoHours.getTime() + 5 * 3600_000).toISOString().slice(0, 19)}+05:00`;
    const created = await api("POST", "/projects/default/keys", {
      name: "tz",
      role: "reader",
      expiresAt: withOffset,
    });
    expect(created.status).toBe(201);
    const { key } = await json(created);
    expect(key.expiresAt).toMatch(/Z$/);
    expect(Math.abs(Date.parse(key.expiresAt) - Date.parse(withOffset))).toBeLessThan(1000);
    await expectProblem(
      await api("POST", "/projects/default/keys", {
        name: "old",
        role: "reader",
        expiresAt: "2020-01-01T00:00:00Z",
      }),
      422,
      "body.expiresAt",
    );
  });
});
