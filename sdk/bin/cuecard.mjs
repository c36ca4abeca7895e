#!/usr/bin/env node
// The CLI is TypeScript that imports the repository's shared template rules (the same render as
// the edge); tsx compiles it on the fly, so `npm install` is the only build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
