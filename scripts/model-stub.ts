/**
 * A local OpenAI-compatible model server, standing in for the LLM provider wherever one cannot run
 * (tests, dev seeding, benchmarks, the UI playground): no network, no key, no cost, deterministic.
 *
 *   const stub = await startModelStub({ port: 0 });       // port 0 (default): any free port
 *   const openai = new OpenAI({ baseURL: stub.url, apiKey: "stub" });   // stub.url ends in /v1
 *   …
 *   await stub.close();
 *
 * Serves, in the real wire format the `openai` package parses:
 * - `POST /v1/chat/completions`: a `chat.completion`, or with `stream: true` SSE
 *   `chat.completion.chunk`s (a role chunk, one chunk per word, a chunk with `finish_reason`,
 *   then — only if `stream_options.include_usage` — a usage chunk with `choices: []`) and
 *   `data: [DONE]`.
 * - `POST /v1/responses`: a `response`, or with `stream: true` typed SSE events
 *   (`response.created`, `response.output_item.added`, `response.content_part.added`,
 *   `response.output_text.delta` per word, `…done` events, `response.completed` with usage).
 *
 * What it answers, so tests can state their expectations independently:
 * - The reply is `options.reply` (default "Hello from the model stub."), or the request's
 *   `x-stub-reply` header. Output tokens = words in the reply; input tokens = words in the
 *   request's text (chat `messages[].content`, responses `input`/`instructions`).
 * - The answering model is the requested one with `-stub` appended (as real providers answer
 *   with a dated snapshot name), the request id header `x-request-id: req_stub_<n>`.
 * - Latency: `latencyMs` before the response headers, `firstTokenDelayMs` before the first
 *   streamed chunk, `chunkDelayMs` between chunks; per request, the headers `x-stub-latency-ms`,
 *   `x-stub-first-token-ms` and `x-stub-chunk-delay-ms` override them. All default to 0.
 * - Failures: the model `stub-429` (or `x-stub-status: 429`) answers 429 with `retry-after: 0`,
 *   `stub-500` (or `x-stub-status: 500`) answers 500, each with OpenAI's error body. Clients
 *   retry those by default: give the client `maxRetries: 0` to see the first answer.
 * - `requests` keeps the last 100 requests (path, headers, parsed body) for assertions.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ModelStubOptions {
  port?: number;
  host?: string;
  reply?: string;
  latencyMs?: number;
  firstTokenDelayMs?: number;
  chunkDelayMs?: number;
}

export interface StubRequest {
  path: string;
  headers: IncomingMessage["headers"];
  body: any;
}

export interface ModelStub {
  /** Base URL for an OpenAI client, e.g. http://127.0.0.1:39123/v1. */
  url: string;
  requests: StubRequest[];
  close(): Promise<void>;
}

const REQUESTS_KEPT = 100;

export async function startModelStub(options: ModelStubOptions = {}): Promise<ModelStub> {
  const requests: StubRequest[] = [];
  let served = 0;
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify(errorBody(String(error), "server_error")));
    });
  });
  // A client that breaks out of a stream closes the socket mid-response: not a server error.
  server.on("clientError", (_error, socket) => socket.destroy());

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? "/").split("?")[0]!;
    const raw = await readBody(req);
    let body: any;
    try {
      body = raw ? JSON.parse(raw) : {};
    } catch {
      return sendJson(res, 400, errorBody("The body is not JSON.", "invalid_request_error"));
    }
    requests.push({ path, headers: req.headers, body });
    if (requests.length > REQUESTS_KEPT) requests.shift();
    const id = ++served;
    const header = (name: string) => {
      const value = req.headers[name];
      return typeof value === "string" ? value : undefined;
    };
    const num = (name: string, fallback: number | undefined) => {
      const value = header(name);
      return value !== undefined && Number.isFinite(Number(value))
        ? Number(value)
        : (fallback ?? 0);
    };
    const timing = {
      latencyMs: num("x-stub-latency-ms", options.latencyMs),
      firstTokenDelayMs: num("x-stub-first-token-ms", options.firstTokenDelayMs),
      chunkDelayMs: num("x-stub-chunk-delay-ms", options.chunkDelayMs),
    };
    const baseHeaders = { "x-request-id": `req_stub_${id}` };

    if (req.method !== "POST" || (path !== "/v1/chat/completions" && path !== "/v1/responses")) {
      return sendJson(
        res,
        404,
        errorBody(`No route ${req.method} ${path}.`, "not_found"),
        baseHeaders,
      );
    }
    if (typeof body.model !== "string" || body.model === "") {
      return sendJson(
        res,
        400,
        errorBody("`model` is required.", "invalid_request_error"),
        baseHeaders,
      );
    }
    await sleep(timing.latencyMs);
    const failStatus = Number(header("x-stub-status") ?? /^stub-(\d{3})$/.exec(body.model)?.[1]);
    if (failStatus === 429) {
      return sendJson(
        res,
        429,
        errorBody("Rate limit reached (model stub).", "rate_limit_exceeded", "rate_limit_exceeded"),
        { ...baseHeaders, "retry-after": "0" },
      );
    }
    if (failStatus >= 400) {
      return sendJson(
        res,
        failStatus,
        errorBody("The model stub failed on purpose.", "server_error"),
        baseHeaders,
      );
    }

    const reply = header("x-stub-reply") ?? options.reply ?? "Hello from the model stub.";
    const words = reply.split(/(?<=\s)/).filter((word) => word !== "");
    const usage = { input: countWords(requestText(path, body)), output: words.length };
    const answer = {
      id,
      model: `${body.model}-stub`,
      created: Math.floor(Date.now() / 1000),
      reply,
      words,
      usage,
    };
    if (path === "/v1/chat/completions") {
      if (body.stream === true) return streamChat(res, baseHeaders, answer, body, timing);
      return sendJson(res, 200, chatCompletion(answer), baseHeaders);
    }
    if (body.stream === true) return streamResponse(res, baseHeaders, answer, timing);
    return sendJson(res, 200, responseObject(answer, "completed"), baseHeaders);
  }

  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Answer {
  id: number;
  model: string;
  created: number;
  reply: string;
  words: string[];
  usage: { input: number; output: number };
}

interface Timing {
  latencyMs: number;
  firstTokenDelayMs: number;
  chunkDelayMs: number;
}

function chatCompletion(answer: Answer) {
  return {
    id: `chatcmpl-stub-${answer.id}`,
    object: "chat.completion",
    created: answer.created,
    model: answer.model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: answer.reply, refusal: null },
        logprobs: null,
        finish_reason: "stop",
      },
    ],
    usage: chatUsage(answer),
  };
}

function chatUsage(answer: Answer) {
  return {
    prompt_tokens: answer.usage.input,
    completion_tokens: answer.usage.output,
    total_tokens: answer.usage.input + answer.usage.output,
  };
}

async function streamChat(
  res: ServerResponse,
  headers: Record<string, string>,
  answer: Answer,
  body: any,
  timing: Timing,
) {
  startSse(res, headers);
  const chunk = (delta: object, finishReason: string | null) => ({
    id: `chatcmpl-stub-${answer.id}`,
    object: "chat.completion.chunk",
    created: answer.created,
    model: answer.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  });
  await sleep(timing.firstTokenDelayMs);
  if (!write(res, undefined, chunk({ role: "assistant", content: "" }, null))) return;
  for (const word of answer.words) {
    await sleep(timing.chunkDelayMs);
    if (!write(res, undefined, chunk({ content: word }, null))) return;
  }
  if (!write(res, undefined, chunk({}, "stop"))) return;
  if (body.stream_options?.include_usage === true) {
    const usageChunk = { ...chunk({}, null), choices: [], usage: chatUsage(answer) };
    if (!write(res, undefined, usageChunk)) return;
  }
  res.write("data: [DONE]\n\n");
  res.end();
}

function responseObject(answer: Answer, status: "in_progress" | "completed") {
  const done = status === "completed";
  return {
    id: `resp_stub_${answer.id}`,
    object: "response",
    created_at: answer.created,
    status,
    error: null,
    incomplete_details: null,
    model: answer.model,
    output: done ? [outputMessage(answer, "completed")] : [],
    parallel_tool_calls: true,
    tool_choice: "auto",
    tools: [],
    usage: done
      ? {
          input_tokens: answer.usage.input,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: answer.usage.output,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: answer.usage.input + answer.usage.output,
        }
      : null,
  };
}

function outputMessage(answer: Answer, status: "in_progress" | "completed") {
  return {
    type: "message",
    id: `msg_stub_${answer.id}`,
    status,
    role: "assistant",
    content: status === "completed" ? [outputText(answer.reply)] : [],
  };
}

const outputText = (text: string) => ({ type: "output_text", text, annotations: [] });

async function streamResponse(
  res: ServerResponse,
  headers: Record<string, string>,
  answer: Answer,
  timing: Timing,
) {
  startSse(res, headers);
  let sequence = 0;
  const send = (type: string, fields: object) =>
    write(res, type, { type, sequence_number: sequence++, ...fields });
  const item = { output_index: 0, item_id: `msg_stub_${answer.id}`, content_index: 0 };
  await sleep(timing.firstTokenDelayMs);
  if (!send("response.created", { response: responseObject(answer, "in_progress") })) return;
  if (
    !send("response.output_item.added", {
      output_index: 0,
      item: outputMessage(answer, "in_progress"),
    })
  )
    return;
  if (!send("response.content_part.added", { ...item, part: outputText("") })) return;
  for (const word of answer.words) {
    await sleep(timing.chunkDelayMs);
    if (!send("response.output_text.delta", { ...item, delta: word, logprobs: [] })) return;
  }
  if (!send("response.output_text.done", { ...item, text: answer.reply, logprobs: [] })) return;
  if (!send("response.content_part.done", { ...item, part: outputText(answer.reply) })) return;
  if (
    !send("response.output_item.done", {
      output_index: 0,
      item: outputMessage(answer, "completed"),
    })
  )
    return;
  if (!send("response.completed", { response: responseObject(answer, "completed") })) return;
  res.end();
}

function startSse(res: ServerResponse, headers: Record<string, string>) {
  res.writeHead(200, {
    ...headers,
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  res.flushHeaders();
}

/** False once the client has gone (it broke out of the stream): stop producing. */
function write(res: ServerResponse, event: string | undefined, data: object): boolean {
  if (res.destroyed || res.writableEnded) return false;
  res.write(`${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`);
  return true;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: object,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { ...headers, "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function errorBody(message: string, type: string, code: string | null = null) {
  return { error: { message, type, param: null, code } };
}

function requestText(path: string, body: any): string {
  const parts: string[] = [];
  const add = (content: unknown) => {
    if (typeof content === "string") parts.push(content);
    else if (Array.isArray(content)) {
      for (const part of content) {
        if (typeof part === "string") parts.push(part);
        else if (part && typeof part === "object") {
          if (typeof part.text === "string") parts.push(part.text);
          if ("content" in part) add(part.content);
        }
      }
    }
  };
  if (path === "/v1/chat/completions") {
    for (const message of Array.isArray(body.messages) ? body.messages : []) add(message?.content);
  } else {
    add(body.instructions);
    add(body.input);
  }
  return parts.join(" ");
}

const countWords = (text: string) => text.split(/\s+/).filter((word) => word !== "").length;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

const sleep = (ms: number) =>
  ms > 0 ? new Promise<void>((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
