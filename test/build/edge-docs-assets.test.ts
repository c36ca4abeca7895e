import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { edgeAssetsDir, edgeDocsAssets } from "../../scripts/edge-docs-assets";

/** Every file under a directory, as paths relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

describe("the edge's static assets (its /docs page)", () => {
  it("are exactly the pinned swagger-ui-dist's files and core's start-up script", () => {
    const expected = edgeDocsAssets();
    // Nothing else: whatever sits there is served publicly by the edge.
    expect(filesUnder(edgeAssetsDir)).toEqual([...expected.keys()].sort());
    for (const [path, content] of expected) {
      expect(
        readFileSync(join(edgeAssetsDir, path)).equals(content),
        `${path} differs from the pinned package: run npm run edge:docs-assets`,
      ).toBe(true);
    }
  });
});
