import { generateKey, hashKey } from "@cuecard/core/keys";
import { labelPointerKey, readKeyRecord, readKeyRecordKey } from "@cuecard/core/kv-records";
import { Hono } from "hono";
import edge, { app as edgeRouter } from "../../workers/edge/index";
import { experimentPointer, pointer, published, unitIds } from "../fixtures";

/**
 * Bench-only: where an isolate hit's time goes. Each section serves `n` requests in one
 * invocation by calling a fetch handler directly (no socket, no HTTP parsing: the part every row
 * shares), from the framework-less floor up to the edge itself, one ingredient at a time. workerd's
 * clock stands still while a request computes, so bench/hit-loop.ts times the invocation from
 * outside and subtracts the `none` section (the same loop, no handler).
 */
const PROJECT = "bench";
const ids = unitIds(10_000);
let ready:
  | Promise<{ plain: Request[]; experiment: Request[]; pinned: Request[]; langfuse: Request[] }>
  | undefined;

/** A prompt-sized body, as the edge serves one. */
const BODY = JSON.stringify({
  name: "small/p-0",
  type: "text",
  version: 1,
  label: "production",
  prompt: "Hello {{customer}}, thanks for contacting support about {{topic}}.",
  config: { model: "gpt-4o-mini", temperature: 0.2 },
  variables: [{ name: "customer", type: "any", required: true }],
  hash: "sha256:0000000000000000000000000000000000000000000000000000000000000000",
  commitMessage: "v1",
  createdAt: "2026-01-01T00:00:00.000Z",
  experiment: null,
});

/** The headers of an edge hit, as a literal. */
const hitHeaders = () => ({
  etag: '"sha256:0000000000000000000000000000000000000000000000000000000000000000.v1"',
  "cache-control": "private, max-age=0, must-revalidate",
  "cuecard-version": "1",
  "cuecard-cache": "hit",
  "server-timing": `cache;desc="isolate";dur=${(performance.now() - 0).toFixed(1)}`,
  vary: "Origin",
  "content-type": "application/json; charset=utf-8",
});

/** The same headers as pairs, and as a prebuilt `Headers` the response copies. */
const hitPairs = () => Object.entries(hitHeaders());
const TEMPLATE = new Headers(hitHeaders());

const hono = new Hono();
hono.get("/v1/prompts/:name", () => new Response(BODY, { headers: hitHeaders() }));

async function setUp(env: EdgeEnv, ctx: ExecutionContext) {
  const key = generateKey("reader");
  const kv = env.PROMPTS_KV;
  await kv.put(
    readKeyRecordKey(await hashKey(key)),
    JSON.stringify(
      readKeyRecord({
        keyId: "bench",
        projectId: PROJECT,
        role: "reader",
        expiresAt: null,
        sendTelemetry: false,
        origins: [],
        keyOrigins: null,
        browser: false,
      }),
    ),
  );
  const text = "Hello {{customer}}, thanks for contacting support about {{topic}}.";
  const plain = await published("small/p-0", 1, text);
  await kv.put(labelPointerKey(PROJECT, plain.name, "production"), JSON.stringify(pointer(plain)));
  const control = await published("exp/p-0", 1, text);
  const treatment = await published("exp/p-0", 2, `Hi {{customer}}! About {{topic}}.`);
  await kv.put(
    labelPointerKey(PROJECT, control.name, "production"),
    JSON.stringify(experimentPointer(control, treatment)),
  );
  const headers = { authorization: `Bearer ${key}` };
  const at = (path: string) => new Request(`https://edge.bench${path}`, { headers });
  const requests = {
    plain: [at("/v1/prompts/small%2Fp-0")],
    pinned: [at("/v1/prompts/small%2Fp-0?label=production")],
    experiment: ids.map((unit) => at(`/v1/prompts/exp%2Fp-0?unit=${encodeURIComponent(unit)}`)),
    // The key's id is "bench": its Langfuse pair is pk-lf-bench : the key.
    langfuse: [
      new Request("https://edge.bench/api/public/v2/prompts/small%2Fp-0", {
        headers: { authorization: `Basic ${btoa(`pk-lf-bench:${key}`)}` },
      }),
    ],
  };
  // Fill the isolate cache (the first reads are misses).
  const first = [
    requests.plain[0],
    requests.pinned[0],
    requests.experiment[0],
    requests.langfuse[0],
  ];
  for (const request of first) {
    const response = await edge.fetch(request as Request, env, ctx);
    if (!response.ok) throw new Error(`warm-up: ${response.status}`);
  }
  return requests;
}

type Handler = (request: Request) => Response | Promise<Response>;

export default {
  async fetch(request: Request, env: EdgeEnv, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    const section = url.searchParams.get("section") ?? "";
    const n = Number(url.searchParams.get("n") ?? "1");
    ready ??= setUp(env, ctx);
    const requests = await ready;
    const handlers: Record<string, [Handler, Request[]]> = {
      none: [() => undefined as unknown as Response, requests.plain],
      floor: [() => new Response("ok"), requests.plain],
      body: [() => new Response(BODY), requests.plain],
      "body+headers": [() => new Response(BODY, { headers: hitHeaders() }), requests.plain],
      "body+headers as pairs": [() => new Response(BODY, { headers: hitPairs() }), requests.plain],
      "body+headers from a Headers template, 2 set": [
        () => {
          const response = new Response(BODY, { headers: TEMPLATE });
          response.headers.set("cuecard-cache", "hit");
          response.headers.set("server-timing", `cache;desc="isolate";dur=0.0`);
          return response;
        },
        requests.plain,
      ],
      "body+3 headers": [
        () =>
          new Response(BODY, {
            headers: { etag: '"x.v1"', "cache-control": "no-store", vary: "Origin" },
          }),
        requests.plain,
      ],
      "read 4 headers": [
        (r) => {
          const h = r.headers;
          const sink = `${h.get("authorization")}${h.get("origin")}${h.get("if-none-match")}${h.get("cuecard-unit")}`;
          return new Response(sink.length > 0 ? "ok" : "");
        },
        requests.plain,
      ],
      "hono route, body+headers": [(r) => hono.fetch(r), requests.plain],
      "edge through hono": [(r) => edgeRouter.fetch(r, env, ctx), requests.plain],
      edge: [(r) => edge.fetch(r, env, ctx), requests.plain],
      "edge ?label=": [(r) => edge.fetch(r, env, ctx), requests.pinned],
      "edge Langfuse read": [(r) => edge.fetch(r, env, ctx), requests.langfuse],
      "edge experiment ?unit=": [(r) => edge.fetch(r, env, ctx), requests.experiment],
      "edge experiment through hono": [(r) => edgeRouter.fetch(r, env, ctx), requests.experiment],
    };
    const entry = handlers[section];
    if (!entry) return new Response(`no section ${section}`, { status: 400 });
    const [handler, inputs] = entry;
    let sink = 0;
    let async = 0;
    for (let i = 0; i < n; i++) {
      const input = inputs[i % inputs.length] as Request;
      const answer = handler(input);
      if (answer instanceof Promise) {
        async++;
        sink += (await answer).status;
      } else sink += answer ? answer.status : input.url.length;
    }
    return Response.json({ section, n, sink, async });
  },
};
