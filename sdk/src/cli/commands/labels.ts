import { adminFor, type CliContext, type CommandResult } from "../context";
import { CliError, ExitCode } from "../exit-codes";

/** promote, rollback and log: label moves and history, with optimistic concurrency. */

export async function promote(
  ctx: CliContext,
  options: { name: string; to: string; version?: number; from?: string; expectedRev?: number },
): Promise<CommandResult> {
  const { config, admin } = await adminFor(ctx);
  const prompt = await admin.getPrompt(config.project, options.name);
  let version = options.version;
  if (version === undefined && options.from) {
    version = prompt.labels.find((label) => label.name === options.from)?.version;
    if (version === undefined) {
      throw new CliError(
        ExitCode.notFound,
        `Prompt '${options.name}' has no label '${options.from}' to promote from.`,
        "not_found",
      );
    }
  }
  version ??= prompt.latestVersion;
  const current = prompt.labels.find((label) => label.name === options.to);
  // The rev this decision was based on: if anyone moves the label meanwhile, the server says 409.
  const expectedRev = options.expectedRev ?? current?.rev ?? null;
  const change = await admin.moveLabel(config.project, options.name, options.to, {
    version,
    expectedRev,
  });
  ctx.print(
    change.changed
      ? `${options.name}: ${options.to} ${current ? `v${current.version} → ` : ""}v${change.label.version}`
      : `${options.name}: ${options.to} already at v${change.label.version}`,
  );
  return {
    exitCode: ExitCode.ok,
    data: { name: options.name, previous: current?.version ?? null, ...change },
  };
}

export async function rollback(
  ctx: CliContext,
  options: { name: string; label: string; toVersion?: number; expectedRev?: number },
): Promise<CommandResult> {
  const { config, admin } = await adminFor(ctx);
  const prompt = await admin.getPrompt(config.project, options.name);
  const current = prompt.labels.find((label) => label.name === options.label);
  if (!current) {
    throw new CliError(
      ExitCode.notFound,
      `Prompt '${options.name}' has no label '${options.label}' to roll back.`,
      "not_found",
    );
  }
  const change = await admin.rollbackLabel(config.project, options.name, options.label, {
    toVersion: options.toVersion,
    expectedRev: options.expectedRev ?? current.rev,
  });
  ctx.print(
    `${options.name}: ${options.label} v${current.version} → v${change.label.version} (rollback)`,
  );
  return {
    exitCode: ExitCode.ok,
    data: { name: options.name, previous: current.version, ...change },
  };
}

export async function log(
  ctx: CliContext,
  options: { name: string; label?: string; limit: number },
): Promise<CommandResult> {
  const { config, admin } = await adminFor(ctx);
  if (options.label) {
    const moves = await admin.labelHistory(
      config.project,
      options.name,
      options.label,
      options.limit,
    );
    for (const move of moves) {
      const from = move.fromVersion === null ? "(new)" : `v${move.fromVersion}`;
      const to = move.toVersion === null ? "(deleted)" : `v${move.toVersion}`;
      ctx.print(
        `${move.createdAt}  ${from} → ${to}  ${move.actor}${move.isRollback ? "  rollback" : ""}`,
      );
    }
    return { exitCode: ExitCode.ok, data: { name: options.name, label: options.label, moves } };
  }
  const versions = await admin.listVersions(config.project, options.name, options.limit);
  for (const version of versions) {
    const labels = version.labels.length > 0 ? ` (${version.labels.join(", ")})` : "";
    ctx.print(`v${version.version}${labels}  ${version.createdAt}  ${version.author}`);
    if (version.commitMessage) ctx.print(`    ${version.commitMessage}`);
  }
  return {
    exitCode: ExitCode.ok,
    data: {
      name: options.name,
      versions: versions.map(({ version, labels, createdAt, author, commitMessage, hash }) => ({
        version,
        labels,
        createdAt,
        author,
        commitMessage,
        hash,
      })),
    },
  };
}
