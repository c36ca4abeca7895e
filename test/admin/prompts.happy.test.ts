import { env } from "cloudflare:workers";
import type { LabelPointer, PublishedVersion } from "@cuecard/core/kv-records";
import { describe, expect, it } from "vitest";
import { addVersion, api, createTextPrompt, enc, json, uniqueName } from "./api";

describe("prompts, versions and labels", () => {
  it("creates a chat prompt with a first version, derived variables and labels", async () => {
    const name = uniqueName("support/triage");
    const response = await api("POST", "/projects/default/prompts", {
      name,
      description: "Routes tickets",
      tags: ["support"],
      version: {
        prompt: [
          { role: "system", content: "You triage tickets for {{company}}." },
          { role: "user", content: "{{#vip}}VIP {{tier}}: {{/vip}}{{ticket}}" },
        ],
        config: { model: "gpt-4o-mini", temperature: 0.1 },
        commitMessage: "initial",
        labels: ["staging"],
      },
    });
    expect(response.status).toBe(201);
    const body = await json(response);
    expect(body.prompt).toMatchObject({ name, type: "chat", latestVersion: 1, tags: ["support"] });
    expect(body.prompt.labels.map((l: { name: string }) => l.name)).toEqual(["latest", "staging"]);
    expect(body.version.variables).toEqual([
      { name: "company", type: "any", required: true },
      { name: "ticket", type: "any", required: true },
      { name: "tier", type: "any", required: false },
      { name: "vip", type: "any", required: true },
    ]);
    expect(body.version.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("numbers versions 1, 2, 3 and moves latest by itself", async () => {
    const name = await createTextPrompt("v1 {{a}}");
    await addVersion(name, "v2 {{a}}");
    const v3 = await addVersion(name, "v3 {{a}}", ["staging"]);
    expect(v3.version).toBe(3);
    expect(v3.labels).toEqual(["latest", "staging"]);
    const list = await json(await api("GET", `/projects/default/prompts/${enc(name)}/versions`));
    expect(list.items.map((v: { version: number }) => v.version)).toEqual([3, 2, 1]);
    const latest = await json(await api("GET", `/projects/default/prompts/${enc(name)}/labels`));
    expect(latest.items.find((l: { name: string }) => l.name === "latest").version).toBe(3);
  });

  it("publishes a promoted version to KV: version key first, pointer embedding it", async () => {
    const name = await createTextPrompt("Hi {{customer}}");
    const move = await api("PUT", `/projects/default/prompts/${enc(name)}/labels/production`, {
      version: 1,
    });
    expect(move.status).toBe(200);
    const pointer = await env.PROMPTS_KV.get<LabelPointer>(`p/default/${name}@production`, "json");
    expect(pointer?.targets).toEqual([{ version: 1, weight: 1 }]);
    expect(pointer?.versions[0]?.prompt).toBe("Hi {{customer}}");
    const version = await env.PROMPTS_KV.get<PublishedVersion>(`v/default/${name}#1`, "json");
    expect(version?.hash).toBe(pointer?.versions[0]?.hash);
  });

  it("rolls a label back one release at a time and records every move", async () => {
    const name = await createTextPrompt("one");
    for (const template of ["two", "three"]) await addVersion(name, template);
    const path = `/projects/default/prompts/${enc(name)}/labels/production`;
    for (const version of [1, 2, 3]) await api("PUT", path, { version });

    const first = await json(await api("POST", `${path}/rollback`, {}));
    expect(first.label.version).toBe(2);
    const second = await json(await api("POST", `${path}/rollback`));
    expect(second.label.version).toBe(1);

    const history = await json(await api("GET", `${path}/history`));
    expect(
      history.items.map((m: { fromVersion: number; toVersion: number; isRollback: boolean }) => [
        m.fromVersion,
        m.toVersion,
        m.isRollback,
      ]),
    ).toEqual([
      [2, 1, true],
      [3, 2, true],
      [2, 3, false],
      [1, 2, false],
      [null, 1, false],
    ]);
    const pointer = await env.PROMPTS_KV.get<LabelPointer>(`p/default/${name}@production`, "json");
    expect(pointer?.targets[0]?.version).toBe(1);
  });

  it("rolls back to a named version and refuses a rollback with nowhere to go", async () => {
    const name = await createTextPrompt("one");
    await addVersion(name, "two");
    const path = `/projects/default/prompts/${enc(name)}/labels/production`;
    await api("PUT", path, { version: 2 });
    const nowhere = await api("POST", `${path}/rollback`, {});
    expect(nowhere.status).toBe(409);
    const named = await json(await api("POST", `${path}/rollback`, { toVersion: 1 }));
    expect(named.label.version).toBe(1);
  });

  it("deletes a label from D1 and from KV", async () => {
    const name = await createTextPrompt("x", ["staging"]);
    const path = `/projects/default/prompts/${enc(name)}/labels/staging`;
    expect(await env.PROMPTS_KV.get(`p/default/${name}@staging`)).not.toBeNull();
    expect((await api("DELETE", path)).status).toBe(204);
    expect(await env.PROMPTS_KV.get(`p/default/${name}@staging`)).toBeNull();
    expect((await api("DELETE", path)).status).toBe(404);
  });

  it("archives a prompt: hidden from lists, withdrawn from the edge, refuses changes; restores", async () => {
    const name = await createTextPrompt("x", ["production"]);
    const path = `/projects/default/prompts/${enc(name)}`;
    expect((await api("DELETE", path)).status).toBe(200);
    expect(await env.PROMPTS_KV.get(`p/default/${name}@production`, "json")).toMatchObject({
      withdrawn: "archived",
    });
    const list = await json(await api("GET", `/projects/default/prompts?q=${enc(name)}`));
    expect(list.items).toEqual([]);
    const refused = await api("POST", `${path}/versions`, { prompt: "y" });
    expect(refused.status).toBe(409);
    expect((await api("PATCH", path, { archived: false })).status).toBe(200);
    expect(await env.PROMPTS_KV.get(`p/default/${name}@production`)).not.toBeNull();
  });

  it("filters the prompt list by name, tag and label", async () => {
    const tag = `t${Math.random().toString(36).slice(2, 8)}`;
    const name = uniqueName("filter/me");
    await api("POST", "/projects/default/prompts", {
      name,
      tags: [tag],
      version: { prompt: "x", labels: ["canary"] },
    });
    const byTag = await json(await api("GET", `/projects/default/prompts?tag=${tag}`));
    expect(byTag.items.map((p: { name: string }) => p.name)).toEqual([name]);
    const byLabel = await json(await api("GET", `/projects/default/prompts?label=canary&q=filter`));
    expect(byLabel.items.map((p: { name: string }) => p.name)).toContain(name);
  });

  it("audits every mutation", async () => {
    const name = await createTextPrompt("x");
    await api("PUT", `/projects/default/prompts/${enc(name)}/labels/production`, { version: 1 });
    const audit = await json(
      await api("GET", `/projects/default/audit?target=${enc(`${name}@production`)}`),
    );
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]).toMatchObject({
      action: "label.move",
      actor: expect.stringMatching(/^key_/),
      actorRole: "admin",
      after: { version: 1 },
    });
    const created = await json(await api("GET", `/projects/default/audit?target=${enc(name)}`));
    expect(created.items[0].action).toBe("prompt.create");
  });

  it("serves its OpenAPI document", async () => {
    const { exports } = await import("cloudflare:workers");
    const doc = await json(await exports.default.fetch("http://admin.test/api/openapi.json"));
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.servers).toEqual([{ url: "/api", description: "This deployment" }]);
    expect(Object.keys(doc.paths)).toContain(
      "/v1/projects/{project}/prompts/{name}/labels/{label}",
    );
  });
});
