import { Hono } from "hono";

/**
 * The naive baseline: read the label's version from D1 on every request. It does not even check
 * a key, so it is cheaper than a real D1-backed delivery would be.
 */
const app = new Hono<{ Bindings: { DB: D1Database } }>();

app.get("/v1/prompts/:name", async (c) => {
  const row = await c.env.DB.prepare(
    "SELECT body, hash, version FROM published WHERE name = ?1 AND label = ?2",
  )
    .bind(c.req.param("name"), c.req.query("label") ?? "production")
    .first<{ body: string; hash: string; version: number }>();
  if (!row) return c.json({ code: "not_found" }, 404);
  return new Response(row.body, {
    headers: {
      "content-type": "application/json; charset=utf-8",
      etag: `"${row.hash}"`,
      "cuecard-version": String(row.version),
    },
  });
});

export default app;
