/**
 * Drop-in at the type level (this file is in `npm run typecheck` via test/sdk/tsconfig.json, with
 * no casts): an observed 6.x or 7.x client keeps its own type, `withResponse()` and
 * `Stream.tee()` are there, and `linkPrompt` fits the SDK's request options, alone or merged.
 */

import type { ScoreEvent } from "@cuecard/core/telemetry";
import OpenAI6 from "openai";
import type { Stream as Stream6 } from "openai/streaming";
import OpenAI7 from "openai-v7";
import type { Stream as Stream7 } from "openai-v7/streaming";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { type ModelStub, startModelStub } from "../../scripts/model-stub";
import { type Prompt, toPrompt } from "../../sdk/src/index";
import { linkPrompt, observeOpenAI, Telemetry } from "../../sdk/src/observe/index";

let stub: ModelStub;
beforeAll(async () => {
  stub = await startModelStub({ reply: "typed reply" });
});
afterAll(() => stub.close());

const prompt: Prompt = toPrompt(
  {
    name: "typed",
    type: "text",
    version: 1,
    label: "production",
    prompt: "Hi",
    config: {},
    variables: [],
    hash: "",
  },
  "edge",
);
const telemetry = new Telemetry({ baseUrl: "http://127.0.0.1:1", apiKey: "k", flushIntervalMs: 0 });

describe("observed clients keep their types", () => {
  it("openai 6.x: withResponse() and Stream.tee()", async () => {
    const openai = observeOpenAI(new OpenAI6({ baseURL: stub.url, apiKey: "sk", maxRetries: 0 }), {
      telemetry,
    });
    expectTypeOf(openai).toEqualTypeOf<OpenAI6>();
    const { data, response } = await openai.chat.completions
      .create(
        { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] },
        linkPrompt(prompt),
      )
      .withResponse();
    expectTypeOf(data).toEqualTypeOf<OpenAI6.Chat.Completions.ChatCompletion>();
    expect(response.ok).toBe(true);
    expect(data.choices[0]?.message.content).toBe("typed reply");

    const stream = await openai.chat.completions.create(
      { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], stream: true },
      { ...linkPrompt(prompt, { unit: "u1" }), timeout: 5_000 },
    );
    const sdkStream: Stream6<OpenAI6.Chat.Completions.ChatCompletionChunk> = stream;
    const [left, right] = sdkStream.tee();
    let leftText = "";
    let rightText = "";
    for await (const chunk of left) leftText += chunk.choices[0]?.delta.content ?? "";
    for await (const chunk of right) rightText += chunk.choices[0]?.delta.content ?? "";
    expect([leftText, rightText]).toEqual(["typed reply", "typed reply"]);

    // A score names the call by its link (the merged copy above shares it), or by the bare id.
    const link = linkPrompt(prompt);
    await openai.chat.completions.create(
      { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] },
      { ...link, timeout: 5_000 },
    );
    expectTypeOf(link.generationId).toEqualTypeOf<string | undefined>();
    expectTypeOf(telemetry.score(link, "thumbs", true)).toEqualTypeOf<ScoreEvent | undefined>();
    expect(telemetry.score(link.generationId!, "rating", 5, { comment: "ok" })).toMatchObject({
      generationId: link.generationId,
    });
    // @ts-expect-error a score's value is a number, a boolean or a category string
    telemetry.score(link, "thumbs", { up: true });

    const derived: OpenAI6 = openai.withOptions({ timeout: 1_000 });
    expect(derived).toBeInstanceOf(OpenAI6);
  });

  it("openai 7.x: withResponse() and Stream.tee()", async () => {
    const openai = observeOpenAI(new OpenAI7({ baseURL: stub.url, apiKey: "sk", maxRetries: 0 }), {
      telemetry,
    });
    expectTypeOf(openai).toEqualTypeOf<OpenAI7>();
    const { data, request_id } = await openai.responses
      .create({ model: "gpt-4o-mini", input: "hi" }, linkPrompt(prompt))
      .withResponse();
    expect(data.output_text).toBe("typed reply");
    expect(request_id).toMatch(/^req_stub_/);

    const stream = await openai.chat.completions.create(
      { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], stream: true },
      linkPrompt(prompt),
    );
    const sdkStream: Stream7<OpenAI7.Chat.Completions.ChatCompletionChunk> = stream;
    const [left, right] = sdkStream.tee();
    const texts = await Promise.all(
      [left, right].map(async (branch) => {
        let text = "";
        for await (const chunk of branch) text += chunk.choices[0]?.delta.content ?? "";
        return text;
      }),
    );
    expect(texts).toEqual(["typed reply", "typed reply"]);
  });
});
