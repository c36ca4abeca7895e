/**
 * The Chromium the UI suite drives: the system's `/usr/bin/chromium` where there is one, otherwise
 * the build that ships inside the `@sparticuz/chromium` npm package, so the suite needs nothing
 * but `npm install`.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rename, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { LaunchOptions } from "playwright-core";

const systemChromium = "/usr/bin/chromium";

/**
 * Our own flags, never the package's default `args`: those include `--disable-web-security`,
 * which would hide CORS bugs. Playwright gives every launch a fresh temporary `--user-data-dir`.
 */
const args = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

export async function chromiumLaunchOptions(): Promise<LaunchOptions> {
  if (existsSync(systemChromium)) return { executablePath: systemChromium, args };
  const dir = await unpackedPackagedChromium();
  return {
    executablePath: join(dir, "chromium"),
    args,
    env: {
      ...process.env,
      // The package's Amazon Linux libraries include libnss3 and libnspr4, which a bare Debian lacks.
      LD_LIBRARY_PATH: [join(dir, "al2023", "lib"), process.env.LD_LIBRARY_PATH]
        .filter(Boolean)
        .join(":"),
      // Fonts come from the system's fontconfig: the package's own fonts.conf names Lambda's folders.
    },
  };
}

/**
 * Unpacks the packaged browser once per package version into a folder of its own. The package
 * unpacks into `os.tmpdir()`, where a half-written binary from an interrupted run would be taken
 * as ready; so it unpacks into a staging folder that is renamed into place only when complete,
 * which also makes test processes unpacking at the same time harmless.
 */
async function unpackedPackagedChromium(): Promise<string> {
  const require = createRequire(import.meta.url);
  // The package exports only its entry point, `build/index.js`.
  const packageRoot = dirname(dirname(require.resolve("@sparticuz/chromium")));
  const { version } = JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as {
    version: string;
  };
  const dir = join(tmpdir(), `cuecard-chromium-${version}`);
  if (existsSync(join(dir, "chromium"))) return dir;

  const staging = await mkdtemp(`${dir}-unpacking-`);
  const { default: packaged, inflate } = await import("@sparticuz/chromium");
  const previousTmpdir = process.env.TMPDIR;
  process.env.TMPDIR = staging;
  try {
    await packaged.executablePath(join(packageRoot, "bin"));
    // Unpacked by the package itself only on Amazon Linux, where these libraries are the system's.
    await inflate(join(packageRoot, "bin", "al2023.tar.br"));
  } finally {
    if (previousTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previousTmpdir;
  }
  try {
    await rename(staging, dir);
  } catch (error) {
    // Another process finished first: use its copy.
    if (!existsSync(join(dir, "chromium"))) throw error;
    await rm(staging, { recursive: true, force: true });
  }
  return dir;
}
