import { env } from "cloudflare:workers";
import { newId } from "@cuecard/core/ids";
import { describe, expect, it } from "vitest";
import { addVersion, api, createTextPrompt, enc, json, uniqueName } from "./api";

/** Follows `nextCursor` (sent as `cursorParam`) from the first page to the last. */
async function walk<T>(path: string, pick: (item: any) => T, cursorParam = "cursor") {
  const pages: T[][] = [];
  let cursor: unknown = null;
  do {
    const separator = path.includes("?") ? "&" : "?";
    const url = cursor === null ? path : `${path}${separator}${cursorParam}=${enc(String(cursor))}`;
    const response = await api("GET", url);
    expect(response.status, url).toBe(200);
    const page = await json<{ items: unknown[]; nextCursor: unknown }>(response);
    pages.push(page.items.map(pick));
    cursor = page.nextCursor;
  } while (cursor !== null && pages.length < 10);
  return pages;
}

describe("lists page by cursor, newest or first name first, without gaps or repeats", () => {
  it("versions, label history and the audit log", async () => {
    const name = await createTextPrompt("one", ["staging"]);
    await addVersion(name, "two", ["staging"]);
    await addVersion(name, "three", ["staging"]);
    const path = `/projects/default/prompts/${enc(name)}`;
    expect(await walk(`${path}/versions?limit=2`, (v) => v.version)).toEqual([[3, 2], [1]]);
    expect(await walk(`${path}/labels/staging/history?limit=2`, (m) => m.toVersion)).toEqual([
      [3, 2],
      [1],
    ]);
    const audit = await walk(
      `/projects/default/audit?target=${enc(name)}&limit=1`,
      (e) => e.action,
    );
    expect(audit).toEqual([["prompt.create"]]);
    const moves = await walk(
      `/projects/default/audit?target=${enc(`${name}@staging`)}&limit=2`,
      (e) => e.after.version,
    );
    expect(moves).toEqual([[3, 2], [1]]);
  });

  it("prompts, by name", async () => {
    const prefix = uniqueName("paging");
    for (const suffix of ["c", "a", "b"]) {
      const response = await api("POST", "/projects/default/prompts", {
        name: `${prefix}/${suffix}`,
        type: "text",
      });
      expect(response.status).toBe(201);
    }
    expect(
      await walk(`/projects/default/prompts?q=${enc(prefix)}&limit=2`, (p) => p.name.slice(-1)),
    ).toEqual([["a", "b"], ["c"]]);
  });

  it("a webhook's deliveries, newest first", async () => {
    const created = await api("POST", "/projects/default/webhooks", {
      url: "https://hooks.example.com/paging",
    });
    const webhookId = (await json(created)).webhook.id as string;
    for (const minute of [1, 3, 2]) {
      const at = `2030-01-01T00:0${minute}:00.000Z`;
      await env.DB.prepare(
        `INSERT INTO webhook_deliveries (id, project_id, endpoint_id, event_id, event_type,
          payload, status, created_at, updated_at)
        VALUES (?, 'default', ?, ?, 'prompt.updated', '{}', 'succeeded', ?, ?)`,
      )
        .bind(newId("delivery"), webhookId, newId("event"), at, at)
        .run();
    }
    const pages = await walk(
      `/projects/default/webhooks/${webhookId}/deliveries?limit=2`,
      (d) => d.createdAt.slice(15, 16),
      "before",
    );
    expect(pages).toEqual([["3", "2"], ["1"]]);
  });
});
