/**
 * The prompts-as-code file format: what pull writes must push back unchanged (or every pull would
 * make a new version), and a bad file must be refused with a message that says what to fix.
 */

import { CHAT_ROLES, contentHash } from "@cuecard/core/prompt";
import { deriveVariables } from "@cuecard/core/template";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { unifiedDiff } from "../../sdk/src/cli/line-diff";
import {
  declarationsOf,
  type PromptFile,
  PromptFileError,
  parsePromptFile,
  serializePromptFile,
  versionOf,
} from "../../sdk/src/cli/prompt-file";
import { parseTestCases, runTestCase } from "../../sdk/src/cli/test-cases";

const base: PromptFile = {
  name: "support/triage",
  type: "text",
  description: "",
  tags: [],
  prompt: "",
  config: {},
  variables: {},
  labels: [],
};

const roundTrip = (file: PromptFile) => parsePromptFile(file.name, serializePromptFile(file));

describe("prompt files round-trip", () => {
  it("gives back any text template exactly, whitespace included", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (template) => {
        const text = template.replace(/[{}]/g, "");
        expect(roundTrip({ ...base, prompt: text }).prompt).toBe(text);
      }),
    );
  });

  it("gives back any chat messages exactly, even text that looks like a section heading", () => {
    const message = fc.record({
      role: fc.constantFrom(...CHAT_ROLES),
      content: fc
        .array(fc.constantFrom("line", "", "## user", "## system ", "---", " "), { maxLength: 6 })
        .map((lines) => lines.join("\n")),
    });
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 4 }), (messages) => {
        expect(roundTrip({ ...base, type: "chat", prompt: messages }).prompt).toEqual(messages);
      }),
    );
  });

  it("keeps config, metadata and declared variables, so the content hash is the server's", async () => {
    const file: PromptFile = {
      ...base,
      type: "chat",
      description: "Classifies a ticket",
      tags: ["support"],
      prompt: [
        { role: "system", content: "You work for {{company}}." },
        { role: "user", content: "{{ticket}}" },
      ],
      config: { model: "gpt-4o-mini", temperature: 0, stop: ["\n\n"], json: { on: true } },
      variables: { company: { default: "Acme", description: "Who we answer for" } },
      commitMessage: "Tighter instructions: answer: yes # not a comment",
      labels: ["staging"],
    };
    const back = roundTrip(file);
    expect(back).toEqual(file);
    // What the admin computes for the same content (deriveVariables + contentHash).
    const variables = deriveVariables(file.prompt, file.variables);
    const serverHash = await contentHash({
      type: "chat",
      prompt: file.prompt,
      config: file.config,
      variables,
    });
    expect((await versionOf(back)).hash).toBe(serverHash);
    // And the declarations pull writes are the ones that give the server's specs back.
    expect(declarationsOf(file.prompt, variables)).toEqual(file.variables);
  });
});

describe("chat files with placeholders and other roles", () => {
  it("are written in the front matter's messages and read back the same", () => {
    const prompt = [
      { role: "system", content: "You help {{company}}." },
      { type: "placeholder" as const, name: "history" },
      { role: "tool-result", content: "{{lookup}}" },
    ];
    const source = serializePromptFile({
      type: "chat",
      description: "",
      tags: [],
      prompt,
      config: {},
      variables: {},
      labels: [],
    });
    expect(source).toBe(
      '---\ntype: chat\nmessages:\n  - role: system\n    content: You help {{company}}.\n  - type: placeholder\n    name: history\n  - role: tool-result\n    content: "{{lookup}}"\n---\n',
    );
    expect(parsePromptFile("Support/Chat Helper", source).prompt).toEqual(prompt);
  });
});

describe("bad prompt files", () => {
  const refused = (source: string, name = "support/triage") => {
    try {
      parsePromptFile(name, source);
    } catch (error) {
      expect(error).toBeInstanceOf(PromptFileError);
      return (error as Error).message;
    }
    throw new Error("the file was accepted");
  };

  it("say what is wrong", () => {
    expect(refused("Hello")).toContain("must start with a '---' line");
    expect(refused("---\ntype: text\nHello")).toContain("no closing '---'");
    expect(refused("---\ntype: [\n---\nHi")).toContain("not valid YAML");
    expect(refused("---\ntype: poem\n---\nHi")).toContain("type must be 'text' or 'chat'");
    expect(refused("---\nmodel: gpt\n---\nHi")).toContain("unknown front matter key(s) model");
    expect(refused("---\ntype: chat\n---\nHello\n## user\n\nHi\n")).toContain(
      "found text before the first one",
    );
    expect(refused("---\ntype: text\n---\n{{#open}} never closed\n")).toContain(
      "the template is not valid",
    );
    expect(refused("---\ntype: text\n---\nHi\n", "Support|Triage")).toContain(
      "not a valid prompt name: use letters,",
    );
    expect(
      refused("---\ntype: chat\nmessages:\n  - type: placeholder\n    name: 1st\n---\n"),
    ).toContain("messages[0].name start with a letter");
    expect(refused("---\nconfig: gpt-4\n---\nHi\n")).toContain("'config' must be a mapping");
  });
});

describe("test cases", () => {
  const specs = deriveVariables("Hello {{customer}}.{{#vip}} VIP.{{/vip}}", {
    vip: { default: false },
  });
  const run = (yaml: string) =>
    parseTestCases(yaml).map((testCase) =>
      runTestCase("Hello {{customer}}.{{#vip}} VIP.{{/vip}}", specs, testCase),
    );

  it("pass when every assertion holds, and name each one that does not", () => {
    const [passing, failing] = run(`
- name: passes
  variables: { customer: Ada, vip: true }
  expect: { contains: [Ada, VIP], notContains: Bo, regex: "^Hello", maxLength: 20 }
- name: fails
  variables: { customer: Ada }
  expect: { contains: VIP, notContains: Ada, regex: "^Bye", maxLength: 5 }
`);
    expect(passing).toEqual({ name: "passes", passed: true, failures: [] });
    expect(failing?.failures).toEqual([
      'does not contain "VIP"',
      'contains "Ada"',
      "does not match /^Bye/",
      "is 10 characters long; the limit is 5",
    ]);
  });

  it("fail a case with missing variables, or with tags left unresolved", () => {
    const [missing, leftover] = run(`
- variables: {}
- variables: { customer: "{{name}}" }
`);
    expect(missing?.failures).toEqual(["does not render: missing variables: customer"]);
    expect(leftover?.failures).toEqual(["leaves {{name}} unresolved"]);
  });

  it("refuse unknown assertions", () => {
    expect(() => parseTestCases("- expect: { startsWith: Hi }")).toThrow(
      "unknown assertion(s) startsWith",
    );
  });
});

describe("unified diff", () => {
  it("shows changed lines with their context and line numbers", () => {
    const before = "a\nb\nc\nd\ne\nf\ng\nh\n";
    const after = "a\nb\nc\nD\ne\nf\ng\nh\n";
    expect(unifiedDiff(before, after, { before: "old", after: "new" }, 1)).toBe(
      "--- old\n+++ new\n@@ -3,3 +3,3 @@\n c\n-d\n+D\n e\n",
    );
    expect(unifiedDiff(before, before, { before: "old", after: "new" })).toBe("");
  });
});
