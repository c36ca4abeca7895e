import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The documents whose code blocks are checked: every guide a user copies from. */
export function documentedFiles(root: string): string[] {
  const docs = readdirSync(join(root, "docs"))
    .filter((file) => file.endsWith(".md"))
    .sort()
    .map((file) => `docs/${file}`);
  return ["README.md", "sdk/README.md", ...docs];
}

/**
 * The languages a block may have, and what is done with it (test/build/docs.test.ts). `text` is
 * for what is not code: a diagram, a tree, or the output a command prints.
 */
export const BLOCK_LANGUAGES = [
  "ts",
  "json",
  "yaml",
  "toml",
  "markdown",
  "sh",
  "console",
  "http",
  "text",
] as const;
export type BlockLanguage = (typeof BLOCK_LANGUAGES)[number];

/** `<!-- docs-test: skip — why -->` on the line before a fence opts that block out. */
const SKIP_MARKER = /^<!--\s*docs-test:\s*skip\b\s*[-—:]*\s*(.*?)\s*-->$/;

export interface DocBlock {
  doc: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The info string's first word, as written (may be empty or unknown). */
  lang: string;
  /** The block's text, its fence's indentation removed. */
  code: string;
  /** The prose between the previous block (or heading) and this one: names the file a block is. */
  lead: string;
  /** The `##` heading the block is under. */
  section: string;
  /** Present when the block opted out: the reason given (may be empty, which the test refuses). */
  skip?: string;
}

export function extractBlocks(doc: string, text: string): DocBlock[] {
  const lines = text.split("\n");
  const blocks: DocBlock[] = [];
  let section = "";
  let lead: string[] = [];
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] as string;
    const open = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/.exec(line);
    if (!open) {
      const heading = /^#{2,3}\s+(.*)$/.exec(line);
      if (heading) {
        section = heading[1] as string;
        lead = [];
      } else {
        lead.push(line);
      }
      continue;
    }
    const [, indent = "", fence = "```", lang = ""] = open;
    const body: string[] = [];
    const start = index;
    for (index++; index < lines.length; index++) {
      const inner = lines[index] as string;
      if (inner.trim().startsWith(fence) && inner.trim().replace(/[`~]/g, "") === "") break;
      body.push(inner.startsWith(indent) ? inner.slice(indent.length) : inner.trimStart());
    }
    const previous = lines[start - 1]?.trim() ?? "";
    const skip = SKIP_MARKER.exec(previous);
    blocks.push({
      doc,
      line: start + 1,
      lang,
      code: `${body.join("\n")}\n`,
      lead: lead.join("\n"),
      section,
      ...(skip ? { skip: skip[1] ?? "" } : {}),
    });
    lead = [];
  }
  return blocks;
}

export function blocksOf(root: string): DocBlock[] {
  return documentedFiles(root).flatMap((doc) =>
    extractBlocks(doc, readFileSync(join(root, doc), "utf8")),
  );
}

export const where = (block: DocBlock) => `${block.doc}:${block.line}`;

/** One simple command of a shell block: its words, and the directory it runs in. */
export interface ShellCommand {
  words: string[];
  cwd: string;
}

/**
 * The simple commands of a shell block, including those inside `$(…)`: enough of shell syntax
 * for what the docs write (quotes, `\` continuations, comments, `&&`, `||`, `;`, `|`, `VAR=value`
 * prefixes, `cd`, `name() { …; }`). `$ ` prompts of a console block are handled by the caller.
 */
export function shellCommands(
  source: string,
  /** Functions defined so far (by earlier blocks of the same document, too). */
  functions = new Set<string>(),
): ShellCommand[] {
  const commands: ShellCommand[] = [];
  let cwd = ".";
  const flush = (words: string[]) => {
    const rest = [...words];
    while (rest.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(rest[0] as string)) rest.shift();
    while (rest[0] === "{" || rest[0] === "}") rest.shift();
    if (rest.length > 0 && /\(\)$/.test(rest[0] as string)) {
      // `name() { …; }`: a function the block defines; calling it is not an unknown command.
      functions.add((rest[0] as string).slice(0, -2));
      return;
    }
    if (rest.length === 0 || functions.has(rest[0] as string)) return;
    if (rest[0] === "cd" && rest[1]) cwd = join(cwd, rest[1]);
    commands.push({ words: rest.filter((word) => word !== "}"), cwd });
  };
  const parse = (text: string) => {
    let words: string[] = [];
    let word = "";
    let inWord = false;
    for (let i = 0; i < text.length; i++) {
      const char = text[i] as string;
      if (char === "\\" && text[i + 1] === "\n") {
        i++;
        continue;
      }
      if (char === "'") {
        const end = text.indexOf("'", i + 1);
        word += text.slice(i + 1, end);
        inWord = true;
        i = end;
        continue;
      }
      if (char === '"') {
        let j = i + 1;
        while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
        word += text.slice(i + 1, j);
        inWord = true;
        i = j;
        continue;
      }
      if (char === "$" && text[i + 1] === "(") {
        let depth = 1;
        let j = i + 2;
        while (j < text.length && depth > 0) {
          if (text[j] === "(") depth++;
          if (text[j] === ")") depth--;
          j++;
        }
        parse(text.slice(i + 2, j - 1));
        word += "$(…)";
        inWord = true;
        i = j - 1;
        continue;
      }
      if (char === "#" && !inWord) {
        const end = text.indexOf("\n", i);
        i = end === -1 ? text.length : end - 1;
        continue;
      }
      if (char === " " || char === "\t") {
        if (inWord) words.push(word);
        word = "";
        inWord = false;
        continue;
      }
      if (char === "\n" || char === ";" || char === "|" || char === "&") {
        if (inWord) words.push(word);
        word = "";
        inWord = false;
        flush(words);
        words = [];
        continue;
      }
      word += char;
      inWord = true;
    }
    if (inWord) words.push(word);
    flush(words);
  };
  parse(source);
  return commands;
}
