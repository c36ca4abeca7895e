import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  deriveVariables,
  RenderError,
  renderPrompt,
  TemplateError,
} from "../../workers/shared/template";

/**
 * The template parser and renderer face whatever authors and API clients type. For any string
 * they must return a result or a structured error (never another exception), quickly.
 */

const TIME_BUDGET_MS = 250;

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
  const started = performance.now();
  try {
    return { variables: deriveVariables(template), ms: performance.now() - started };
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateError);
    expect((error as Error).message.length).toBeGreaterThan(0);
    return { error, ms: performance.now() - started };
  }
}

describe("template fuzzing", () => {
  it("derives variables or explains why not, for arbitrary and mustache-like strings", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), mustacheish, tagSoup), (template) => {
        const outcome = deriveOrExplain(template);
        expect(outcome.ms).toBeLessThan(TIME_BUDGET_MS);
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
    expect(outcome.ms).toBeLessThan(TIME_BUDGET_MS * 4);
    expect(outcome.error).toBeInstanceOf(TemplateError);
  });

  it("handles 100 KB inputs: plain text, many tags, and an unbalanced opener", () => {
    const inputs = [
      "lorem ipsum ".repeat(9_000),
      "{{name}} ".repeat(12_000),
      `${"x".repeat(100_000)}{{unclosed`,
      "{{".repeat(50_000),
    ];
    for (const template of inputs) {
      const outcome = deriveOrExplain(template);
      expect(outcome.ms).toBeLessThan(TIME_BUDGET_MS * 4);
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
