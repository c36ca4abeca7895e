/**
 * compile() fills chat placeholders as Langfuse's own SDK does (checked against
 * @langfuse/client's ChatPromptClient), and keeps Cuecard's strictness about names it does
 * not know.
 */
import { ChatPromptClient } from "@langfuse/client";
import { describe, expect, it } from "vitest";
import { type ChatPrompt, RenderError, type ResolvedPrompt, toPrompt } from "../../sdk/src/index";

const messages = [
  { role: "system", content: "You help {{company}}." },
  { type: "placeholder" as const, name: "history" },
  { role: "user", content: "{{question}}" },
];

const resolved: ResolvedPrompt = {
  name: "Support/Chat Helper",
  type: "chat",
  version: 3,
  label: "production",
  prompt: messages,
  config: {},
  variables: [
    { name: "company", type: "any", required: true },
    { name: "question", type: "any", required: true },
  ],
  hash: "sha256:chat",
};

const cuecard = toPrompt(resolved, "edge") as ChatPrompt;
const langfuse = new ChatPromptClient({
  name: resolved.name,
  version: 3,
  type: "chat",
  prompt: messages,
  config: {},
  labels: ["production"],
  tags: [],
  commitMessage: null,
} as unknown as ConstructorParameters<typeof ChatPromptClient>[0]);

const variables = { company: "Acme", question: "Where is my order?" };
const history = [
  { role: "user", content: "Hello" },
  { role: "assistant", content: "Hi, how can I help?" },
];

describe("compile() with chat placeholders", () => {
  it("replaces a placeholder with the messages given, as Langfuse's compile does", () => {
    const compiled = cuecard.compile(variables, { placeholders: { history } });
    expect(compiled).toEqual([
      { role: "system", content: "You help Acme." },
      { role: "user", content: "Hello" },
      { role: "assistant", content: "Hi, how can I help?" },
      { role: "user", content: "Where is my order?" },
    ]);
    expect(compiled).toEqual(langfuse.compile(variables, { history }));
  });

  it("drops a placeholder given an empty list, as Langfuse's compile does", () => {
    const compiled = cuecard.compile(variables, { placeholders: { history: [] } });
    expect(compiled).toEqual([
      { role: "system", content: "You help Acme." },
      { role: "user", content: "Where is my order?" },
    ]);
    expect(compiled).toEqual(langfuse.compile(variables, { history: [] }));
  });

  it("keeps an unfilled placeholder as it is, as Langfuse's compile does", () => {
    const compiled = cuecard.compile(variables);
    expect(compiled).toEqual([
      { role: "system", content: "You help Acme." },
      { type: "placeholder", name: "history" },
      { role: "user", content: "Where is my order?" },
    ]);
    expect(compiled).toEqual(langfuse.compile(variables));
  });

  it("inserts the messages given as data: their {{tags}} are not variables", () => {
    const compiled = cuecard.compile(variables, {
      placeholders: { history: [{ role: "user", content: "What does {{x}} mean?" }] },
    });
    expect(compiled[1]).toEqual({ role: "user", content: "What does {{x}} mean?" });
  });

  it("refuses a placeholder the prompt does not have, unless strict is false", () => {
    expect(() => cuecard.compile(variables, { placeholders: { histroy: history } })).toThrow(
      RenderError,
    );
    expect(
      cuecard.compile(variables, { strict: false, placeholders: { histroy: history } }),
    ).toEqual([
      { role: "system", content: "You help Acme." },
      { type: "placeholder", name: "history" },
      { role: "user", content: "Where is my order?" },
    ]);
  });

  it("does not change the prompt it compiles", () => {
    cuecard.compile(variables, { placeholders: { history } });
    expect(cuecard.prompt).toEqual(messages);
  });
});
