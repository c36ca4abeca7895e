/**
 * scripts/check-edge-bundle.ts fails a bundle that is over budget or carries control-plane code,
 * and passes the real edge. Fixture workers are bundled with esbuild (what wrangler bundles with,
 * and far faster) into the layout `wrangler deploy --dry-run --metafile` leaves: the code plus
 * bundle-meta.json, paths relative to the wrangler config's folder. They live inside the
 * repository so that their imports resolve, and are deleted afterwards.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import { root, run } from "./run";

const fixtures = mkdtempSync(join(root, "test/build/.bundle-fixtures-"));
afterAll(() => rmSync(fixtures, { recursive: true, force: true }));

/** Bundles `source` as a worker's index.ts; returns the arguments that check its output. */
async function fixtureWorker(name: string, source: string) {
  const dir = join(fixtures, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "index.ts"), source);
  writeFileSync(
    join(dir, "wrangler.toml"),
    `name = "${name}"\nmain = "index.ts"\ncompatibility_date = "2026-07-01"\n`,
  );
  const result = await build({
    entryPoints: ["index.ts"],
    absWorkingDir: dir,
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    outdir: "dist",
    metafile: true,
    logLevel: "silent",
  });
  writeFileSync(join(dir, "dist/bundle-meta.json"), JSON.stringify(result.metafile));
  return ["-c", join(dir, "wrangler.toml"), "--outdir", join(dir, "dist"), "--prebuilt"];
}

const check = (args: string[]) =>
  run(join(root, "node_modules/.bin/tsx"), ["scripts/check-edge-bundle.ts", ...args]);
// From a fixture's folder (test/build/.bundle-fixtures-*/<name>/) to the repository root.
const up = "../../../..";

// Concurrent: each case is mostly waiting on a child process (the real edge on wrangler).
describe.concurrent("the edge bundle check", () => {
  it("passes the real edge worker, printing its size and the budget", async () => {
    const outdir = mkdtempSync(join(tmpdir(), "edge-bundle-"));
    try {
      const result = await check(["--outdir", outdir]);
      expect(result.code, result.output).toBe(0);
      expect(result.output).toMatch(/gzipped \(\d+ bytes\); budget .* gzipped \(\d+ bytes\)/);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it("fails a worker that bundles zod, @hono/zod-openapi or drizzle-orm, naming each", async () => {
    const args = await fixtureWorker(
      "packages",
      [
        `import { z } from "zod";`,
        `import { z as openapiZod } from "@hono/zod-openapi";`,
        // drizzle-orm arrives through the platform, not imported here: the check sees what is bundled.
        `import { guard } from "${up}/workers/platform/guards";`,
        `export default { fetch: () => Response.json([z, openapiZod, guard].map(String)) };`,
      ].join("\n"),
    );
    const result = await check(args);
    expect(result.code, result.output).toBe(1);
    expect(result.output).toContain("package zod:");
    expect(result.output).toContain("package @hono/zod-openapi:");
    expect(result.output).toMatch(/package drizzle-orm: .*workers\/platform\/guards\.ts -> /);
    expect(result.output).toContain("control-plane folder workers/platform/:");
  });

  it("fails a small worker that bundles module or UI code, for that reason alone", async () => {
    const args = await fixtureWorker(
      "folders",
      [
        `import { ROLES } from "${up}/workers/modules/access/roles";`,
        `import { FAVICON } from "${up}/admin/assets/favicon";`,
        `export default { fetch: () => Response.json([ROLES, FAVICON]) };`,
      ].join("\n"),
    );
    const result = await check(args);
    expect(result.code, result.output).toBe(1);
    expect(result.output).toContain("control-plane folder workers/modules/:");
    expect(result.output).toContain("control-plane folder admin/:");
    expect(result.output).not.toContain("budget by");
    expect(result.output).not.toContain("package ");
  });

  it("fails a clean worker that is over the gzipped budget", async () => {
    // Random bytes do not compress: 64 KiB of them stay well over a 40 KiB budget once gzipped.
    const blob = randomBytes(64 * 1024).toString("base64");
    const args = await fixtureWorker(
      "oversized",
      `export default { fetch: () => new Response("${blob}") };\n`,
    );
    const result = await check(args);
    expect(result.code, result.output).toBe(1);
    expect(result.output).toMatch(/the bundle is [\d.]+ KiB gzipped, over the [\d.]+ KiB budget/);
    expect(result.output).not.toContain("the bundle includes");
  });

  it("refuses to judge output it cannot read, rather than passing it", async () => {
    const empty = join(fixtures, "empty");
    mkdirSync(empty);
    const result = await check(["--outdir", empty, "--prebuilt"]);
    expect(result.code, result.output).toBe(2);
    expect(result.output).toContain(`no bundle-meta.json in ${join(root, relative(root, empty))}`);
  });
});
