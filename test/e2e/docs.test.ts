/**
 * The docs against the real workers (both bundled by wrangler, served by Miniflare as
 * `npm run dev` serves them):
 * - the README walk-through's shell blocks run in order in one bash, as a reader pastes them, and
 *   each prints what the README's output block after it shows (`…` stands for anything);
 * - the edge's /docs page is whole without the network: its scripts and stylesheet are the edge's
 *   own static assets, byte for byte the pinned swagger-ui-dist's, and Chromium renders the edge's
 *   OpenAPI document with every request outside this machine refused.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, repositoryRoot, startEphemeralPlatform } from "../../scripts/platform";
import { blocksOf, type DocBlock } from "../build/doc-blocks";
import { chromiumLaunchOptions } from "../ui/browser";

let platform: Platform;

// Three wrangler bundles and two databases' migrations: minutes on a shared 2-core machine.
beforeAll(async () => {
  platform = await startEphemeralPlatform("e2e-docs");
}, 420_000);

afterAll(async () => {
  await platform?.dispose();
});

/** The README's walk-through: each shell block, and the output block that follows it, if any. */
function walkThrough(): { command: DocBlock; output?: DocBlock }[] {
  const blocks = blocksOf(repositoryRoot).filter(
    (block) => block.doc === "README.md" && block.section === "Walk-through",
  );
  return blocks.flatMap((block, index) => {
    if (block.lang !== "sh") return [];
    const next = blocks[index + 1];
    return [{ command: block, ...(next?.lang === "text" ? { output: next } : {}) }];
  });
}

/** An output block as a pattern: literal text, `…` for anything. */
const patternOf = (output: string) =>
  new RegExp(
    `^${output
      .trim()
      .split("…")
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
    "s",
  );

describe("the README walk-through", () => {
  it("runs against the real workers and prints what the README shows", async () => {
    const steps = walkThrough();
    expect(steps.length).toBeGreaterThanOrEqual(8);
    const marker = (index: number) => `@@step ${index}@@`;
    const script = steps
      .map(({ command }, index) => `echo '${marker(index)}'\n${command.code}`)
      .join("\n")
      // The README's local URLs, pointed at this test's workers.
      .replaceAll("http://127.0.0.1:8787", platform.adminUrl)
      .replaceAll("http://127.0.0.1:8788", platform.edgeUrl);
    const { stdout } = await promisify(execFile)("bash", ["-c", script], {
      cwd: repositoryRoot,
      env: { PATH: process.env.PATH ?? "" },
    });
    const failures: string[] = [];
    steps.forEach(({ command, output }, index) => {
      const start = stdout.indexOf(marker(index)) + marker(index).length;
      const end = index + 1 < steps.length ? stdout.indexOf(marker(index + 1)) : stdout.length;
      const printed = stdout.slice(start, end).trim();
      if (output && !patternOf(output.code).test(printed)) {
        failures.push(
          `README.md:${command.line} printed\n${printed}\nbut README.md:${output.line} shows\n${output.code}`,
        );
      }
    });
    expect(failures).toEqual([]);
  });
});

describe("the edge's /docs page", () => {
  it("loads only the edge's own assets, which are the pinned swagger-ui-dist's files", async () => {
    const page = await fetch(`${platform.edgeUrl}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await page.text();
    const urls = [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"/g)].map(
      (match) => match[1] as string,
    );
    expect(urls.length).toBe(3);
    expect(html).toContain('data-spec-url="/openapi.json"');
    for (const url of urls) expect(new URL(url).origin).toBe(new URL(platform.edgeUrl).origin);

    const bundle = urls.find((url) => url.endsWith("/swagger-ui-bundle.js")) as string;
    const served = Buffer.from(await (await fetch(bundle)).arrayBuffer());
    const pinned = readFileSync(
      join(repositoryRoot, "node_modules/swagger-ui-dist/swagger-ui-bundle.js"),
    );
    expect(served.equals(pinned)).toBe(true);
    const stylesheet = await fetch(urls.find((url) => url.endsWith(".css")) as string);
    expect(stylesheet.headers.get("content-type")).toContain("text/css");
  });

  it("renders the edge's OpenAPI document in Chromium with the network cut off", async () => {
    const browser = await chromium.launch(await chromiumLaunchOptions());
    try {
      const page = await browser.newPage();
      const refused: string[] = [];
      const local = new URL(platform.edgeUrl).origin;
      await page.route("**/*", (route) => {
        const url = route.request().url();
        if (url.startsWith(local)) return route.continue();
        refused.push(url);
        return route.abort();
      });
      await page.goto(`${platform.edgeUrl}/docs`);
      await page.locator(".swagger-ui .info .title").waitFor({ timeout: 30_000 });
      expect(await page.locator(".swagger-ui .info .title").textContent()).toContain(
        "Cuecard edge API",
      );
      // Every operation of the document is listed, grouped by its tag.
      expect(await page.locator(".opblock-tag").allTextContents()).toEqual(
        expect.arrayContaining([
          expect.stringContaining("prompts"),
          expect.stringContaining("telemetry"),
        ]),
      );
      expect(refused).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
