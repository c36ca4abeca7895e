#!/usr/bin/env node
/**
 * Builds the publishable package into dist/: JavaScript by esbuild, .d.ts by tsc.
 *
 * `@cuecard/core` is a private workspace package (never published), so it is bundled into the
 * output: its code into the entry points' shared chunks, its declarations into dist/core/. The
 * real npm dependencies (mustache, yaml) and the optional peers stay imports, resolved from the
 * app's node_modules. Plain JavaScript so `npm pack` (prepack) needs nothing but Node.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(packageDir, "dist");
const declarationsTmp = join(dist, ".declarations");
const manifest = JSON.parse(await readFile(join(packageDir, "package.json"), "utf8"));

await rm(dist, { recursive: true, force: true });

// One build with code splitting, so code the entry points share (errors, core's template rules)
// exists once: an error thrown by `@cuecard/sdk/admin` is `instanceof` the one `@cuecard/sdk`
// exports.
await build({
  absWorkingDir: packageDir,
  entryPoints: ["src/index.ts", "src/admin.ts", "src/observe/index.ts", "src/cli/main.ts"],
  outdir: dist,
  outbase: "src",
  bundle: true,
  splitting: true,
  format: "esm",
  // Neutral: the library runs in Node, browsers and Workers; only the CLI imports node:*.
  platform: "neutral",
  target: "es2022",
  external: [
    "node:*",
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
  ],
  chunkNames: "chunks/[name]-[hash]",
  // With the sources inside: the package ships no src/.
  sourcemap: true,
  logLevel: "warning",
});

const require = createRequire(import.meta.url);
const tsc = join(dirname(require.resolve("typescript/package.json")), "bin", "tsc");
execFileSync(process.execPath, [tsc, "-p", join(packageDir, "tsconfig.build.json")], {
  stdio: "inherit",
});

// tsc mirrors the source tree from the repository root: <tmp>/sdk/src/** and <tmp>/workers/core/**.
const emittedSdk = join(declarationsTmp, "sdk", "src");
const emittedCore = join(declarationsTmp, "workers", "core");
await cp(emittedSdk, dist, { recursive: true });
await cp(emittedCore, join(dist, "core"), { recursive: true });
// Hand-written (generated) declarations are not emitted by tsc; admin.d.ts imports this one.
await cp(join(packageDir, "src", "admin-api.d.ts"), join(dist, "admin-api.d.ts"));
await rm(declarationsTmp, { recursive: true, force: true });

// Point `@cuecard/core/<file>` at the bundled copy, and give every relative specifier its
// extension: an app compiling with `moduleResolution: node16/nodenext` resolves extensionless
// imports in an ESM package's .d.ts to nothing, which silently turns the types into `any`.
for (const file of await declarationFiles(dist)) {
  const source = await readFile(file, "utf8");
  const rewritten = source.replace(
    /(from\s+|import\()(["'])([^"']+)\2/g,
    (match, prefix, quote, specifier) => {
      const target = resolveDeclaration(file, specifier);
      return target === undefined ? match : `${prefix}${quote}${target}${quote}`;
    },
  );
  if (rewritten !== source) await writeFile(file, rewritten);
}

function resolveDeclaration(file, specifier) {
  let absolute;
  if (specifier.startsWith("@cuecard/core/")) {
    absolute = join(dist, "core", specifier.slice("@cuecard/core/".length));
  } else if (specifier.startsWith(".")) {
    absolute = resolve(dirname(file), specifier.replace(/\.(js|ts)$/, ""));
  } else {
    return undefined;
  }
  let target;
  if (existsSync(`${absolute}.d.ts`)) target = `${absolute}.js`;
  else if (existsSync(join(absolute, "index.d.ts"))) target = join(absolute, "index.js");
  else throw new Error(`${relative(dist, file)}: cannot resolve ${specifier} in dist`);
  const path = relative(dirname(file), target).split(sep).join("/");
  return path.startsWith(".") ? path : `./${path}`;
}

async function declarationFiles(dir) {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(".d.ts"))
    .map((entry) => join(entry.parentPath, entry.name));
}
