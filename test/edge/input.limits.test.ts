import { env } from "cloudflare:workers";
import { renderPrompt } from "@cuecard/core/template";
import { describe, expect, it } from "vitest";
import app from "../../workers/edge/index";
import { problemOf, renderRequest } from "./edge-client";
import { publishedVersion, seedProject, seedPrompt } from "./factories";
import { testExecutionContext } from "./faulty-kv";

/** Renders with the isolate cache on, as production does. */
async function renderCached(path: string, key: string, body: unknown) {
  const { ctx, settle } = testExecutionContext();
  const response = await app.fetch(
    new Request(`https://edge.test${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
    { PROMPTS_KV: env.PROMPTS_KV, ISOLATE_CACHE_TTL_MS: "60000" },
    ctx,
  );
  await settle();
  return response;
}

describe("a render never changes what is cached", () => {
  it("{{pop}} inside a list section of defaults renders the same on every request", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({
      project,
      templates: ["{{#rows}}[{{pop}}]{{/rows}}"],
      declared: {
        rows: {
          default: [
            [1, 2, 3],
            [4, 5, 6],
          ],
        },
      },
    });
    const outputs: string[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await renderCached(`/v1/prompts/${seeded.name}/render`, key, {
        variables: {},
      });
      expect(response.status).toBe(200);
      outputs.push(((await response.json()) as { prompt: string }).prompt);
    }
    // Inherited members (Array.prototype.pop) are not variables: they render as nothing.
    expect(outputs).toEqual(["[][]", "[][]", "[][]", "[][]"]);
  });

  it("no inherited member is called or read, and the given values are left as they were", async () => {
    const version = await publishedVersion(
      "p",
      1,
      "{{#rows}}{{shift}}{{reverse}}{{sort}}{{/rows}}|{{#obj}}{{toString}}{{valueOf}}{{hasOwnProperty}}{{/obj}}|{{#rows}}{{length}}{{/rows}}",
      {
        rows: { default: [[3, 1, 2]] },
        obj: { default: { a: 1 } },
      },
    );
    const specs = structuredClone(version.variables);
    const given = { rows: [[9, 8, 7]] };
    expect(renderPrompt(version.prompt, version.variables, {})).toBe("||3");
    expect(renderPrompt(version.prompt, version.variables, given)).toBe("||3");
    expect(version.variables).toEqual(specs);
    expect(given).toEqual({ rows: [[9, 8, 7]] });
  });

  it("own fields still render, dotted names and a string's length included", () => {
    expect(
      renderPrompt(
        "{{user.name}} {{user.name.length}} {{#items}}{{label}}{{.}}{{/items}} {{#flag}}yes{{/flag}}",
        [
          { name: "user", type: "any", required: true },
          { name: "items", type: "any", required: true },
          { name: "flag", type: "any", required: true },
        ],
        { user: { name: "Ada" }, items: [{ label: "x" }, "y"], flag: true },
      ),
    ).toBe("Ada 3 x[object Object]y yes");
  });
});

describe("strings that are not well-formed Unicode", () => {
  it("a lone surrogate in a render variable is a 422 naming the variable", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["Hi {{customer}}"] });
    const response = await renderRequest(
      `/v1/prompts/${seeded.name}/render`,
      key,
      '{"variables":{"customer":"x\\ud800y"}}',
    );
    expect(response.status).toBe(422);
    const problem = await problemOf(response);
    expect(problem.errors?.[0]?.field).toBe("body.variables.customer");
    expect(problem.errors?.[0]?.message).toMatch(/lone UTF-16 surrogate/);
  });

  it("a render body nested past the body limit is a 422, not a 500", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["Hi {{customer}}"] });
    const deep = `${'{"a":'.repeat(30_000)}1${"}".repeat(30_000)}`;
    const response = await renderRequest(
      `/v1/prompts/${seeded.name}/render`,
      key,
      `{"variables":{"customer":${deep}}}`,
    );
    expect(response.status).toBe(422);
    const problem = await problemOf(response);
    expect(problem.errors?.[0]?.field).toMatch(/^body\.variables\.customer/);
  });
});
