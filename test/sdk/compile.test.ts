/**
 * compile() renders with the edge's own code, so it keeps the edge's promise: a render never
 * changes the prompt it came from (the client cache hands the same object to every caller).
 */
import { describe, expect, it } from "vitest";
import { CuecardClient, type ResolvedPrompt } from "../../sdk/src/index";

const resolved: ResolvedPrompt = {
  name: "report/rows",
  type: "text",
  version: 1,
  label: "production",
  prompt: "{{#rows}}[{{pop}}]{{/rows}}",
  config: {},
  variables: [
    {
      name: "rows",
      type: "list",
      required: false,
      default: [
        [1, 2, 3],
        [4, 5, 6],
      ],
    },
  ],
  hash: "sha256:rows",
};

describe("compile()", () => {
  it("renders the same every time from a cached prompt; defaults and given values stay as they were", async () => {
    const client = new CuecardClient({
      edgeUrl: "https://edge.test/",
      apiKey: "cc_reader_test",
      ttlMs: 60_000,
      fetch: async () =>
        new Response(JSON.stringify(resolved), {
          headers: { "content-type": "application/json", etag: '"sha256:rows"' },
        }),
    });
    const outputs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const prompt = await client.getPrompt("report/rows");
      outputs.push(prompt.compile() as string);
    }
    expect(outputs).toEqual(["[][]", "[][]", "[][]"]);
    const prompt = await client.getPrompt("report/rows");
    expect(prompt.variables[0]?.default).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const given = { rows: [["a", "b"]] };
    expect(prompt.compile(given)).toBe("[]");
    expect(given).toEqual({ rows: [["a", "b"]] });
  });
});
