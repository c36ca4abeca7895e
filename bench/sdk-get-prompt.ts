/**
 * What a cached `getPrompt` costs an app, ours against `@langfuse/client`'s, in ns per call.
 *
 * Like for like: both clients fetch their prompt once over real HTTP from one local server (the
 * Cuecard edge's and Langfuse's response shapes), then every measured call is a fresh cache hit,
 * awaited, as an app awaits it (both SDKs' `getPrompt` are async), with the same options object
 * (`{ cacheTtlSeconds: 3600 }`, which both SDKs take, hoisted so neither pays for building it). The two loops alternate in
 * ABBA order and each side keeps its fastest round: on a shared machine noise only ever adds
 * time, and alternating spreads drift over both.
 *
 *   npx tsx bench/sdk-get-prompt.ts     # prints the figures as JSON
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { LangfuseClient } from "@langfuse/client";
import { CuecardClient, type ResolvedPrompt } from "../sdk/src/index";

export interface SdkGetPromptBench {
  calls: number;
  rounds: number;
  /** Our cached getPrompt, awaited. */
  cuecardNs: number;
  /** `@langfuse/client`'s cached getPrompt, awaited. */
  langfuseNs: number;
  /** cuecardNs ÷ langfuseNs: the goal is ≤ 1.0. */
  ratio: number;
}

const CALLS = Number(process.env.SDK_GET_PROMPT_CALLS ?? 200_000);
const ROUNDS = 8;
const NAME = "support/reply";
const TEMPLATE = "Hello {{customer}}, thanks for contacting support about {{topic}}.";

const cuecardBody: ResolvedPrompt = {
  name: NAME,
  type: "text",
  version: 3,
  label: "production",
  prompt: TEMPLATE,
  config: { model: "gpt-4o-mini" },
  variables: [
    { name: "customer", type: "any", required: true },
    { name: "topic", type: "any", required: true },
  ],
  hash: "sha256:bench",
  commitMessage: null,
  createdAt: "2026-01-01T00:00:00.000Z",
  experiment: null,
};

const langfuseBody = {
  id: "bench",
  name: NAME,
  version: 3,
  type: "text",
  prompt: TEMPLATE,
  config: { model: "gpt-4o-mini" },
  labels: ["production", "latest"],
  tags: [],
  commitMessage: null,
  resolutionGraph: null,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
  projectId: "bench",
  createdBy: "bench",
  isActive: null,
};

/** One origin answering both SDKs' prompt routes. */
async function startServer() {
  const server = createServer((request, response) => {
    const path = request.url ?? "";
    const body = path.startsWith("/api/public/v2/prompts/")
      ? langfuseBody
      : path.startsWith("/v1/prompts/")
        ? cuecardBody
        : null;
    response.writeHead(body ? 200 : 404, { "content-type": "application/json" });
    response.end(JSON.stringify(body ?? { message: "not found" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

type GetPrompt = () => Promise<unknown>;

async function timeLoop(getPrompt: GetPrompt): Promise<number> {
  let sink = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) {
    const prompt = (await getPrompt()) as { version: number };
    sink += prompt.version;
  }
  const elapsed = Number(process.hrtime.bigint() - started);
  if (sink !== CALLS * 3) throw new Error("a call did not return the cached prompt");
  return elapsed / CALLS;
}

export async function benchSdkGetPrompt(): Promise<SdkGetPromptBench> {
  const server = await startServer();
  try {
    const cuecard = new CuecardClient({
      edgeUrl: server.url,
      apiKey: "cc_reader_bench",
    });
    const langfuse = new LangfuseClient({
      publicKey: "pk-lf-bench",
      secretKey: "sk-lf-bench",
      baseUrl: server.url,
    });
    const options = { cacheTtlSeconds: 3_600 };
    const ours: GetPrompt = () => cuecard.getPrompt(NAME, options);
    const theirs: GetPrompt = () => langfuse.prompt.get(NAME, options) as Promise<unknown>;
    // The one network fetch each, then JIT warm-up of both hit paths.
    await ours();
    await theirs();
    await timeLoop(ours);
    await timeLoop(theirs);
    let cuecardNs = Number.POSITIVE_INFINITY;
    let langfuseNs = Number.POSITIVE_INFINITY;
    for (let round = 0; round < ROUNDS; round++) {
      // ABBA: A B, B A, A B …
      const order = round % 2 === 0 ? [ours, theirs] : [theirs, ours];
      for (const run of order) {
        const ns = await timeLoop(run);
        if (run === ours) cuecardNs = Math.min(cuecardNs, ns);
        else langfuseNs = Math.min(langfuseNs, ns);
      }
    }
    return {
      calls: CALLS,
      rounds: ROUNDS,
      cuecardNs: Math.round(cuecardNs),
      langfuseNs: Math.round(langfuseNs),
      ratio: Number((cuecardNs / langfuseNs).toFixed(2)),
    };
  } finally {
    server.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchSdkGetPrompt(), null, 2));
}
