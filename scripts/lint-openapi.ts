/**
 * `npm run lint:openapi`: writes both OpenAPI documents to dist/openapi/ (admin.json from the admin
 * app in process, as `npm run generate:sdk` reads it; edge.json from the edge's hand-kept
 * document) and lints each with Redocly CLI (redocly.yaml) and Spectral (.spectral.yaml). Both
 * linters run from node_modules with their rulesets on disk, so nothing is fetched at run time.
 * `--write-only` writes the files and lints nothing.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import admin from "../workers/admin/index";
import { openApiDocument as edgeDocument } from "../workers/edge/openapi-document";

const root = join(import.meta.dirname, "..");
const outDir = join(root, "dist/openapi");
const bin = (name: string) => join(root, "node_modules/.bin", name);

const response = await admin.fetch(
  new Request("http://cuecard.local/api/openapi.json"),
  {} as AdminEnv,
  {} as ExecutionContext,
);
if (!response.ok) {
  throw new Error(`the admin app answered ${response.status} for its OpenAPI document`);
}
mkdirSync(outDir, { recursive: true });
const files = {
  admin: join(outDir, "admin.json"),
  edge: join(outDir, "edge.json"),
};
writeFileSync(files.admin, `${JSON.stringify(await response.json(), null, 2)}\n`);
writeFileSync(files.edge, `${JSON.stringify(edgeDocument, null, 2)}\n`);
console.log(`wrote ${relative(root, files.admin)} and ${relative(root, files.edge)}`);

if (!process.argv.includes("--write-only")) {
  const env = { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" };
  let failed = false;
  for (const file of Object.values(files)) {
    const path = relative(root, file);
    for (const [tool, args] of [
      ["redocly", ["lint", path, "--config", "redocly.yaml"]],
      ["spectral", ["lint", path, "--ruleset", ".spectral.yaml", "--fail-severity", "warn"]],
    ] as const) {
      console.log(`\n$ ${tool} ${args.join(" ")}`);
      const result = spawnSync(bin(tool), [...args], { cwd: root, env, stdio: "inherit" });
      if (result.status !== 0) failed = true;
    }
  }
  if (failed) {
    console.error("\nOpenAPI lint failed: fix the document, or waive a rule with its reason.");
    process.exitCode = 1;
  }
}
