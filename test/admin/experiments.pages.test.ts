import { describe, expect, it } from "vitest";
import { addVersion, api, createTextPrompt, enc, json, uiSession } from "./api";

/**
 * The experiments pages, as a browser posts to them: the form's percentages reach the API as
 * fractions, the API's refusals come back next to the fields they name (with the focus on the
 * first), and the state buttons call the same verbs with the same rules.
 */

async function prompt() {
  const name = await createTextPrompt("Hello {{customer}}", ["production"]);
  await addVersion(name, "Hi there {{customer}}!");
  return name;
}

let keys = 0;
const form = (overrides: Record<string, string> = {}) => ({
  intent: "create",
  key: `page-${++keys}-${Math.random().toString(36).slice(2, 7)}`,
  description: "",
  unit: "user id",
  label: "production",
  controlKey: "control",
  controlWeight: "33.3",
  variantCount: "2",
  "variant-0-key": "warm",
  "variant-0-version": "2",
  "variant-0-weight": "33.3",
  "variant-1-key": "plain",
  "variant-1-version": "1",
  "variant-1-weight": "33.4",
  coverage: "90",
  primaryKind: "conversion",
  primaryName: "resolved",
  "guardrail-0-kind": "",
  "guardrail-1-kind": "latency_p95",
  "guardrail-1-max": "10",
  ...overrides,
});

/** The opening tag of the element with this id. */
const tagOf = (html: string, id: string) =>
  new RegExp(`<[a-z]+[^>]*id="${id}"[^>]*>`).exec(html)?.[0] ?? "";

describe("the new-experiment form", () => {
  it("sends percentages as fractions and skips guardrail rows left on none", async () => {
    const name = await prompt();
    const response = await (await uiSession()).post(`/prompts/${enc(name)}/experiments`, form());
    expect(response.status).toBe(303);
    const id = /experiments\/(exp_[0-9a-f]{20})\?created=1$/.exec(
      response.headers.get("location") ?? "",
    )?.[1];
    const experiment = await json(await api("GET", `/projects/default/experiments/${id}`));
    expect(experiment).toMatchObject({
      prompt: name,
      state: "draft",
      control: { key: "control", weight: 0.333 },
      variants: [
        { key: "warm", version: 2, weight: 0.333 },
        { key: "plain", version: 1, weight: 0.334 },
      ],
      coverage: 0.9,
      metrics: {
        primary: { kind: "conversion", name: "resolved" },
        guardrails: [{ metric: { kind: "latency_p95" }, maxRegressionPct: 10 }],
      },
    });
  });

  it("puts the API's refusals next to their fields, in percentages, with the focus on the first", async () => {
    const name = await prompt();
    const admin = await uiSession();
    const response = await admin.post(
      `/prompts/${enc(name)}/experiments`,
      form({ key: "Not A Key", "variant-1-key": "control", coverage: "150" }),
    );
    expect(response.status).toBe(422);
    const html = await response.text();
    expect(html).toMatch(
      /role="alert"[^>]*>The experiment was not created: 3 fields need attention/,
    );
    expect(tagOf(html, "key")).toContain("autofocus");
    expect(tagOf(html, "key")).toContain('aria-invalid="true"');
    expect(tagOf(html, "key")).toContain('aria-describedby="key-hint key-error"');
    expect(html).toMatch(/id="variant-1-key-error">&#39;control&#39; is used by another arm/);
    expect(html).toContain('id="coverage-error">must be more than 0 % and at most 100 %');
    // Only the first field with an error takes the focus.
    expect(html.match(/autofocus/g)).toHaveLength(1);
    // As typed, not reset.
    expect(tagOf(html, "coverage")).toContain('value="150"');

    // A version the prompt does not have (a forged select) is named at its row.
    const forged = await admin.post(
      `/prompts/${enc(name)}/experiments`,
      form({ "variant-0-version": "99" }),
    );
    expect(forged.status).toBe(422);
    const forgedHtml = await forged.text();
    expect(forgedHtml).toMatch(
      /id="variant-0-version-error">prompt &#39;[^&]+&#39; has no version 99/,
    );
    expect(tagOf(forgedHtml, "variant-0-version")).toContain("autofocus");

    // A sum that is not 100 % is said in percentages, at the control's weight.
    const sum = await admin.post(
      `/prompts/${enc(name)}/experiments`,
      form({ controlWeight: "40" }),
    );
    expect(sum.status).toBe(422);
    const sumHtml = await sum.text();
    expect(sumHtml).toContain(
      'id="weights-error">The weights, control included, must add up to 100 %; they add up to 106.7 %.',
    );
    expect(tagOf(sumHtml, "controlWeight")).toContain("autofocus");
    expect(tagOf(sumHtml, "controlWeight")).toContain('aria-describedby="weights-error"');

    const list = await json(await api("GET", `/projects/default/experiments?prompt=${enc(name)}`));
    expect(list.items).toEqual([]);
  });

  it("says a percentage that is not a number without asking the API", async () => {
    const name = await prompt();
    const response = await (await uiSession()).post(
      `/prompts/${enc(name)}/experiments`,
      form({ "variant-1-weight": "a third" }),
    );
    expect(response.status).toBe(422);
    const html = await response.text();
    expect(html).toContain('id="variant-1-weight-error">must be a percentage, e.g. 50');
    expect(tagOf(html, "variant-1-weight")).toContain("autofocus");
  });

  it("adds a variant row without creating anything", async () => {
    const name = await prompt();
    const response = await (await uiSession()).post(
      `/prompts/${enc(name)}/experiments`,
      form({ intent: "add-variant" }),
    );
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('id="variant-2-key"');
    expect(html).toContain('name="variantCount" value="3"');
    const list = await json(await api("GET", `/projects/default/experiments?prompt=${enc(name)}`));
    expect(list.items).toEqual([]);
  });
});

describe("the experiment page's state changes", () => {
  it("start, then stop promoting a variant: the label moves as the page said", async () => {
    const name = await prompt();
    const admin = await uiSession();
    const created = await admin.post(`/prompts/${enc(name)}/experiments`, form());
    const path = (created.headers.get("location") ?? "").replace(/\?.*$/, "");
    const draft = await (await admin.get(path)).text();
    expect(draft).toContain("Start experiment");

    expect((await admin.post(`${path}/start`, {})).status).toBe(303);
    const running = await (await admin.get(path)).text();
    expect(running).toContain("Promote warm: production moves from v1 to v2");
    expect(running).toContain("Stop without promoting: production keeps serving v1");

    const refused = await admin.post(`${path}/stop`, { promote: "nobody" });
    expect(refused.status).toBe(422);
    expect(await refused.text()).toMatch(/role="alert"[^>]*>[^<]*has no arm &#39;nobody&#39;/);

    const stopped = await admin.post(`${path}/stop`, { promote: "warm" });
    expect(stopped.status).toBe(303);
    expect(stopped.headers.get("location")).toMatch(/\?done=stop$/);
    const { labels } = await json(await api("GET", `/projects/default/prompts/${enc(name)}`));
    expect(labels.find((label: { name: string }) => label.name === "production").version).toBe(2);
  });

  it("an editor's start of a production experiment is refused by the verb, even posted by hand", async () => {
    const name = await prompt();
    const editor = await uiSession("editor");
    const created = await editor.post(`/prompts/${enc(name)}/experiments`, form());
    expect(created.status).toBe(303);
    const path = (created.headers.get("location") ?? "").replace(/\?.*$/, "");
    expect(await (await editor.get(path)).text()).not.toContain("Start experiment");
    const started = await editor.post(`${path}/start`, {});
    expect(started.status).toBe(403);
    expect(
      (await json(await api("GET", `/projects/default/experiments/${path.split("/").pop()}`)))
        .state,
    ).toBe("draft");
  });

  it("an experiment is found only under its own prompt", async () => {
    const name = await prompt();
    const other = await prompt();
    const admin = await uiSession();
    const created = await admin.post(`/prompts/${enc(name)}/experiments`, form());
    const id = (created.headers.get("location") ?? "").match(/exp_[0-9a-f]{20}/)?.[0];
    expect((await admin.get(`/prompts/${enc(other)}/experiments/${id}`)).status).toBe(404);
    expect((await admin.get(`/prompts/${enc(name)}/experiments/not-an-id`)).status).toBe(404);
  });
});
