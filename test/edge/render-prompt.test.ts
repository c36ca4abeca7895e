import { describe, expect, it } from "vitest";
import { edgeFetch, problemOf, renderRequest } from "./edge-client";
import { seedProject, seedPrompt } from "./factories";

describe("POST /v1/prompts/{name}/render", () => {
  it("renders a text prompt without escaping HTML", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["Dear {{customer}}, re: {{subject}}"] });

    const response = await renderRequest(`/v1/prompts/${seeded.name}/render`, key, {
      variables: { customer: "Ada & <Bob>", subject: `"quotes" 'and' /slashes/` },
    });

    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(await response.json()).toMatchObject({
      name: seeded.name,
      type: "text",
      version: 1,
      label: "production",
      prompt: `Dear Ada & <Bob>, re: "quotes" 'and' /slashes/`,
    });
  });

  it("renders each message of a chat prompt, with sections", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({
      project,
      templates: [
        [
          { role: "system", content: "You help {{company}}.{{#vip}} Be extra kind.{{/vip}}" },
          { role: "user", content: "{{question}}" },
        ],
      ],
    });

    const response = await renderRequest(`/v1/prompts/${seeded.name}/render`, key, {
      variables: { company: "Acme", vip: true, question: "Where is my order?" },
    });

    expect(await response.json()).toMatchObject({
      type: "chat",
      prompt: [
        { role: "system", content: "You help Acme. Be extra kind." },
        { role: "user", content: "Where is my order?" },
      ],
    });
  });

  it("applies declared defaults to variables not given", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({
      project,
      templates: ["{{greeting}}, {{customer}}"],
      declared: { greeting: { default: "Hello" } },
    });

    const response = await renderRequest(`/v1/prompts/${seeded.name}/render`, key, {
      variables: { customer: "Ada" },
    });

    expect(((await response.json()) as { prompt: string }).prompt).toBe("Hello, Ada");
  });

  it("answers 422 naming the missing and the unknown variables", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["{{customer}} asks about {{order}}"] });

    const response = await renderRequest(`/v1/prompts/${seeded.name}/render`, key, {
      variables: { customer: "Ada", costumer: "typo" },
    });

    expect(response.status).toBe(422);
    const problem = await problemOf(response);
    expect(problem.missing).toEqual(["order"]);
    expect(problem.unknown).toEqual(["costumer"]);
    expect(problem.errors?.map((e) => e.field)).toEqual([
      "body.variables.order",
      "body.variables.costumer",
    ]);
  });

  it("renders a pinned version or another label", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({
      project,
      templates: ["v1 {{x}}", "v2 {{x}}"],
      labels: { production: 2, staging: 1 },
    });
    const path = `/v1/prompts/${seeded.name}/render`;

    const pinned = await renderRequest(path, key, { variables: { x: "!" }, version: 1 });
    expect(await pinned.json()).toMatchObject({ version: 1, label: null, prompt: "v1 !" });
    const staging = await renderRequest(path, key, { variables: { x: "!" }, label: "staging" });
    expect(await staging.json()).toMatchObject({ version: 1, label: "staging" });
  });

  it("renders a null list item as an item without fields, never a 500", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({
      project,
      templates: ["{{#items}}{{label}}{{/items}} {{label}}"],
    });
    const response = await renderRequest(`/v1/prompts/${seeded.name}/render`, key, {
      variables: { items: [null], label: "x" },
    });
    // A name the item lacks is looked up in the enclosing values, as for any other item.
    expect(response.status).toBe(200);
    expect(((await response.json()) as { prompt: string }).prompt).toBe("x x");
  });

  it("answers 404 for an unknown prompt", async () => {
    const { key } = await seedProject();
    const response = await renderRequest("/v1/prompts/nope-render/render", key, { variables: {} });
    expect(response.status).toBe(404);
  });

  it("refuses a wrong content type with 415", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["x"] });
    const response = await renderRequest(
      `/v1/prompts/${seeded.name}/render`,
      key,
      "variables=1",
      "application/x-www-form-urlencoded",
    );
    expect(response.status).toBe(415);
    await problemOf(response);
  });

  it.each([
    ["malformed JSON", "{variables:"],
    ["an empty body", ""],
  ])("refuses %s with 400", async (_, body) => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["x"] });
    const response = await renderRequest(`/v1/prompts/${seeded.name}/render`, key, body);
    expect(response.status).toBe(400);
    expect((await problemOf(response)).code).toBe("invalid_json");
  });

  it("refuses a body over the cap with 413", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["{{x}}"] });
    const response = await renderRequest(`/v1/prompts/${seeded.name}/render`, key, {
      variables: { x: "€".repeat(100_000) },
    });
    expect(response.status).toBe(413);
    await problemOf(response);
  });

  it.each([
    ["an unknown field", { variables: {}, temperature: 1 }, "body.temperature"],
    ["variables that are not an object", { variables: ["a"] }, "body.variables"],
    ["a body that is not an object", [1, 2], "body"],
    ["label and version together", { label: "production", version: 1 }, "body.version"],
    ["a bad label", { label: "Prod" }, "body.label"],
  ])("refuses %s with 422", async (_, body, field) => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["x"] });
    const response = await renderRequest(`/v1/prompts/${seeded.name}/render`, key, body);
    expect(response.status).toBe(422);
    expect((await problemOf(response)).errors?.[0]?.field).toBe(field);
  });

  describe("render limits", () => {
    const list = (length: number, item: unknown = 0) => Array.from({ length }, () => item);
    let nested: unknown = 1;
    for (let level = 0; level < 9; level += 1) nested = [nested];

    it.each([
      [
        "a list of 100,000 items",
        "{{#items}}{{.}}{{/items}}",
        { items: list(100_000) },
        /1000 list items/,
      ],
      [
        "lists totalling over 1,000 items",
        "{{#items}}x{{/items}}",
        { items: [list(600), list(600)] },
        /1000 list items/,
      ],
      ["a value nested 9 deep", "{{#items}}x{{/items}}", { items: nested }, /nested more than 8/],
    ])("refuses %s with 422 naming the variable", async (_, template, variables, detail) => {
      const { project, key } = await seedProject();
      const seeded = await seedPrompt({ project, templates: [template] });
      const response = await renderRequest(`/v1/prompts/${seeded.name}/render`, key, { variables });
      expect(response.status).toBe(422);
      const problem = await problemOf(response);
      expect(problem.code).toBe("validation_failed");
      expect(problem.detail).toMatch(detail);
      expect(problem.errors?.[0]?.field).toBe("body.variables.items");
    });

    it.each([
      ["output over 256 KiB", `{{#items}}${"x".repeat(1_000)}{{/items}}`],
      ["sections nested over the same list", "{{#items}}{{#items}}{{/items}}{{/items}}"],
    ])("refuses %s with 422: rendered prompt too large", async (_, template) => {
      const { project, key } = await seedProject();
      const seeded = await seedPrompt({ project, templates: [template] });
      const response = await renderRequest(`/v1/prompts/${seeded.name}/render`, key, {
        variables: { items: list(1_000, {}) },
      });
      expect(response.status).toBe(422);
      const problem = await problemOf(response);
      expect(problem.detail).toMatch(/rendered prompt too large/);
      expect(problem.errors?.[0]?.field).toBe("body.variables");
    });

    it("counts the output of all chat messages together, and renders just under the limits", async () => {
      const { project, key } = await seedProject();
      const message = { role: "user" as const, content: `{{#items}}${"y".repeat(150)}{{/items}}` };
      const seeded = await seedPrompt({ project, templates: [[message, message]] });
      const path = `/v1/prompts/${seeded.name}/render`;

      const over = await renderRequest(path, key, { variables: { items: list(1_000) } });
      expect(over.status).toBe(422);
      const under = await renderRequest(path, key, { variables: { items: list(800) } });
      expect(under.status).toBe(200);
      const body = (await under.json()) as { prompt: { content: string }[] };
      expect(body.prompt[1]?.content.length).toBe(120_000);
    });
  });

  it("needs a read key", async () => {
    const response = await edgeFetch("/v1/prompts/x/render", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(response.status).toBe(401);
  });
});

describe("POST /v1/prompts/{name}/render with chat placeholders", () => {
  const chat = [
    { role: "system", content: "You help {{company}}." },
    { type: "placeholder" as const, name: "history" },
    { role: "critic", content: "Be brief." },
  ];

  it("fills a placeholder with the messages given, under a name with upper case and spaces", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({
      project,
      name: "Sales Team/Lead Qualifier",
      templates: [chat],
    });

    const got = await edgeFetch(`/v1/prompts/${encodeURIComponent(seeded.name)}`, { key });
    expect(got.status).toBe(200);
    expect(((await got.json()) as { prompt: unknown }).prompt).toEqual(chat);

    const response = await renderRequest(
      `/v1/prompts/${encodeURIComponent(seeded.name)}/render`,
      key,
      {
        variables: { company: "Acme" },
        placeholders: { history: [{ role: "user", content: "Hi {{there}}" }] },
      },
    );
    expect(response.status).toBe(200);
    expect(((await response.json()) as { prompt: unknown }).prompt).toEqual([
      { role: "system", content: "You help Acme." },
      { role: "user", content: "Hi {{there}}" },
      { role: "critic", content: "Be brief." },
    ]);
  });

  it("answers 422 naming an unfilled placeholder", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: [chat] });
    const response = await renderRequest(`/v1/prompts/${seeded.name}/render`, key, {
      variables: { company: "Acme" },
    });
    expect(response.status).toBe(422);
    const problem = await problemOf(response);
    expect(problem.errors).toEqual([
      {
        field: "body.placeholders.history",
        message: "needs a list of messages",
      },
    ]);
  });

  it("refuses placeholders that are not an object of lists", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: [chat] });
    const response = await renderRequest(`/v1/prompts/${seeded.name}/render`, key, {
      variables: { company: "Acme" },
      placeholders: [],
    });
    expect(response.status).toBe(422);
    expect((await problemOf(response)).errors?.[0]?.field).toBe("body.placeholders");
  });
});
