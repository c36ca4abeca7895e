import {
  labelProblem,
  newLabelProblem,
  placeholderNameProblem,
  promptNameProblem,
} from "@cuecard/core/names";
import { deriveVariables, RenderError, renderPrompt } from "@cuecard/core/template";
import { describe, expect, it } from "vitest";

describe("prompt names", () => {
  it.each([
    "support/triage",
    "a",
    "summarize.v2",
    // Langfuse's names: upper case, spaces, folders.
    "Customer Support",
    "Support/Triage Bot",
    "team-a/Movie Critic/v1_final",
  ])("accepts %j", (name) => {
    expect(promptNameProblem(name)).toBeUndefined();
  });

  it.each([
    ["", "must not be empty"],
    ["a".repeat(129), "must be at most 128 characters"],
  ])("refuses %j: %s", (name, message) => {
    expect(promptNameProblem(name)).toBe(message);
  });

  it.each([
    // `|` separates the fields of a Langfuse prompt reference.
    "support|triage",
    // Folders: no leading, trailing or empty one.
    "/support",
    "support/",
    "support//triage",
    // `@` and `#` separate the name in KV keys, `,` separates names in a batch request.
    "a@b",
    "a#b",
    "a,b",
    " leading",
    "trailing ",
    "ends.",
    "a/../b",
    "a/./b",
    "ünïcode",
    "tab\there",
  ])("refuses %j, saying the rule", (name) => {
    expect(promptNameProblem(name)).toBe(
      "use letters, digits, spaces, '.', '_', '-' and '/' between folders (no '|'), e.g. support/Triage bot",
    );
  });

  it("keeps the longest KV key under Workers KV's 512 bytes", () => {
    // p/{project ≤ 64}/{name ≤ 128}@{label ≤ 64}: all ASCII.
    const key = `p/${"p".repeat(64)}/${"N".repeat(128)}@${"l".repeat(64)}`;
    expect(new TextEncoder().encode(key).byteLength).toBe(260);
  });
});

describe("labels", () => {
  it.each(["production", "v1.2", "canary-eu_1", "a.b.c", "..."])("accepts %j", (label) => {
    expect(labelProblem(label)).toBeUndefined();
  });

  it.each([
    ["", "must not be empty"],
    ["Production", "use a-z, 0-9, '_', '-' and '.', e.g. production"],
    ["prod uction", "use a-z, 0-9, '_', '-' and '.', e.g. production"],
    // Alone they would be resolved away as URL path segments.
    [".", "use a-z, 0-9, '_', '-' and '.', e.g. production"],
    ["..", "use a-z, 0-9, '_', '-' and '.', e.g. production"],
  ])("refuses %j", (label, message) => {
    expect(labelProblem(label)).toBe(message);
  });

  it("sets new labels up to 36 characters, and still reads older ones up to 64", () => {
    expect(newLabelProblem("a".repeat(36))).toBeUndefined();
    expect(newLabelProblem("a".repeat(37))).toBe("must be at most 36 characters");
    expect(labelProblem("a".repeat(64))).toBeUndefined();
    expect(labelProblem("a".repeat(65))).toBe("must be at most 64 characters");
  });
});

describe("placeholder names", () => {
  it.each(["history", "chat_history", "H1"])("accepts %j", (name) => {
    expect(placeholderNameProblem(name)).toBeUndefined();
  });

  it.each(["1st", "_private", "chat-history", "with space", ""])("refuses %j", (name) => {
    expect(placeholderNameProblem(name)).toBeDefined();
  });
});

describe("chat placeholders", () => {
  const chat = [
    { role: "system", content: "You help {{company}}." },
    { type: "placeholder" as const, name: "history" },
    { role: "tool-result", content: "{{lookup}}" },
  ];

  it("declare no variables: only message contents do", () => {
    expect(deriveVariables(chat).map((spec) => spec.name)).toEqual(["company", "lookup"]);
  });

  it("report a template error at the message's own index", () => {
    const broken = [
      { type: "placeholder" as const, name: "history" },
      { role: "user", content: "{{#a}}" },
    ];
    expect(() => deriveVariables(broken)).toThrow(expect.objectContaining({ messageIndex: 1 }));
  });

  it("are filled with the messages given, as given (not rendered as templates)", () => {
    const rendered = renderPrompt(
      chat,
      deriveVariables(chat),
      { company: "Acme", lookup: "order 42: shipped" },
      {
        history: [
          { role: "user", content: "Where is {{my}} order?" },
          { role: "assistant", content: "Let me look." },
        ],
      },
    );
    expect(rendered).toEqual([
      { role: "system", content: "You help Acme." },
      { role: "user", content: "Where is {{my}} order?" },
      { role: "assistant", content: "Let me look." },
      { role: "tool-result", content: "order 42: shipped" },
    ]);
  });

  it("filled with an empty list leave nothing", () => {
    const rendered = renderPrompt(
      chat,
      deriveVariables(chat),
      { company: "A", lookup: "B" },
      {
        history: [],
      },
    );
    expect(rendered).toEqual([
      { role: "system", content: "You help A." },
      { role: "tool-result", content: "B" },
    ]);
  });

  it("left unfilled stay as they are when kept (Langfuse's compile)", () => {
    const rendered = renderPrompt(
      chat,
      deriveVariables(chat),
      { company: "A", lookup: "B" },
      {},
      "keep",
    );
    expect(rendered).toEqual([
      { role: "system", content: "You help A." },
      { type: "placeholder", name: "history" },
      { role: "tool-result", content: "B" },
    ]);
  });

  it("left unfilled are refused by a complete render, together with missing variables", () => {
    let error: unknown;
    try {
      renderPrompt(chat, deriveVariables(chat), { company: "A" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RenderError);
    expect((error as RenderError).problems).toEqual({
      missing: ["lookup"],
      unknown: [],
      missingPlaceholders: ["history"],
      unknownPlaceholders: [],
      invalidPlaceholders: [],
    });
    expect((error as Error).message).toBe(
      "missing variables: lookup; unfilled placeholders: history",
    );
  });

  it("refuse a placeholder the prompt does not have, and a value that is not messages", () => {
    const specs = deriveVariables(chat);
    const given = { company: "A", lookup: "B" };
    const problemsOf = (placeholders: Record<string, unknown>) => {
      try {
        renderPrompt(chat, specs, given, placeholders);
      } catch (error) {
        return [(error as RenderError).message, (error as RenderError).problems];
      }
      throw new Error("rendered");
    };
    expect(problemsOf({ history: [], histroy: [] })).toEqual([
      "unknown placeholders: histroy",
      {
        missing: [],
        unknown: [],
        missingPlaceholders: [],
        unknownPlaceholders: ["histroy"],
        invalidPlaceholders: [],
      },
    ]);
    expect(problemsOf({ history: "Hi" })[0]).toBe("placeholders not given messages: history");
    expect(problemsOf({ history: [{ content: "no role" }] })[0]).toBe(
      "placeholders not given messages: history",
    );
  });
});
