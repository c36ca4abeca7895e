/**
 * A unified line diff for `cuecard diff` and `push --dry-run`. Prompts are small (the admin caps
 * templates at 64 KiB), so a plain longest-common-subsequence table is fast enough and keeps the
 * SDK free of a diff dependency.
 */

type Edit = { kind: " " | "-" | "+"; line: string };

function edits(before: string[], after: string[]): Edit[] {
  const n = before.length;
  const m = after.length;
  // lcs[i * (m + 1) + j] = length of the longest common subsequence of before[i..] and after[j..].
  const lcs = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => lcs[i * (m + 1) + j] ?? 0;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] =
        before[i] === after[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
    }
  }
  const result: Edit[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && before[i] === after[j]) {
      result.push({ kind: " ", line: before[i] ?? "" });
      i++;
      j++;
    } else if (i < n && (j === m || at(i + 1, j) >= at(i, j + 1))) {
      // Deletions before additions, as git shows a replaced line.
      result.push({ kind: "-", line: before[i] ?? "" });
      i++;
    } else {
      result.push({ kind: "+", line: after[j] ?? "" });
      j++;
    }
  }
  return result;
}

/** `---`/`+++` headers and hunks with `context` lines around each change; "" when equal. */
export function unifiedDiff(
  before: string,
  after: string,
  labels: { before: string; after: string },
  context = 3,
): string {
  if (before === after) return "";
  const all = edits(before.split("\n"), after.split("\n"));
  const changed = all.map((edit, index) => (edit.kind === " " ? -1 : index)).filter((i) => i >= 0);
  const out = [`--- ${labels.before}`, `+++ ${labels.after}`];
  let hunkStart = -1;
  let hunkEnd = -1;
  const flush = () => {
    if (hunkStart < 0) return;
    let oldLine = 1;
    let newLine = 1;
    for (const edit of all.slice(0, hunkStart)) {
      if (edit.kind !== "+") oldLine++;
      if (edit.kind !== "-") newLine++;
    }
    const hunk = all.slice(hunkStart, hunkEnd + 1);
    const oldCount = hunk.filter((edit) => edit.kind !== "+").length;
    const newCount = hunk.filter((edit) => edit.kind !== "-").length;
    out.push(`@@ -${oldLine},${oldCount} +${newLine},${newCount} @@`);
    for (const edit of hunk) out.push(`${edit.kind}${edit.line}`);
  };
  for (const index of changed) {
    const start = Math.max(0, index - context);
    const end = Math.min(all.length - 1, index + context);
    if (hunkStart >= 0 && start <= hunkEnd + 1) {
      hunkEnd = Math.max(hunkEnd, end);
    } else {
      flush();
      hunkStart = start;
      hunkEnd = end;
    }
  }
  flush();
  return `${out.join("\n")}\n`;
}
