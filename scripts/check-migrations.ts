/**
 * `npm run db:check`: fails when a drizzle schema and its migrations disagree, i.e. when a schema
 * change was made without `npm run db:generate`. Both databases are checked: the admin's
 * (drizzle.config.ts → migrations/) and the telemetry worker's (drizzle.telemetry.config.ts →
 * migrations/telemetry/). `drizzle-kit check` only checks that the
 * snapshots are consistent with each other; the question here is whether `drizzle-kit generate`
 * would write a new migration. It is run against a temporary copy of migrations/, so nothing is
 * left behind in the repository either way.
 *
 *   tsx scripts/check-migrations.ts [--schema <file>]   (default: the schema in drizzle.config.ts)
 *
 * Exit codes: 0 in step, 1 a migration is missing, 2 drizzle-kit did not give an answer.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Config } from "drizzle-kit";
import adminConfig from "../drizzle.config";
import telemetryConfig from "../drizzle.telemetry.config";

const root = join(import.meta.dirname, "..");
const { values } = parseArgs({ options: { schema: { type: "string" } } });

function contents(dir: string): Map<string, string> {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((f) =>
    f.isFile(),
  );
  return new Map(
    files.map((f) => {
      const path = join(f.parentPath, f.name);
      return [relative(dir, path), readFileSync(path, "utf8")];
    }),
  );
}

/** 0 in step, 1 a migration is missing, 2 drizzle-kit did not give an answer. */
function checkMigrations(config: Config, schemas: string[]): number {
  const migrations = resolve(root, config.out ?? "drizzle");
  const work = mkdtempSync(join(tmpdir(), "drizzle-check-"));
  try {
    cpSync(migrations, join(work, "migrations"), { recursive: true });
    // drizzle-kit resolves `out` against its working directory (an absolute path is mangled), so
    // it runs in the temporary folder with the project's config pointed at the copy.
    const checkConfig = {
      ...config,
      schema: schemas.map((schema) => resolve(root, schema)),
      out: "migrations",
    };
    writeFileSync(
      join(work, "drizzle.config.mjs"),
      `export default ${JSON.stringify(checkConfig)};\n`,
    );
    const before = contents(join(work, "migrations"));
    const result = spawnSync(
      join(root, "node_modules/.bin/drizzle-kit"),
      ["generate", "--config", "drizzle.config.mjs"],
      // No stdin: should drizzle-kit ask a question (a rename?), it must not wait for an answer.
      { cwd: work, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", timeout: 120_000 },
    );
    const after = contents(join(work, "migrations"));
    const written = [...after].filter(([path, text]) => before.get(path) !== text);

    if (written.length > 0) {
      console.error(
        `The drizzle schema (${schemas.join(", ")}) and ${relative(root, migrations)}/ disagree: ` +
          "`drizzle-kit generate` would write",
      );
      for (const [path, text] of written) {
        console.error(`\n--- ${relative(root, migrations)}/${path}`);
        if (path.endsWith(".sql")) console.error(text.trim());
      }
      console.error("\nRun `npm run db:generate` and commit the migration.");
      return 1;
    } else if (result.status !== 0 || !result.stdout.includes("No schema changes")) {
      // drizzle-kit exits 0 on some errors, so only its explicit "no changes" counts as a pass.
      console.error(`${result.stdout}${result.stderr}${result.error ?? ""}`);
      console.error(
        "drizzle-kit generate did not confirm that the migrations are up to date (if it wanted to " +
          "ask about a rename, the schema changed: run `npm run db:generate` and answer it)",
      );
      return 2;
    } else {
      console.log(`${relative(root, migrations)}/ is up to date with the drizzle schema`);
      return 0;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const checks: [Config, string[]][] = values.schema
  ? [[adminConfig, [values.schema]]]
  : [adminConfig, telemetryConfig].map((config) => [config, [config.schema ?? []].flat()]);
process.exitCode = Math.max(...checks.map(([config, schemas]) => checkMigrations(config, schemas)));
