import { describe, expect, it } from "vitest";
import { edgeFetch, problemOf } from "./edge-client";
import { seedProject, seedPrompt, uniqueName } from "./factories";

describe("GET /v1/prompts/{name} errors", () => {
  it("answers 404 for a prompt that does not exist", async () => {
    const { key } = await seedProject();
    const response = await edgeFetch(`/v1/prompts/${uniqueName("nothing")}`, { key });
    expect(response.status).toBe(404);
    expect((await problemOf(response)).code).toBe("not_found");
  });

  it("answers 404 naming the label when the prompt has no such label", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["x"] });
    const response = await edgeFetch(`/v1/prompts/${seeded.name}?label=canary`, { key });
    expect(response.status).toBe(404);
    expect((await problemOf(response)).detail).toContain("label 'canary'");
  });

  it("answers 404 for a version that was never published", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["x", "y"] });
    const response = await edgeFetch(`/v1/prompts/${seeded.name}?version=3`, { key });
    expect(response.status).toBe(404);
    expect((await problemOf(response)).detail).toContain("version 3");
  });

  it("answers 404 for a prompt without a production label when no label is asked", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["x"], labels: { staging: 1 } });
    const response = await edgeFetch(`/v1/prompts/${seeded.name}`, { key });
    expect(response.status).toBe(404);
  });

  it.each([
    ["dot-dot inside the name", "support%2F..%2Fsecret"],
    ["a leading dot-dot", "..%2Fsecret"],
    ["a '|'", "a%7Cb"],
    ["an '@' (it separates name and label in KV keys)", "a%40b"],
    ["a comma (it separates names in a batch)", "a%2Cb"],
    ["an empty segment", "a%2F%2Fb"],
    ["a leading slash", "%2Fa"],
    ["a trailing slash", "a%2F"],
    ["a control character", "a%00b"],
    ["a leading space", "%20a"],
    ["a '..' segment", "a%2F..%2Fb"],
    ["an over-long name", "a".repeat(129)],
  ])("refuses a name with %s as 422 naming the path field", async (_, segment) => {
    const { key } = await seedProject();
    const response = await edgeFetch(`/v1/prompts/${segment}`, { key });
    expect(response.status).toBe(422);
    const problem = await problemOf(response);
    expect(problem.errors?.[0]?.field).toBe("path.name");
  });

  it("refuses label and version together", async () => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["x"] });
    const response = await edgeFetch(`/v1/prompts/${seeded.name}?label=production&version=1`, {
      key,
    });
    expect(response.status).toBe(422);
    expect((await problemOf(response)).errors?.[0]?.field).toBe("query.version");
  });

  it.each(["0", "-1", "1.5", "abc", "99999999999", ""])("refuses version=%s", async (version) => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["x"] });
    const response = await edgeFetch(`/v1/prompts/${seeded.name}?version=${version}`, { key });
    expect(response.status).toBe(422);
    expect((await problemOf(response)).errors?.[0]?.field).toBe("query.version");
  });

  it.each(["Production", "a b", "x".repeat(65), ""])("refuses label=%s", async (label) => {
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["x"] });
    const response = await edgeFetch(
      `/v1/prompts/${seeded.name}?label=${encodeURIComponent(label)}`,
      { key },
    );
    expect(response.status).toBe(422);
    expect((await problemOf(response)).errors?.[0]?.field).toBe("query.label");
  });

  it("answers unknown routes and methods with a 404 problem", async () => {
    const { key } = await seedProject();
    for (const [method, path] of [
      ["GET", "/v2/prompts/x"],
      ["DELETE", "/v1/prompts/x"],
    ] as const) {
      const response = await edgeFetch(path, { key, method });
      expect(response.status).toBe(404);
      await problemOf(response);
    }
  });
});
