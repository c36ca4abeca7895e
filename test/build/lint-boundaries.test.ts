/**
 * The import boundaries in biome.json bite: a file that crosses one fails `biome lint` with
 * noRestrictedImports, and the same file with an allowed import passes (so a failure is the
 * rule's, not some other lint's). Fixtures are written at real paths, because the rules are scoped
 * by folder, and always deleted. One biome run per group keeps this fast.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { root, run } from "./run";

interface Fixture {
  folder: string;
  specifier: string;
  ext?: "ts" | "tsx";
}

interface Diagnostic {
  category: string;
  severity: string;
  location: { path: string };
}

let counter = 0;

/** Writes `import * as imported from <specifier>` into each fixture's folder and lints them. */
async function lint(fixtures: Fixture[]) {
  const files = fixtures.map(
    ({ folder, ext = "ts" }) => `${folder}/boundary-fixture-${process.pid}-${counter++}.${ext}`,
  );
  try {
    fixtures.forEach(({ specifier }, i) => {
      writeFileSync(
        join(root, files[i]!),
        `import * as imported from "${specifier}";\n\nexport const value = imported;\n`,
      );
    });
    const result = await run(join(root, "node_modules/.bin/biome"), [
      "lint",
      "--reporter=json",
      ...files,
    ]);
    const report = JSON.parse(result.stdout) as {
      diagnostics: Diagnostic[];
    };
    const rulesHit = (file: string) =>
      report.diagnostics.filter((d) => d.location.path === file).map((d) => d.category);
    return { code: result.code, files, rulesHit };
  } finally {
    for (const file of files) rmSync(join(root, file), { force: true });
  }
}

describe("biome's import boundaries", () => {
  it("refuse control-plane code, zod and drizzle where they do not belong", async () => {
    const refused: Fixture[] = [
      { folder: "workers/edge", specifier: "zod" },
      { folder: "workers/edge", specifier: "@hono/zod-openapi" },
      { folder: "workers/edge", specifier: "drizzle-orm" },
      { folder: "workers/edge", specifier: "../platform/db/client" },
      { folder: "workers/core", specifier: "zod" },
      { folder: "sdk/src", specifier: "../../workers/core/names" },
      {
        folder: "workers/modules/prompts/pages",
        specifier: "../../../platform/db/schema",
        ext: "tsx",
      },
      { folder: "admin/components", specifier: "../../workers/platform/db/client", ext: "tsx" },
    ];
    const { code, files, rulesHit } = await lint(refused);
    expect(code).not.toBe(0);
    for (const [i, file] of files.entries()) {
      expect(rulesHit(file), `${refused[i]!.specifier} from ${refused[i]!.folder}`).toContain(
        "lint/style/noRestrictedImports",
      );
    }
  });

  it("let each folder import what it is meant to", async () => {
    const allowed: Fixture[] = [
      { folder: "workers/edge", specifier: "@cuecard/core/names" },
      { folder: "workers/edge", specifier: "hono" },
      { folder: "workers/core", specifier: "./names" },
      { folder: "sdk/src", specifier: "@cuecard/core/names" },
      { folder: "workers/modules/prompts/pages", specifier: "../prompts", ext: "tsx" },
    ];
    const { code, files, rulesHit } = await lint(allowed);
    for (const file of files) expect(rulesHit(file), file).toEqual([]);
    expect(code).toBe(0);
  });
});
