import { env } from "cloudflare:workers";
import type { LabelPointer, VersionRecord } from "@cuecard/core/kv-records";
import { asc } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../workers/platform/db/client";
import { outbox } from "../../workers/platform/db/schema";
import { api, enc, json, uiSession, uniqueName } from "./api";

/**
 * Prompt references: a version includes another prompt by label or version with Langfuse's tag.
 * Resolved when published (KV holds the resolved content), checked when saved and when a label
 * moves, and the prompts that include a label republished and announced when it moves.
 */

const db = openDatabase(env.DB);
const tag = (name: string, selector: string) => `@@@langfusePrompt:name=${name}|${selector}@@@`;

async function create(template: string, labels: string[] = ["production"], prefix = "ref/p") {
  const name = uniqueName(prefix);
  const response = await api("POST", "/projects/default/prompts", {
    name,
    version: { prompt: template, labels },
  });
  return { name, response };
}

async function created(template: string, labels?: string[]) {
  const { name, response } = await create(template, labels);
  if (response.status !== 201) throw new Error(await response.text());
  return name;
}

const save = (name: string, template: string, labels: string[] = []) =>
  api("POST", `/projects/default/prompts/${enc(name)}/versions`, { prompt: template, labels });

const move = (name: string, label: string, version: number) =>
  api("PUT", `/projects/default/prompts/${enc(name)}/labels/${label}`, { version });

const pointer = (name: string, label: string) =>
  env.PROMPTS_KV.get<LabelPointer>(`p/default/${name}@${label}`, "json");

const versionKey = (name: string, version: number) =>
  env.PROMPTS_KV.get<VersionRecord>(`v/default/${name}#${version}`, "json");

async function problemOf(response: Response) {
  const body = await json<{ errors?: { field: string; message: string }[]; detail?: string }>(
    response,
  );
  return { status: response.status, message: body.errors?.[0]?.message ?? body.detail ?? "" };
}

describe("a version that includes another prompt", () => {
  it("is published resolved, with its graph, variables and a hash of what it serves", async () => {
    const tone = await created("Be kind to {{customer}}.");
    const support = await created(`${tag(tone, "label=production")} Answer: {{question}}`);

    const published = await pointer(support, "production");
    const served = published?.versions[0];
    expect(served?.prompt).toBe("Be kind to {{customer}}. Answer: {{question}}");
    expect(served?.variables.map((v) => v.name)).toEqual(["customer", "question"]);
    expect(served?.resolution).toEqual({
      authored: `${tag(tone, "label=production")} Answer: {{question}}`,
      graph: {
        root: { name: support, version: 1 },
        dependencies: { [`${support}#1`]: [{ name: tone, version: 1, label: "production" }] },
      },
      followsLabels: true,
    });
    // The ETag changes with what is served, not only with what was written.
    const stored = await json(
      await api("GET", `/projects/default/prompts/${enc(support)}/versions/1`),
    );
    expect(served?.hash).not.toBe(stored.hash);
    expect(stored.prompt).toBe(`${tag(tone, "label=production")} Answer: {{question}}`);
    expect(stored.resolved).toMatchObject({
      prompt: "Be kind to {{customer}}. Answer: {{question}}",
      followsLabels: true,
    });
    expect((await versionKey(support, 1))?.prompt).toBe(served?.prompt);
  });

  it("follows a pinned version, and chat messages may include text prompts", async () => {
    const rules = await created("Rule one.");
    await save(rules, "Rule two.", ["production"]);
    const chat = uniqueName("ref/chat");
    const response = await api("POST", "/projects/default/prompts", {
      name: chat,
      version: {
        prompt: [
          { role: "system", content: `${tag(rules, "version=1")} Then {{task}}.` },
          { type: "placeholder", name: "history" },
        ],
        labels: ["production"],
      },
    });
    expect(response.status).toBe(201);
    const served = (await pointer(chat, "production"))?.versions[0];
    expect(served?.prompt).toEqual([
      { role: "system", content: "Rule one. Then {{task}}." },
      { type: "placeholder", name: "history" },
    ]);
    expect(served?.resolution?.followsLabels).toBe(false);
  });
});

describe("when an included label moves", () => {
  it("republishes every prompt that includes it, directly or not, and announces each", async () => {
    const tone = await created("Be brief.");
    const support = await created(`${tag(tone, "label=production")} Help.`);
    const outer = await created(`Intro. ${tag(support, "label=production")}`);
    const before = await db.select({ id: outbox.id }).from(outbox).orderBy(asc(outbox.id));
    const lastId = before.at(-1)?.id ?? 0;

    expect((await save(tone, "Be thorough.")).status).toBe(201);
    expect((await move(tone, "production", 2)).status).toBe(200);

    expect((await pointer(support, "production"))?.versions[0]?.prompt).toBe("Be thorough. Help.");
    expect((await versionKey(support, 1))?.prompt).toBe("Be thorough. Help.");
    expect((await pointer(outer, "production"))?.versions[0]?.prompt).toBe(
      "Intro. Be thorough. Help.",
    );
    const announced = (await db.select().from(outbox).orderBy(asc(outbox.id)))
      .filter((row) => row.id > lastId && row.eventType === "prompt.reference.moved")
      .map((row) => row.payload);
    expect(announced).toMatchObject([
      {
        prompt: { name: support, type: "text" },
        versions: [1],
        labels: ["latest", "production"],
        moved: { name: tone, label: "production" },
      },
      {
        prompt: { name: outer, type: "text" },
        versions: [1],
        labels: ["latest", "production"],
        moved: { name: tone, label: "production" },
      },
    ]);
  });
});

describe("when a label included by a running experiment's variant moves", () => {
  it("republishes the label's pointer with the variant resolved anew", async () => {
    const tone = await created("Be brief.");
    const support = await created("Help.");
    expect((await save(support, `${tag(tone, "label=production")} Help.`)).status).toBe(201);
    const experiment = await api("POST", "/projects/default/experiments", {
      prompt: support,
      label: "production",
      key: uniqueName("ref-exp").replaceAll("/", "-"),
      unit: "user id",
      control: { weight: 0.5 },
      variants: [{ key: "toned", version: 2, weight: 0.5 }],
      metrics: { primary: { kind: "conversion", name: "resolved" } },
    });
    expect(experiment.status, await experiment.clone().text()).toBe(201);
    const { id } = await json<{ id: string }>(experiment);
    expect((await api("POST", `/projects/default/experiments/${id}/start`)).status).toBe(200);
    const variantOf = async () =>
      (await pointer(support, "production"))?.versions.find((v) => v.version === 2)?.prompt;
    expect(await variantOf()).toBe("Be brief. Help.");

    expect((await save(tone, "Be thorough.")).status).toBe(201);
    expect((await move(tone, "production", 2)).status).toBe(200);

    // The control (version 1) includes nothing and is unchanged; the variant serves the move.
    expect((await pointer(support, "production"))?.versions[0]?.prompt).toBe("Help.");
    expect(await variantOf()).toBe("Be thorough. Help.");
  });
});

describe("a reference that does not resolve is refused when saved (422), and nothing is written", () => {
  it("names what is missing: a prompt, a label, a version", async () => {
    const tone = await created("Be kind.");
    for (const [template, expected] of [
      [tag("ref/nothing-here", "label=production"), "there is no prompt 'ref/nothing-here'"],
      [tag(tone, "label=staging"), `'${tone}' has no label 'staging'`],
      [tag(tone, "version=9"), `'${tone}' has no version 9`],
    ] as const) {
      const { name, response } = await create(template);
      const problem = await problemOf(response);
      expect(problem.status).toBe(422);
      expect(problem.message).toContain(expected);
      expect(problem.message).toContain(`${name} → `);
      expect((await api("GET", `/projects/default/prompts/${enc(name)}`)).status).toBe(404);
    }
  });

  it("refuses tags it cannot read, chat prompts, and more than five levels", async () => {
    for (const [inner, expected] of [
      ["label=production", "names no prompt"],
      ["name=ref/a|label=production|version=2", "exactly one of label"],
      ["name=ref/a|lable=production", "'lable=production' is not"],
      ["name=ref/a|version=two", "is not a version number"],
    ]) {
      const { response } = await create(`Hi @@@langfusePrompt:${inner}@@@`);
      const problem = await problemOf(response);
      expect(problem.status, inner).toBe(422);
      expect(problem.message).toContain(expected);
    }
    const chat = uniqueName("ref/chat");
    await api("POST", "/projects/default/prompts", {
      name: chat,
      version: { prompt: [{ role: "user", content: "hi" }], labels: ["production"] },
    });
    const chatProblem = await problemOf((await create(tag(chat, "label=production"))).response);
    expect(chatProblem.message).toContain("only text prompts can be included");

    let below = await created("Level zero.");
    for (let level = 1; level <= 5; level++)
      below = await created(`${tag(below, "label=production")}`);
    const tooDeep = await problemOf((await create(tag(below, "label=production"))).response);
    expect(tooDeep.status).toBe(422);
    expect(tooDeep.message).toContain("at most 5 levels deep");
  });

  it("refuses a label move that would close a cycle, naming it", async () => {
    const a = await created("A plain.");
    const b = await created(`B with ${tag(a, "label=production")}`);
    // A version may include what its own prompt's production serves now (version 1)...
    expect((await save(a, `A with ${tag(b, "label=production")}`)).status).toBe(201);
    // ...but production cannot serve it: it would include itself.
    const cycle = await problemOf(await move(a, "production", 2));
    expect(cycle.status).toBe(422);
    expect(cycle.message).toBe(
      `${a} → ${b}@production → ${a}@production: a version cannot include itself, directly or through others`,
    );
    expect((await pointer(a, "production"))?.versions[0]?.version).toBe(1);
    // Saved straight onto the label, the same version is refused and not written.
    const saved = await problemOf(
      await save(a, `A again ${tag(b, "label=production")}`, ["production"]),
    );
    expect(saved.status).toBe(422);
    expect(saved.message).toContain("a version cannot include itself");
    expect((await api("GET", `/projects/default/prompts/${enc(a)}/versions/3`)).status).toBe(404);
  });
});

describe("what others include cannot be taken away", () => {
  it("refuses deleting an included label and archiving an included prompt (409)", async () => {
    const tone = await created("Be kind.", ["production", "staging"]);
    const support = await created(`${tag(tone, "label=staging")} Help.`);
    const deleted = await api("DELETE", `/projects/default/prompts/${enc(tone)}/labels/staging`);
    expect(deleted.status).toBe(409);
    expect((await json(deleted)).detail).toContain(`included by ${support}#1`);
    const archived = await api("PATCH", `/projects/default/prompts/${enc(tone)}`, {
      archived: true,
    });
    expect(archived.status).toBe(409);
    expect((await pointer(support, "production"))?.versions[0]?.prompt).toBe("Be kind. Help.");
    // Another label of it is free to go.
    expect(
      (await api("DELETE", `/projects/default/prompts/${enc(tone)}/labels/production`)).status,
    ).toBe(204);
  });
});

describe("the version page", () => {
  it("shows what a version includes, linked, and the prompt as served", async () => {
    const tone = await created("Be kind to {{customer}}.");
    const support = await created(`${tag(tone, "label=production")} Answer {{question}}`);
    const page = await (await uiSession("editor")).get(
      `/prompts/${enc(support)}/versions/1?preview=1&var.customer=Ada&var.question=Why`,
    );
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<h2 id="includes-title">Includes</h2>');
    expect(html).toContain(`href="/prompts/${enc(tone)}/versions/1"`);
    expect(html).toContain("(its production label)");
    // The preview renders what the edge serves: the included text with its own variable.
    expect(html).toContain("Be kind to Ada. Answer Why");
  });
});
