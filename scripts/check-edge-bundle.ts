/**
 * `npm run check:edge-bundle`: fails when the edge worker's bundle is over its gzipped budget or
 * bundles code that belongs to the control plane. Lint rules (biome.json) keep such imports out
 * of workers/edge itself; this checks what actually ends up in the bundle, transitively, through
 * @cuecard/core or any package.
 *
 *   tsx scripts/check-edge-bundle.ts                 bundle with `wrangler deploy --dry-run`, then check
 *   tsx scripts/check-edge-bundle.ts --prebuilt      check what `npm run build` left in dist/edge
 *   options: -c/--config <wrangler.toml> (default workers/edge/wrangler.toml), --outdir <dir>
 *            (default dist/edge)
 *
 * Exit codes: 0 within the rules, 1 a rule is broken, 2 the bundle could not be built or read.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";

/** Gzipped, as Cloudflare measures a Worker's size; the edge's cold start grows with it. */
const BUDGET_GZIP_BYTES = 40 * 1024;

/** Packages the edge must never bundle (the edge validates with @cuecard/core's zod-free rules). */
const FORBIDDEN_PACKAGES = ["zod", "@hono/zod-openapi", "drizzle-orm"];

/** Control-plane folders, relative to the repository root. */
const CONTROL_PLANE_FOLDERS = ["workers/platform/", "workers/modules/", "workers/admin/", "admin/"];

/**
 * Module files the edge may bundle although they live under workers/modules/ (repository-relative
 * paths). None today; a zod-free, binding-free module file the edge comes to need is listed here
 * and allowed by the edge's import rule in biome.json.
 */
const EDGE_ALLOWED_MODULE_FILES: readonly string[] = [];

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const METAFILE = "bundle-meta.json";

interface Metafile {
  inputs: Record<string, { bytes: number; imports: { path: string }[] }>;
  outputs: Record<string, { bytes: number; entryPoint?: string }>;
}

function usageError(message: string): never {
  console.error(`check-edge-bundle: ${message}`);
  process.exit(2);
}

function packageOf(repoPath: string): string | undefined {
  const segments = repoPath.split("/");
  const at = segments.lastIndexOf("node_modules");
  if (at < 0) return undefined;
  const name = segments[at + 1];
  if (!name) return undefined;
  return name.startsWith("@") ? `${name}/${segments[at + 2]}` : name;
}

/** Why a bundled file (repository-relative) is not allowed in the edge, or undefined. */
function violationOf(repoPath: string): string | undefined {
  const pkg = packageOf(repoPath);
  if (pkg !== undefined) {
    return FORBIDDEN_PACKAGES.includes(pkg) ? `package ${pkg}` : undefined;
  }
  if (EDGE_ALLOWED_MODULE_FILES.includes(repoPath)) return undefined;
  const folder = CONTROL_PLANE_FOLDERS.find((f) => repoPath.startsWith(f));
  return folder ? `control-plane folder ${folder}` : undefined;
}

/** For each bundled file, the file that first imports it on a shortest path from the entry. */
function importTree(meta: Metafile, entry: string): Map<string, string | null> {
  const parent = new Map<string, string | null>([[entry, null]]);
  const queue = [entry];
  for (let current = queue.shift(); current !== undefined; current = queue.shift()) {
    for (const { path } of meta.inputs[current]?.imports ?? []) {
      if (!parent.has(path) && path in meta.inputs) {
        parent.set(path, current);
        queue.push(path);
      }
    }
  }
  return parent;
}

function chainTo(tree: Map<string, string | null>, target: string): string[] {
  if (!tree.has(target)) return [target];
  const chain: string[] = [];
  for (let at: string | null = target; at !== null; at = tree.get(at) ?? null) chain.unshift(at);
  return chain;
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

function main() {
  let values: { config?: string; outdir?: string; prebuilt?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        config: { type: "string", short: "c", default: "workers/edge/wrangler.toml" },
        outdir: { type: "string", default: "dist/edge" },
        prebuilt: { type: "boolean", default: false },
      },
    }));
  } catch (error) {
    usageError((error as Error).message);
  }
  const config = resolve(values.config!);
  const outdir = resolve(values.outdir!);
  if (!existsSync(config)) usageError(`no wrangler config at ${config}`);

  if (!values.prebuilt) {
    try {
      execFileSync(
        "npx",
        ["wrangler", "deploy", "--dry-run", "--outdir", outdir, "--metafile", "-c", config],
        {
          cwd: root,
          stdio: ["ignore", "ignore", "inherit"],
          env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
        },
      );
    } catch {
      usageError(`wrangler could not bundle ${relative(root, config)}`);
    }
  }
  const metafilePath = join(outdir, METAFILE);
  if (!existsSync(metafilePath)) {
    usageError(`no ${METAFILE} in ${outdir}: bundle with --metafile (npm run build) first`);
  }
  const meta = JSON.parse(readFileSync(metafilePath, "utf8")) as Metafile;

  // esbuild names files relative to its working directory, which wrangler sets to the config's
  // folder. The entry output must then land in outdir; if not, the paths cannot be trusted.
  const base = dirname(config);
  const toRepo = (metaPath: string) => relative(root, resolve(base, metaPath)).split(sep).join("/");
  const outputs = Object.entries(meta.outputs).filter(([path]) => !path.endsWith(".map"));
  const entry = outputs.find(([, output]) => output.entryPoint)?.[1].entryPoint;
  const misplaced = outputs.find(([path]) => {
    const relativeToOutdir = relative(outdir, resolve(base, path));
    return relativeToOutdir.startsWith("..") || isAbsolute(relativeToOutdir);
  });
  if (!entry || outputs.length === 0 || misplaced) {
    usageError(`${metafilePath} does not describe a bundle in ${outdir} built from ${config}`);
  }

  let rawBytes = 0;
  let gzipBytes = 0;
  for (const [path] of outputs) {
    const file = resolve(base, path);
    if (!existsSync(file)) usageError(`${METAFILE} lists ${file}, which is missing`);
    const content = readFileSync(file);
    rawBytes += content.byteLength;
    gzipBytes += gzipSync(content).byteLength;
  }

  const problems: string[] = [];
  console.log(
    `edge bundle: ${kib(rawBytes)}, ${kib(gzipBytes)} gzipped (${gzipBytes} bytes); ` +
      `budget ${kib(BUDGET_GZIP_BYTES)} gzipped (${BUDGET_GZIP_BYTES} bytes)`,
  );
  if (gzipBytes > BUDGET_GZIP_BYTES) {
    problems.push(
      `the bundle is ${kib(gzipBytes)} gzipped, over the ${kib(BUDGET_GZIP_BYTES)} budget by ` +
        `${gzipBytes - BUDGET_GZIP_BYTES} bytes`,
    );
  }

  // One line per broken rule, with the import chain to its first file, rather than one per file:
  // zod alone would be dozens of lines.
  const tree = importTree(meta, entry);
  const byViolation = new Map<string, string[][]>();
  for (const path of Object.keys(meta.inputs)) {
    const violation = violationOf(toRepo(path));
    if (violation) {
      byViolation.set(violation, [...(byViolation.get(violation) ?? []), chainTo(tree, path)]);
    }
  }
  for (const [violation, chains] of byViolation) {
    const shortest = chains.reduce((a, b) => (b.length < a.length ? b : a));
    const more = chains.length > 1 ? ` (and ${chains.length - 1} more files)` : "";
    problems.push(`the bundle includes ${violation}: ${shortest.map(toRepo).join(" -> ")}${more}`);
  }

  if (problems.length > 0) {
    console.error(`edge bundle check failed for ${relative(root, config)}:`);
    for (const problem of problems) console.error(`  - ${problem}`);
    process.exit(1);
  }
  console.log("edge bundle check passed: within budget, no control-plane code or zod/drizzle");
}

main();
