import { describe, expect, it } from "vitest";
import { openAIMessages } from "../../sdk/src/index";

describe("openAIMessages", () => {
  it("passes messages with the roles OpenAI takes as {role, content}", () => {
    expect(
      openAIMessages([
        { role: "system", content: "Be brief." },
        { role: "developer", content: "JSON only." },
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello" },
      ]),
    ).toEqual([
      { role: "system", content: "Be brief." },
      { role: "developer", content: "JSON only." },
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello" },
    ]);
  });

  it("names an unfilled placeholder and says how to fill it", () => {
    expect(() =>
      openAIMessages([
        { role: "system", content: "Be brief." },
        { type: "placeholder", name: "history" },
      ]),
    ).toThrow(
      "Message 2 is the placeholder 'history', which compile() was not given messages for: pass them as compile(variables, { placeholders: { history: [...] } }).",
    );
  });

  it("names a role OpenAI does not take as plain content", () => {
    expect(() => openAIMessages([{ role: "critic", content: "Too long." }])).toThrow(
      "Message 1 has the role 'critic', which OpenAI's chat API does not take as {role, content}; use one of system, developer, user, assistant.",
    );
  });
});
