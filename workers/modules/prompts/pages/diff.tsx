import { type ChatItem, isPlaceholder, type PromptContent } from "@cuecard/core/prompt";
import { diffLines, diffWordsWithSpace } from "diff";

/** One row of a side-by-side diff; a missing side is a blank cell. */
interface DiffRow {
  kind: "same" | "changed" | "removed" | "added";
  left?: { number: number; text: string };
  right?: { number: number; text: string };
}

function linesOf(value: string): string[] {
  const lines = value.split("\n");
  // diffLines keeps each line's newline, so a chunk ends with an empty remainder.
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

export function diffRows(before: string, after: string): DiffRow[] {
  const rows: DiffRow[] = [];
  let left = 1;
  let right = 1;
  const parts = diffLines(before, after);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (!part) continue;
    const lines = linesOf(part.value);
    if (!part.added && !part.removed) {
      for (const text of lines) {
        rows.push({
          kind: "same",
          left: { number: left++, text },
          right: { number: right++, text },
        });
      }
      continue;
    }
    const next = parts[i + 1];
    if (part.removed && next?.added) {
      // A removed chunk followed by an added one is an edit: show the lines side by side.
      const added = linesOf(next.value);
      for (let j = 0; j < Math.max(lines.length, added.length); j++) {
        const l = lines[j];
        const r = added[j];
        rows.push({
          kind:
            l !== undefined && r !== undefined ? "changed" : l !== undefined ? "removed" : "added",
          left: l !== undefined ? { number: left++, text: l } : undefined,
          right: r !== undefined ? { number: right++, text: r } : undefined,
        });
      }
      i++;
      continue;
    }
    for (const text of lines) {
      rows.push(
        part.removed
          ? { kind: "removed", left: { number: left++, text } }
          : { kind: "added", right: { number: right++, text } },
      );
    }
  }
  return rows;
}

/** The words that changed within an edited line, marked with <del>/<ins>. */
function InlineChanges({
  before,
  after,
  side,
}: {
  before: string;
  after: string;
  side: "left" | "right";
}) {
  const parts = diffWordsWithSpace(before, after);
  return (
    <>
      {parts.map((part) => {
        if (side === "left") {
          if (part.added) return null;
          return part.removed ? <del>{part.value}</del> : part.value;
        }
        if (part.removed) return null;
        return part.added ? <ins>{part.value}</ins> : part.value;
      })}
    </>
  );
}

function Cell({ row, side }: { row: DiffRow; side: "left" | "right" }) {
  const line = row[side];
  if (!line)
    return (
      <>
        <td class="diff-number" />
        <td class="diff-empty" />
      </>
    );
  const other = row[side === "left" ? "right" : "left"];
  const mark = side === "left" ? "removed" : "added";
  return (
    <>
      <td class="diff-number">{line.number}</td>
      <td class={row.kind === "same" ? "diff-same" : `diff-${mark}`}>
        {row.kind !== "same" ? (
          <span class="visually-hidden">{side === "left" ? "removed: " : "added: "}</span>
        ) : null}
        {row.kind === "changed" && other ? (
          <InlineChanges
            before={side === "left" ? line.text : other.text}
            after={side === "left" ? other.text : line.text}
            side={side}
          />
        ) : (
          line.text || " "
        )}
      </td>
    </>
  );
}

export function SideBySideDiff(props: {
  caption: string;
  before: string;
  after: string;
  beforeTitle: string;
  afterTitle: string;
}) {
  const rows = diffRows(props.before, props.after);
  const unchanged = rows.every((row) => row.kind === "same");
  return (
    <section class="diff-block">
      <h3>
        {props.caption}
        {unchanged ? <span class="muted"> — no changes</span> : null}
      </h3>
      <table class="diff">
        <colgroup>
          <col class="diff-number-col" />
          <col />
          <col class="diff-number-col" />
          <col />
        </colgroup>
        <thead>
          <tr>
            <th colspan={2} scope="colgroup">
              {props.beforeTitle}
            </th>
            <th colspan={2} scope="colgroup">
              {props.afterTitle}
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr class={`diff-row-${row.kind}`}>
              <Cell row={row} side="left" />
              <Cell row={row} side="right" />
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** A message of the old version and the one it became in the new; a missing side is none. */
export interface MessagePair {
  before?: { index: number; message: ChatItem };
  after?: { index: number; message: ChatItem };
}

/** A message as it is diffed: the role is part of what changed, so it is the first line. */
const itemText = (m: ChatItem | undefined) =>
  m === undefined ? "" : isPlaceholder(m) ? `[placeholder ${m.name}]` : `[${m.role}]\n${m.content}`;

const sameMessage = (x: ChatItem, y: ChatItem) => itemText(x) === itemText(y);

/**
 * Aligns two message lists on their longest common subsequence of identical messages, so
 * inserting or deleting one message marks only it. Between two matched messages, what was
 * removed and what was added are paired in order as edits; the surplus is removed or added.
 */
export function alignMessages(before: ChatItem[], after: ChatItem[]): MessagePair[] {
  const n = before.length;
  const m = after.length;
  // lcs(i, j): the length of the longest common subsequence of before[i..] and after[j..].
  const table = new Array<number>((n + 1) * (m + 1)).fill(0);
  const lcs = (i: number, j: number) => table[i * (m + 1) + j] ?? 0;
  const same = (i: number, j: number) => sameMessage(before[i] as ChatItem, after[j] as ChatItem);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i * (m + 1) + j] = same(i, j)
        ? lcs(i + 1, j + 1) + 1
        : Math.max(lcs(i + 1, j), lcs(i, j + 1));
    }
  }
  const pairs: MessagePair[] = [];
  let removed: number[] = [];
  let added: number[] = [];
  const flush = () => {
    for (let k = 0; k < Math.max(removed.length, added.length); k++) {
      const r = removed[k];
      const a = added[k];
      pairs.push({
        before: r === undefined ? undefined : { index: r, message: before[r] as ChatItem },
        after: a === undefined ? undefined : { index: a, message: after[a] as ChatItem },
      });
    }
    removed = [];
    added = [];
  };
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && same(i, j)) {
      flush();
      pairs.push({
        before: { index: i, message: before[i] as ChatItem },
        after: { index: j, message: after[j] as ChatItem },
      });
      i++;
      j++;
    } else if (j < m && (i === n || lcs(i, j + 1) >= lcs(i + 1, j))) {
      added.push(j++);
    } else {
      removed.push(i++);
    }
  }
  flush();
  return pairs;
}

function messageCaption({ before, after }: MessagePair): string {
  if (!before) return `Message ${(after?.index ?? 0) + 1} (added)`;
  if (!after) return `Message ${before.index + 1} (removed)`;
  return before.index === after.index
    ? `Message ${after.index + 1}`
    : `Message ${after.index + 1} (was ${before.index + 1})`;
}

/** The parts of two versions that can differ: the template (or each message) and the config. */
export function VersionDiff(props: {
  before: { prompt: PromptContent; config: Record<string, unknown> } | undefined;
  after: { prompt: PromptContent; config: Record<string, unknown> };
  beforeTitle: string;
  afterTitle: string;
}) {
  const { before, after } = props;
  const titles = { beforeTitle: props.beforeTitle, afterTitle: props.afterTitle };
  const config = (value: Record<string, unknown> | undefined) =>
    value ? JSON.stringify(value, null, 2) : "";
  let promptParts: { caption: string; before: string; after: string }[];
  if (typeof after.prompt === "string" || typeof before?.prompt === "string") {
    promptParts = [
      {
        caption: "Template",
        before: typeof before?.prompt === "string" ? before.prompt : "",
        after: typeof after.prompt === "string" ? after.prompt : "",
      },
    ];
  } else {
    const a = before && typeof before.prompt !== "string" ? before.prompt : [];
    const text = itemText;
    promptParts = alignMessages(a, after.prompt).map((pair) => ({
      caption: messageCaption(pair),
      before: text(pair.before?.message),
      after: text(pair.after?.message),
    }));
  }
  return (
    <div class="version-diff">
      {promptParts.map((part) => (
        <SideBySideDiff
          caption={part.caption}
          before={part.before}
          after={part.after}
          {...titles}
        />
      ))}
      <SideBySideDiff
        caption="Model config"
        before={config(before?.config)}
        after={config(after.config)}
        {...titles}
      />
    </div>
  );
}
