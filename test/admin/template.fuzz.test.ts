import {
  deriveVariables,
  RENDER_LIMITS,
  RenderError,
  RenderLimitError,
  renderPrompt,
  TemplateError,
} from "@cuecard/core/template";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

/**
 * The template parser and renderer face whatever authors and API clients type. For any string
 * they must return a result or a structured error (never another exception). Runaway work shows
 * as the test's timeout: a wall-clock budget per call only flakes on a busy machine.
 */

const mustacheish = fc.stringMatching(/^[a-z{}#^/!&>=. \n]{0,200}$/);
const tagSoup = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        "{{",
        "}}",
        "{{#a}}",
        "{{/a}}",
        "{{^b}}",
        "{{/b}}",
        "{{c}}",
        "{{{d}}}",
        "{{&e}}",
        "{{!x}}",
      ),
      fc.string({ maxLength: 5 }),
    ),
    { maxLength: 60 },
  )
  .map((parts) => parts.join(""));

function deriveOrExplain(template: string) {
  try {
    return { variables: deriveVariables(template) };
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateError);
    expect((error as Error).message.length).toBeGreaterThan(0);
    return { error };
  }
}

describe("template fuzzing", () => {
  it("derives variables or explains why not, for arbitrary and mustache-like strings", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), mustacheish, tagSoup), (template) => {
        const outcome = deriveOrExplain(template);
        if (!("variables" in outcome) || !outcome.variables) return;
        // What parses also renders: with every variable given, or a RenderError naming them.
        const given = Object.fromEntries(outcome.variables.map((v) => [v.name, "x"]));
        expect(typeof renderPrompt(template, outcome.variables, given)).toBe("string");
        if (outcome.variables.some((v) => v.required)) {
          expect(() => renderPrompt(template, outcome.variables, {})).toThrow(RenderError);
        }
      }),
      { numRuns: 500, seed: 20261123 },
    );
  });

  it("handles deep nesting with a structured error, not a stack overflow", () => {
    const deep = `${"{{#a}}".repeat(5_000)}x${"{{/a}}".repeat(5_000)}`;
    const outcome = deriveOrExplain(deep);
    expect(outcome.error).toBeInstanceOf(TemplateError);
  });

  it("handles 100 KB inputs: plain text, many tags, and an unbalanced opener", () => {
    const inputs = [
      "lorem ipsum ".repeat(9_000),
      "{{name}} ".repeat(12_000),
      `${"x".repeat(100_000)}{{unclosed`,
      "{{".repeat(50_000),
    ];
    for (const template of inputs) deriveOrExplain(template);
  });

  it("renders hostile variables to a string or a RenderLimitError", () => {
    const templates = fc.constantFrom(
      "{{#a}}{{#b}}{{#a}}[{{.}}]{{/a}}{{/b}}{{/a}}",
      "{{#a}}{{#a}}{{#a}}{{/a}}{{/a}}{{/a}}",
      `{{#a}}${"x".repeat(2_000)}{{b}}{{/a}}`,
      "{{a}}{{{b}}}",
    );
    // No null: mustache.js throws a TypeError on a null list item (a library bug, not a limit).
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof(
        { depthSize: "large" },
        fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean()),
        fc.array(tie("tree"), { maxLength: 4 }),
        fc.dictionary(fc.constantFrom("a", "b", "i"), tie("tree"), {
          maxKeys: 3,
          noNullPrototype: true,
        }),
      ),
    }));
    const value = fc.oneof(
      tree,
      fc.nat({ max: 3_000 }).map((length) => Array.from({ length }, (_, i) => ({ i }))),
    );
    fc.assert(
      fc.property(templates, value, value, (template, a, b) => {
        const variables = deriveVariables(template);
        const given = Object.fromEntries(variables.map((v) => [v.name, v.name === "a" ? a : b]));
        try {
          const output = renderPrompt(template, variables, given);
          expect(output.length).toBeLessThanOrEqual(RENDER_LIMITS.outputChars);
        } catch (error) {
          expect(error).toBeInstanceOf(RenderLimitError);
          expect(error).toBeInstanceOf(RenderError);
        }
      }),
      { numRuns: 200, seed: 20261124 },
    );
  });

  it("refuses before allocating: 100,000 items, cycles, and sections multiplying output", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ["{{#a}}x{{/a}}", { a: new Array(100_000).fill(0) }, /variable 'a' holds more than 1000/],
      ["{{a}}", { a: cyclic }, /variable 'a' is nested more than 8/],
      [`{{#a}}${"x".repeat(60_000)}{{/a}}`, { a: new Array(1_000).fill(1) }, /too large/],
      ["{{#a}}{{#a}}{{#a}}{{/a}}{{/a}}{{/a}}", { a: new Array(1_000).fill({}) }, /too large/],
    ];
    for (const [template, given, message] of cases) {
      expect(() => renderPrompt(template, deriveVariables(template), given)).toThrow(message);
    }
  });

  it("never lets a given value reach the object prototype", () => {
    const variables = deriveVariables("{{a}}");
    expect(() =>
      renderPrompt("{{a}}", variables, JSON.parse('{"a":"x","__proto__":{"polluted":1}}')),
    ).toThrow(RenderError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
