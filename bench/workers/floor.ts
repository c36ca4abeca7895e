import { Hono } from "hono";

/** The floor: the cheapest Hono worker answering a fixed JSON body about the size of a prompt. */
const body = JSON.stringify({
  name: "floor",
  type: "text",
  version: 1,
  label: "production",
  prompt: "Hello {{customer}}, thanks for contacting support about {{topic}}.",
  config: { model: "gpt-4o-mini", temperature: 0.2 },
  variables: [{ name: "customer", type: "any", required: true }],
  hash: "sha256:0000000000000000000000000000000000000000000000000000000000000000",
});

const app = new Hono();
app.get(
  "*",
  () => new Response(body, { headers: { "content-type": "application/json; charset=utf-8" } }),
);

export default app;
