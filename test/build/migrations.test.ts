/**
 * scripts/check-migrations.ts fails when the drizzle schema has changed without a migration and
 * passes the real schema. The changed schema is the real one plus a table, written next to this
 * file (so that drizzle-orm resolves) and deleted afterwards.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { root, run } from "./run";

const fixtures = mkdtempSync(join(root, "test/build/.migrations-fixtures-"));
afterAll(() => rmSync(fixtures, { recursive: true, force: true }));

const check = (args: string[] = []) =>
  run(join(root, "node_modules/.bin/tsx"), ["scripts/check-migrations.ts", ...args]);

const gitStatus = () => run("git", ["status", "--porcelain", "--", "migrations"]);

describe.concurrent("the migrations check", () => {
  it("passes the committed schema and migrations", async () => {
    const result = await check();
    expect(result.code, result.output).toBe(0);
  });

  it("fails a schema change that has no migration, showing the migration it needs", async () => {
    const schema = join(fixtures, "schema.ts");
    writeFileSync(
      schema,
      `${readFileSync(join(root, "workers/platform/db/schema.ts"), "utf8")}
export const unmigrated = sqliteTable("unmigrated_fixture", { id: integer("id").primaryKey() });
`,
    );
    const before = await gitStatus();
    const result = await check(["--schema", schema]);
    expect(result.code, result.output).toBe(1);
    expect(result.output).toContain("CREATE TABLE `unmigrated_fixture`");
    expect(result.output).toContain("npm run db:generate");
    // The migration it would need was written to a copy, not into migrations/.
    expect((await gitStatus()).stdout).toBe(before.stdout);
  });
});
