import {
  type ChatMessage,
  isPlaceholder,
  type PromptContent,
  type VariableSpec,
} from "@cuecard/core/prompt";
import { RenderError, renderPrompt } from "@cuecard/core/template";
import { parse as parseYaml } from "yaml";
import { PromptFileError } from "./prompt-file";

/**
 * Test cases kept beside a prompt (`support/triage.test.yaml`): variables in, assertions on the
 * rendered output. They check the template, not a model: fast, offline, deterministic.
 *
 *     - name: security tickets mention data exposure
 *       variables: { company: Acme, ticket: "I can see another customer's invoices" }
 *       expect:
 *         contains: [security, Acme]
 *         notContains: ["{{"]
 *         regex: "urgency.*high"
 *         maxLength: 2000
 *         role: system        # chat only: assert on these messages
 */

export interface Expectations {
  contains?: string[];
  notContains?: string[];
  regex?: string[];
  maxLength?: number;
  /** On by default: the render must not fail for missing variables or leave `{{tags}}` behind. */
  noUnresolvedVariables?: boolean;
  role?: ChatMessage["role"];
}

export interface TestCase {
  name: string;
  variables: Record<string, unknown>;
  expect: Expectations;
}

export interface CaseResult {
  name: string;
  passed: boolean;
  failures: string[];
}

const EXPECT_KEYS = new Set([
  "contains",
  "notContains",
  "regex",
  "maxLength",
  "noUnresolvedVariables",
  "role",
]);

export function parseTestCases(source: string): TestCase[] {
  let parsed: unknown;
  try {
    parsed = parseYaml(source);
  } catch (error) {
    throw new PromptFileError(`not valid YAML: ${(error as Error).message}`);
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { cases?: unknown } | null)?.cases;
  if (!Array.isArray(list)) {
    throw new PromptFileError("must be a list of cases: - name, variables, expect");
  }
  return list.map((raw, index) => {
    const item = (raw ?? {}) as Record<string, unknown>;
    const name = typeof item.name === "string" ? item.name : `case ${index + 1}`;
    const variables = item.variables ?? {};
    if (typeof variables !== "object" || Array.isArray(variables)) {
      throw new PromptFileError(`${name}: variables must be a mapping of name → value`);
    }
    const expect = (item.expect ?? {}) as Record<string, unknown>;
    const unknownKeys = Object.keys(expect).filter((key) => !EXPECT_KEYS.has(key));
    if (unknownKeys.length > 0) {
      throw new PromptFileError(
        `${name}: unknown assertion(s) ${unknownKeys.join(", ")}; use ${[...EXPECT_KEYS].join(", ")}`,
      );
    }
    const list = (key: string) => {
      const value = expect[key];
      if (value === undefined) return undefined;
      const items = Array.isArray(value) ? value : [value];
      if (items.some((entry) => typeof entry !== "string")) {
        throw new PromptFileError(`${name}: expect.${key} must be a string or a list of strings`);
      }
      return items as string[];
    };
    const expectations: Expectations = {
      contains: list("contains"),
      notContains: list("notContains"),
      regex: list("regex"),
    };
    for (const pattern of expectations.regex ?? []) {
      try {
        new RegExp(pattern);
      } catch (error) {
        throw new PromptFileError(`${name}: expect.regex ${(error as Error).message}`);
      }
    }
    if (expect.maxLength !== undefined) {
      if (typeof expect.maxLength !== "number" || expect.maxLength < 0) {
        throw new PromptFileError(`${name}: expect.maxLength must be a number of characters`);
      }
      expectations.maxLength = expect.maxLength;
    }
    if (expect.noUnresolvedVariables !== undefined) {
      expectations.noUnresolvedVariables = expect.noUnresolvedVariables === true;
    }
    if (expect.role !== undefined) expectations.role = expect.role as ChatMessage["role"];
    return { name, variables: variables as Record<string, unknown>, expect: expectations };
  });
}

/** A tag Mustache would have rendered had it been a tag: `{{name}}`, `{{#a}}`, `{{{raw}}}`… */
const UNRESOLVED = /\{\{\{?\s*[#^/&!>]?\s*[\w.]+\s*\}?\}\}/;

export function runTestCase(
  prompt: PromptContent,
  specs: VariableSpec[],
  testCase: TestCase,
): CaseResult {
  const failures: string[] = [];
  const expect = testCase.expect;
  let rendered: PromptContent;
  try {
    // A case checks the template's own text: placeholders (the app's messages) stay empty.
    rendered = renderPrompt(prompt, specs, testCase.variables, {}, "keep");
  } catch (error) {
    if (!(error instanceof RenderError)) throw error;
    return { name: testCase.name, passed: false, failures: [`does not render: ${error.message}`] };
  }
  const text =
    typeof rendered === "string"
      ? rendered
      : rendered
          .filter((item): item is ChatMessage => !isPlaceholder(item))
          .filter((message) => !expect.role || message.role === expect.role)
          .map((message) => message.content)
          .join("\n\n");
  for (const needle of expect.contains ?? []) {
    if (!text.includes(needle)) failures.push(`does not contain ${JSON.stringify(needle)}`);
  }
  for (const needle of expect.notContains ?? []) {
    if (text.includes(needle)) failures.push(`contains ${JSON.stringify(needle)}`);
  }
  for (const pattern of expect.regex ?? []) {
    if (!new RegExp(pattern).test(text)) failures.push(`does not match /${pattern}/`);
  }
  if (expect.maxLength !== undefined && text.length > expect.maxLength) {
    failures.push(`is ${text.length} characters long; the limit is ${expect.maxLength}`);
  }
  if (expect.noUnresolvedVariables !== false) {
    const leftover = UNRESOLVED.exec(text);
    if (leftover) failures.push(`leaves ${leftover[0]} unresolved`);
  }
  return { name: testCase.name, passed: failures.length === 0, failures };
}
