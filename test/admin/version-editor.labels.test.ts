import { describe, expect, it } from "vitest";
import { api, createTextPrompt, enc, json, uiSession } from "./api";

/**
 * The version editor's "set label on save", as a browser posts it: a label is picked from the
 * offered ones, and a new one is created only through the explicit "New label…" choice.
 */

const save = (fields: Record<string, string>) => ({
  intent: "save",
  prompt: "Hi {{customer}}, welcome back.",
  config: "{}",
  commitMessage: "Warmer",
  ...fields,
});

async function labelsOf(name: string): Promise<Record<string, number>> {
  const body = await json(await api("GET", `/projects/default/prompts/${enc(name)}/labels`));
  return Object.fromEntries(
    (body.items as { name: string; version: number }[]).map((l) => [l.name, l.version]),
  );
}

describe("the version editor's label picker", () => {
  it("offers the project's labels, no label first, and a new one only through “New label…”", async () => {
    const name = await createTextPrompt("Hello {{customer}}", ["production"]);
    const html = await (await (await uiSession()).get(`/prompts/${enc(name)}/versions/new`)).text();
    const select = /<select[^>]*name="label"[^>]*>([\s\S]*?)<\/select>/.exec(html)?.[1] ?? "";
    const options = [...select.matchAll(/<option value="([^"]*)"[^>]*>([^<]*)</g)].map((m) => [
      m[1],
      m[2],
    ]);
    expect(options[0]).toEqual(["", "No label"]);
    expect(options.at(-1)).toEqual(["+new", "New label…"]);
    expect(options.map((o) => o[0])).toContain("production");
    expect(options.map((o) => o[0])).not.toContain("latest");
    expect(html).toContain('name="newLabel"');
  });

  it("refuses “New label…” with no name, keeps the draft and writes nothing", async () => {
    const name = await createTextPrompt("Hello {{customer}}", ["production"]);
    const response = await (await uiSession()).post(
      `/prompts/${enc(name)}/versions/new`,
      save({ label: "+new", newLabel: "" }),
    );
    expect(response.status).toBe(422);
    const html = await response.text();
    expect(html).toContain("Name the new label, or choose one from the list.");
    expect(html).toContain("Hi {{customer}}, welcome back.");
    const versions = await json(
      await api("GET", `/projects/default/prompts/${enc(name)}/versions`),
    );
    expect(versions.items).toHaveLength(1);
  });

  it("moves a picked label, or creates the named new one, with the saved version", async () => {
    const name = await createTextPrompt("Hello {{customer}}", ["production"]);
    const client = await uiSession();
    expect(
      (await client.post(`/prompts/${enc(name)}/versions/new`, save({ label: "production" })))
        .status,
    ).toBe(303);
    expect(
      (
        await client.post(
          `/prompts/${enc(name)}/versions/new`,
          save({ label: "+new", newLabel: "beta-2" }),
        )
      ).status,
    ).toBe(303);
    expect(
      (await client.post(`/prompts/${enc(name)}/versions/new`, save({ label: "" }))).status,
    ).toBe(303);
    expect(await labelsOf(name)).toEqual({ production: 2, "beta-2": 3, latest: 4 });
  });

  it("names what is wrong with an invalid new label, next to its field", async () => {
    const name = await createTextPrompt("Hello {{customer}}", ["production"]);
    const response = await (await uiSession()).post(
      `/prompts/${enc(name)}/versions/new`,
      save({ label: "+new", newLabel: "Not A Label!" }),
    );
    expect(response.status).toBe(422);
    const html = await response.text();
    expect(html).toMatch(/id="newLabel-error"[^>]*>[^<]+/);
    expect(html).toContain('value="Not A Label!"');
    expect(await labelsOf(name)).toEqual({ production: 1, latest: 1 });
  });
});
