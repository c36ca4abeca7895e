#!/usr/bin/env node
// Installed from npm (or a packed tarball) the package holds only the compiled CLI in dist/.
// In the Cuecard repository, where src/ sits next to this file and tsx is a devDependency, the
// CLI runs from its TypeScript sources, so no build is needed to try a change and a stale dist/
// is never what runs.
import { existsSync } from "node:fs";

const sources = new URL("../src/cli/main.ts", import.meta.url);
const tsx = existsSync(sources) ? await import("tsx/esm/api").catch(() => undefined) : undefined;
let main;
if (tsx) {
  tsx.register();
  ({ main } = await import(sources.href));
} else {
  ({ main } = await import("../dist/cli/main.js"));
}
process.exitCode = await main(process.argv.slice(2));
