import { LATEST_LABEL } from "@cuecard/core/names";
import { canonicalJson } from "@cuecard/core/prompt";
import type { AdminClient, AdminPrompt, AdminVersion, VersionInput } from "../../admin";
import { CuecardRequestError } from "../../errors";
import { adminFor, type CliContext, type CommandResult } from "../context";
import { CliError, ExitCode } from "../exit-codes";
import {
  LangfuseApiError,
  type LangfusePromptSummary,
  LangfusePrompts,
  type LangfusePromptVersion,
  LangfuseUnavailableError,
} from "../langfuse";

/**
 * `cuecard import langfuse`: copies every prompt of a Langfuse project into a Cuecard project,
 * version for version, with labels and tags, and can run again to take only what is new.
 *
 * How a Langfuse version maps to a Cuecard version: by content. Cuecard numbers a prompt's
 * versions 1, 2, 3… and never deletes one, while Langfuse's numbers can have gaps after a delete,
 * so numbers cannot be carried over. A Cuecard version and a Langfuse version are the same when
 * their type, prompt, config and commit message are equal. Walking both lists oldest first, each
 * Cuecard version is matched with the next equal Langfuse version; the Langfuse versions after the
 * last match are new and are appended in order. Anything else (a Cuecard version newer than every
 * match, or a prompt whose versions match none) is a conflict: that prompt is left untouched.
 * The import adds and moves, it never removes: labels and tags Langfuse does not have stay.
 */

export const DEFAULT_LANGFUSE_HOST = "https://cloud.langfuse.com";

export interface ImportLangfuseOptions {
  host?: string;
  publicKey?: string;
  secretKey?: string;
  /** The Cuecard project; cuecard.json's by default. */
  project?: string;
  dryRun: boolean;
}

type Status = "created" | "updated" | "unchanged" | "conflict" | "skipped";

interface VersionAdded {
  langfuse: number;
  cuecard: number;
}

interface LabelMoveOutcome {
  label: string;
  from: number | null;
  to: number;
  /** Cuecard's refusal, when it refused this move. */
  refused?: string;
  /** Refused because the label is protected and the key's role may not move it. */
  protectedLabel?: true;
}

interface PromptOutcome {
  name: string;
  type: "text" | "chat";
  status: Status;
  /** Each imported Langfuse version and the Cuecard version it is (added now or before). */
  versions: VersionAdded[];
  added: VersionAdded[];
  labels: LabelMoveOutcome[];
  tagsAdded: string[];
  /** Why the prompt is a conflict or was skipped, or why its tags were refused. */
  reason?: string;
  tagsRefused?: string;
}

function sameContent(langfuse: LangfusePromptVersion, cuecard: AdminVersion): boolean {
  return (
    langfuse.type === cuecard.type &&
    canonicalJson(langfuse.prompt) === canonicalJson(cuecard.prompt) &&
    canonicalJson(langfuse.config ?? {}) === canonicalJson(cuecard.config) &&
    (langfuse.commitMessage || null) === (cuecard.commitMessage || null)
  );
}

function versionInput(langfuse: LangfusePromptVersion): VersionInput {
  // Passed through as Langfuse gives them (chat placeholders included): Cuecard's own rules
  // decide what it accepts, and say why when it does not.
  const input: VersionInput = { prompt: langfuse.prompt as VersionInput["prompt"] };
  if (langfuse.config !== null && langfuse.config !== undefined) {
    input.config = langfuse.config as VersionInput["config"];
  }
  if (langfuse.commitMessage) input.commitMessage = langfuse.commitMessage;
  return input;
}

interface Match {
  /** Langfuse version → Cuecard version, for the versions both have. */
  matched: VersionAdded[];
  /** Langfuse versions to append, oldest first. */
  toAdd: LangfusePromptVersion[];
  conflict?: string;
}

function range(numbers: number[]): string {
  return numbers.map((number) => `v${number}`).join(", ");
}

/** Pairs the versions both sides have; see the module comment for the rule. */
export function matchVersions(langfuse: LangfusePromptVersion[], cuecard: AdminVersion[]): Match {
  const matched: VersionAdded[] = [];
  const unmatchedCuecard: number[] = [];
  let next = 0;
  for (const version of cuecard) {
    const index = langfuse.findIndex(
      (candidate, position) => position >= next && sameContent(candidate, version),
    );
    if (index === -1) {
      unmatchedCuecard.push(version.version);
      continue;
    }
    const skipped = langfuse.slice(next, index).map((candidate) => candidate.version);
    if (skipped.length > 0) {
      return {
        matched,
        toAdd: [],
        conflict: `Langfuse ${range(skipped)} ${skipped.length === 1 ? "is" : "are"} not in Cuecard, but newer versions are`,
      };
    }
    matched.push({ langfuse: langfuse[index]?.version as number, cuecard: version.version });
    next = index + 1;
  }
  if (cuecard.length > 0 && matched.length === 0) {
    return {
      matched,
      toAdd: [],
      conflict: `it exists in Cuecard (${range(cuecard.map((version) => version.version))}) with content that matches no Langfuse version`,
    };
  }
  const lastMatch = matched.at(-1)?.cuecard ?? 0;
  const newer = unmatchedCuecard.filter((version) => version > lastMatch);
  if (newer.length > 0) {
    return {
      matched,
      toAdd: [],
      conflict: `Cuecard ${range(newer)} ${newer.length === 1 ? "is" : "are"} not in Langfuse (edited in Cuecard, or deleted in Langfuse)`,
    };
  }
  return { matched, toAdd: langfuse.slice(next) };
}

function refusalOf(error: unknown): string | undefined {
  if (!(error instanceof CuecardRequestError)) return undefined;
  if (error.status === 400 || error.status === 409 || error.status === 422) return error.message;
  return undefined;
}

function isProtectedLabelRefusal(error: unknown): error is CuecardRequestError {
  return (
    error instanceof CuecardRequestError &&
    error.status === 403 &&
    error.problem.permission === "labels:move-protected"
  );
}

class PromptImport {
  constructor(
    private readonly admin: AdminClient,
    private readonly project: string,
    private readonly dryRun: boolean,
  ) {}

  async run(
    summary: LangfusePromptSummary,
    langfuse: LangfusePromptVersion[],
  ): Promise<PromptOutcome> {
    const outcome: PromptOutcome = {
      name: summary.name,
      type: summary.type,
      status: "unchanged",
      versions: [],
      added: [],
      labels: [],
      tagsAdded: [],
    };
    let remote: AdminPrompt | null;
    try {
      remote = await this.admin.findPrompt(this.project, summary.name);
    } catch (error) {
      const refusal = refusalOf(error);
      if (refusal === undefined) throw error;
      return { ...outcome, status: "skipped", reason: `Cuecard refused it: ${refusal}` };
    }
    if (remote?.archivedAt) {
      return {
        ...outcome,
        status: "skipped",
        reason: "it is archived in Cuecard; restore it there to import into it",
      };
    }
    if (remote && remote.type !== summary.type) {
      return {
        ...outcome,
        status: "conflict",
        reason: `it is a ${remote.type} prompt in Cuecard and a ${summary.type} prompt in Langfuse`,
      };
    }
    if (!remote && langfuse.length === 0) {
      return { ...outcome, status: "skipped", reason: "it has no versions in Langfuse" };
    }
    const cuecard = remote ? await this.admin.allVersions(this.project, summary.name) : [];
    const match = matchVersions(langfuse, cuecard);
    if (match.conflict) return { ...outcome, status: "conflict", reason: match.conflict };
    outcome.versions = [...match.matched];
    outcome.status = remote ? "unchanged" : "created";

    let exists = remote !== null;
    let latest = remote?.latestVersion ?? 0;
    for (const version of match.toAdd) {
      const added = { langfuse: version.version, cuecard: latest + 1 };
      if (!this.dryRun) {
        try {
          // The number Cuecard gave is the one labels are moved to.
          if (!exists) {
            const created = await this.admin.createPrompt(this.project, {
              name: summary.name,
              type: summary.type,
              version: versionInput(version),
            });
            added.cuecard = created.version?.version ?? added.cuecard;
          } else {
            const created = await this.admin.createVersion(
              this.project,
              summary.name,
              versionInput(version),
            );
            added.cuecard = created.version;
          }
        } catch (error) {
          const refusal = refusalOf(error);
          if (refusal === undefined) throw error;
          const where = `Langfuse v${version.version}`;
          return {
            ...outcome,
            status: "skipped",
            reason: !exists
              ? `Cuecard refused it: ${refusal}`
              : `Cuecard refused ${where}: ${refusal} (the versions before it are imported)`,
          };
        }
      }
      exists = true;
      latest = added.cuecard;
      outcome.added.push(added);
      outcome.versions.push(added);
    }

    await this.importTags(summary, remote, outcome);
    await this.moveLabels(langfuse, remote, outcome);
    if (
      outcome.status === "unchanged" &&
      (outcome.added.length > 0 ||
        outcome.tagsAdded.length > 0 ||
        outcome.labels.some((move) => !move.refused))
    ) {
      outcome.status = "updated";
    }
    return outcome;
  }

  private async importTags(
    summary: LangfusePromptSummary,
    remote: AdminPrompt | null,
    outcome: PromptOutcome,
  ) {
    const have = remote?.tags ?? [];
    const missing = summary.tags.filter((tag) => !have.includes(tag));
    if (missing.length === 0) return;
    if (!this.dryRun) {
      try {
        await this.admin.updatePrompt(this.project, summary.name, {
          tags: [...have, ...missing],
        });
      } catch (error) {
        const refusal = refusalOf(error);
        if (refusal === undefined) throw error;
        outcome.tagsRefused = `Cuecard refused the tags ${missing.join(", ")}: ${refusal}`;
        return;
      }
    }
    outcome.tagsAdded = missing;
  }

  private async moveLabels(
    langfuse: LangfusePromptVersion[],
    remote: AdminPrompt | null,
    outcome: PromptOutcome,
  ) {
    const cuecardOf = new Map(outcome.versions.map((pair) => [pair.langfuse, pair.cuecard]));
    for (const version of langfuse) {
      const target = cuecardOf.get(version.version);
      if (target === undefined) continue;
      for (const label of version.labels) {
        // Cuecard moves `latest` to every new version by itself.
        if (label === LATEST_LABEL) continue;
        const current = remote?.labels.find((candidate) => candidate.name === label);
        if (current?.version === target) continue;
        const move: LabelMoveOutcome = { label, from: current?.version ?? null, to: target };
        if (!this.dryRun) {
          try {
            await this.admin.moveLabel(this.project, outcome.name, label, {
              version: target,
              expectedRev: current?.rev ?? null,
            });
          } catch (error) {
            if (isProtectedLabelRefusal(error)) {
              move.refused = error.message;
              move.protectedLabel = true;
            } else {
              const refusal = refusalOf(error);
              if (refusal === undefined) throw error;
              move.refused = refusal;
            }
          }
        }
        outcome.labels.push(move);
      }
    }
  }
}

function versionsText(pairs: VersionAdded[]): string {
  const cuecard = pairs.map((pair) => pair.cuecard);
  const first = cuecard[0];
  const last = cuecard.at(-1);
  const numbers = cuecard.length === 1 ? `v${first}` : `v${first}–v${last}`;
  return `${numbers} from Langfuse ${range(pairs.map((pair) => pair.langfuse))}`;
}

function outcomeLine(outcome: PromptOutcome, dryRun: boolean): string {
  const would = (done: string, planned: string) => (dryRun ? planned : done);
  if (outcome.status === "conflict") {
    return `${outcome.name}: conflict, not changed: ${outcome.reason}`;
  }
  if (outcome.status === "skipped") return `${outcome.name}: skipped: ${outcome.reason}`;
  const parts: string[] = [];
  if (outcome.status === "created") {
    parts.push(
      `${would("created", "would be created")} with ${versionsText(outcome.added)} (${outcome.type})`,
    );
  } else if (outcome.added.length > 0) {
    parts.push(`${versionsText(outcome.added)} ${would("added", "would be added")}`);
  }
  for (const move of outcome.labels) {
    const from = move.from === null ? "" : `v${move.from} → `;
    parts.push(
      move.refused
        ? `${move.label} not moved to v${move.to}: ${move.refused}`
        : `${move.label} ${from}v${move.to}`,
    );
  }
  if (outcome.tagsAdded.length > 0) {
    parts.push(`${would("tags added", "tags would be added")}: ${outcome.tagsAdded.join(", ")}`);
  }
  if (outcome.tagsRefused) parts.push(outcome.tagsRefused);
  if (parts.length === 0) {
    const imported = outcome.versions.length;
    return `${outcome.name}: unchanged (${imported} version${imported === 1 ? "" : "s"} already imported)`;
  }
  return `${outcome.name}: ${parts.join("; ")}`;
}

function langfuseSettings(ctx: CliContext, options: ImportLangfuseOptions) {
  const host =
    options.host ??
    ctx.env.LANGFUSE_BASE_URL ??
    ctx.env.LANGFUSE_BASEURL ??
    ctx.env.LANGFUSE_HOST ??
    DEFAULT_LANGFUSE_HOST;
  const publicKey = options.publicKey ?? ctx.env.LANGFUSE_PUBLIC_KEY;
  const secretKey = options.secretKey ?? ctx.env.LANGFUSE_SECRET_KEY;
  if (!publicKey || !secretKey) {
    throw new CliError(
      ExitCode.usage,
      "Give the Langfuse project's API keys: --public-key pk-lf-… and --secret-key sk-lf-… (or LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY), from the project's Settings → API Keys in Langfuse.",
      "no_langfuse_key",
    );
  }
  if (!/^https?:\/\//.test(host)) {
    throw new CliError(
      ExitCode.usage,
      `--host must be a Langfuse URL such as ${DEFAULT_LANGFUSE_HOST}, not '${host}'`,
      "usage",
    );
  }
  return { host, publicKey, secretKey };
}

/** What the user sees when Langfuse refused or failed: which setting to check. */
function langfuseError(error: unknown, host: string): unknown {
  if (error instanceof LangfuseUnavailableError) {
    return new CliError(
      ExitCode.unavailable,
      `Langfuse: ${error.message}. Is --host (${host}) right?`,
      "langfuse_unavailable",
    );
  }
  if (!(error instanceof LangfuseApiError)) return error;
  const said = `${error.message}${error.error ? ` (${error.error})` : ""}`;
  if (error.status === 401 || error.status === 403) {
    return new CliError(
      ExitCode.usage,
      `Langfuse at ${host} refused the keys: ${said}. Check --public-key and --secret-key (LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY): both keys of one project, for the region --host points to. Nothing was imported.`,
      "langfuse_unauthorized",
    );
  }
  return new CliError(
    ExitCode.usage,
    `Langfuse at ${host} answered ${error.status}: ${said}`,
    "langfuse_error",
  );
}

const REFERENCE_NAME = /@@@langfusePrompt:(?:[^@]*\|)?name=([^|@]+)/g;

/**
 * Prompts in an order where each comes after the prompts it includes (prompt references), since
 * Cuecard checks a reference when the version is saved: what it names must exist by then. Name
 * order otherwise, and for prompts that include each other (in different versions).
 */
function includedFirst<T extends { summary: { name: string }; versions: { prompt: unknown }[] }>(
  read: T[],
): T[] {
  const includes = new Map<string, Set<string>>();
  for (const { summary, versions } of read) {
    const names = new Set<string>();
    for (const version of versions) {
      for (const match of JSON.stringify(version.prompt).matchAll(REFERENCE_NAME)) {
        if (match[1] && match[1] !== summary.name) names.add(match[1]);
      }
    }
    includes.set(summary.name, names);
  }
  const ordered: T[] = [];
  const placed = new Set<string>();
  let pending = [...read];
  while (pending.length > 0) {
    const ready = pending.filter(({ summary }) =>
      [...(includes.get(summary.name) ?? [])].every(
        (name) => placed.has(name) || !includes.has(name),
      ),
    );
    const next = ready.length > 0 ? ready : pending.slice(0, 1);
    for (const item of next) {
      ordered.push(item);
      placed.add(item.summary.name);
    }
    pending = pending.filter((item) => !next.includes(item));
  }
  return ordered;
}

export async function importLangfuse(
  ctx: CliContext,
  options: ImportLangfuseOptions,
): Promise<CommandResult> {
  const { host, publicKey, secretKey } = langfuseSettings(ctx, options);
  const { config, admin } = await adminFor(ctx);
  const project = options.project ?? config.project;
  const source = new LangfusePrompts({ baseUrl: host, publicKey, secretKey, fetch: ctx.fetch });

  // Everything is read from Langfuse before anything is written to Cuecard, so wrong keys or an
  // unreachable Langfuse stop the import with nothing written.
  const read: { summary: LangfusePromptSummary; versions: LangfusePromptVersion[] }[] = [];
  try {
    const summaries = await source.listPrompts();
    summaries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const summary of summaries) {
      const versions: LangfusePromptVersion[] = [];
      for (const number of [...summary.versions].sort((a, b) => a - b)) {
        try {
          versions.push(await source.getVersion(summary.name, number));
        } catch (error) {
          // Deleted in Langfuse between the list and this read: it is simply not there any more.
          if (error instanceof LangfuseApiError && error.status === 404) {
            ctx.progress(`  ${summary.name}: Langfuse v${number} is gone, not imported`);
            continue;
          }
          throw error;
        }
      }
      // Where each label points, read the way an app reads it: a version's own `labels` is not
      // reliable on every server (Cuecard's Langfuse API serves a pinned version from its
      // immutable record, which does not know the labels that point at it now).
      const labelled = new Map<number, string[]>();
      for (const label of summary.labels) {
        if (label === LATEST_LABEL) continue;
        const target = await source.getLabel(summary.name, label);
        labelled.set(target.version, [...(labelled.get(target.version) ?? []), label]);
      }
      for (const version of versions) version.labels = labelled.get(version.version) ?? [];
      read.push({ summary, versions });
    }
  } catch (error) {
    throw langfuseError(error, host);
  }
  ctx.progress(`Read ${read.length} prompt(s) from Langfuse at ${host}.`);
  read.splice(0, read.length, ...includedFirst(read));

  const importer = new PromptImport(admin, project, options.dryRun);
  const outcomes: PromptOutcome[] = [];
  for (const { summary, versions } of read) {
    let outcome: PromptOutcome;
    try {
      outcome = await importer.run(summary, versions);
    } catch (error) {
      if (error instanceof CuecardRequestError && (error.status === 401 || error.status === 403)) {
        throw new CliError(
          ExitCode.usage,
          `Cuecard refused ${summary.name}: ${error.message} Importing needs an editor key (cc_editor_…) in CUECARD_API_KEY, and a publisher or admin key (cc_publisher_…, cc_admin_…) to move protected labels such as production.`,
          error.code ?? `http_${error.status}`,
        );
      }
      throw error;
    }
    ctx.print(outcomeLine(outcome, options.dryRun));
    outcomes.push(outcome);
  }

  const count = (status: Status) => outcomes.filter((outcome) => outcome.status === status).length;
  const moves = outcomes.flatMap((outcome) => outcome.labels);
  const refusedMoves = moves.filter((move) => move.refused);
  const totals = {
    created: count("created"),
    updated: count("updated"),
    unchanged: count("unchanged"),
    conflicts: count("conflict"),
    skipped: count("skipped"),
    versionsAdded: outcomes.reduce((sum, outcome) => sum + outcome.added.length, 0),
    labelsMoved: moves.length - refusedMoves.length,
    labelMovesRefused: refusedMoves.length,
    tagsAdded: outcomes.reduce((sum, outcome) => sum + outcome.tagsAdded.length, 0),
  };
  ctx.print(
    `${options.dryRun ? "Dry run, nothing written: " : ""}${totals.created} prompt(s) created, ${totals.updated} updated, ${totals.unchanged} unchanged, ${totals.conflicts} conflict(s), ${totals.skipped} skipped; ${totals.versionsAdded} version(s) added, ${totals.labelsMoved} label(s) moved, ${totals.tagsAdded} tag(s) added.`,
  );
  const protectedRefusals = outcomes.flatMap((outcome) =>
    outcome.labels.filter((move) => move.protectedLabel),
  );
  if (protectedRefusals.length > 0) {
    const labels = [...new Set(protectedRefusals.map((move) => move.label))].join(", ");
    ctx.progress(
      `error: Cuecard refused to move the protected label(s) ${labels}: this key's role may not. Run the import again with a publisher or admin key (cc_publisher_… or cc_admin_…) in CUECARD_API_KEY; what was imported stays and is not imported twice.`,
    );
  }
  if (totals.conflicts > 0) {
    ctx.progress(
      `error: ${totals.conflicts} prompt(s) in Cuecard differ from Langfuse and were not overwritten; see 'conflict' above.`,
    );
  }
  const refused =
    totals.skipped > 0 ||
    totals.labelMovesRefused > 0 ||
    outcomes.some((outcome) => outcome.tagsRefused);
  return {
    exitCode: totals.conflicts > 0 ? ExitCode.conflict : refused ? ExitCode.usage : ExitCode.ok,
    data: { dryRun: options.dryRun, project, langfuse: host, totals, prompts: outcomes },
  };
}
