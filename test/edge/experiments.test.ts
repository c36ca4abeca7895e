import { env } from "cloudflare:workers";
import { assign } from "@cuecard/core/assignment";
import {
  labelPointerKey,
  labelPointerRecord,
  type PublishedExperiment,
} from "@cuecard/core/kv-records";
import type { ExposureEvent } from "@cuecard/core/telemetry";
import { UNIT_ID_MAX } from "@cuecard/core/telemetry";
import { describe, expect, it } from "vitest";
import app from "../../workers/edge";
import { type ExposureSink, withExposures } from "../../workers/edge/exposures";
import { DEFAULT_DELIVERY } from "../../workers/edge/modules";
import { servePointer } from "../../workers/edge/prompt-store";
import { edgeFetch, problemOf, renderRequest } from "./edge-client";
import { encodeName, type SeededPrompt, seedProject, seedPrompt } from "./factories";

/**
 * A label running an experiment answers per unit: the unit id (`?unit=` or `Cuecard-Unit`) is
 * hashed with the experiment's seed and served its variant's version. The expected buckets are
 * the independently computed vectors of test/core/testdata/assignment-utf8-vectors.json (seed
 * `exp_demo:1`), so these tests do not take their answers from the code under test.
 */

/** Control v1 and a "friendly" v2, half each: [0, 0.5) control, [0.5, 1) friendly. */
function halfAndHalf(overrides: Partial<PublishedExperiment> = {}) {
  return {
    id: "exp_demo",
    key: "tone",
    seed: "exp_demo:1",
    hashVersion: 2,
    coverage: 1,
    variants: [
      { key: "control", version: 1, weight: 0.5 },
      { key: "friendly", version: 2, weight: 0.5 },
    ],
    ...overrides,
  } satisfies PublishedExperiment;
}

/** Publishes `production` → v1 running `experiment`, as the admin's publisher writes it. */
async function runExperiment(seeded: SeededPrompt, experiment: PublishedExperiment) {
  const pointer = labelPointerRecord({
    rev: 1_000_000,
    name: seeded.name,
    label: "production",
    targets: [{ version: 1, weight: 1 }],
    versions: seeded.versions,
    experiment,
    experimentRev: 1,
    updatedAt: new Date().toISOString(),
  });
  await env.PROMPTS_KV.put(
    labelPointerKey(seeded.project, seeded.name, "production"),
    JSON.stringify(pointer),
  );
  return pointer;
}

async function experimentPrompt(overrides: Partial<PublishedExperiment> = {}) {
  const { project, key } = await seedProject();
  const seeded = await seedPrompt({
    project,
    templates: ["Hello {{customer}}", "Hi there {{customer}}!"],
    labels: { production: 1 },
  });
  const pointer = await runExperiment(seeded, halfAndHalf(overrides));
  return { key, seeded, pointer };
}

const get = (name: string, key: string, query = "", headers: Record<string, string> = {}) =>
  edgeFetch(`/v1/prompts/${encodeName(name)}${query}`, { key, headers });

const unitQuery = (unit: string) => `?unit=${encodeURIComponent(unit)}`;

describe("experiments at the edge", () => {
  it("serves each unit its variant, with the bucket of the published vectors", async () => {
    const { key, seeded } = await experimentPrompt();
    const cases = [
      { unit: "用户-42", bucket: 0.0072, variant: "control", version: 1 },
      { unit: "Ünïcödé@example.com", bucket: 0.7941, variant: "friendly", version: 2 },
      { unit: "é", bucket: 0.626, variant: "friendly", version: 2 },
      { unit: "🗻x", bucket: 0.8235, variant: "friendly", version: 2 },
    ];
    for (const expected of cases) {
      const response = await get(seeded.name, key, unitQuery(expected.unit));
      expect(response.status, expected.unit).toBe(200);
      const body = await response.json<Record<string, unknown>>();
      expect(body.version, expected.unit).toBe(expected.version);
      expect(body.experiment, expected.unit).toEqual({
        id: "exp_demo",
        key: "tone",
        variant: expected.variant,
        bucket: expected.bucket,
        reason: "assigned",
      });
      expect(response.headers.get("cuecard-version")).toBe(String(expected.version));
    }
  });

  it("takes the unit from the Cuecard-Unit header as from ?unit=", async () => {
    // seed "seed", unit "a" → 0.0505 (control); "b" is then checked to agree both ways.
    const { key, seeded } = await experimentPrompt({ seed: "seed" });
    const byHeader = await get(seeded.name, key, "", { "cuecard-unit": "a" });
    expect((await byHeader.json<{ experiment: unknown }>()).experiment).toMatchObject({
      variant: "control",
      bucket: 0.0505,
      reason: "assigned",
    });
    for (const unit of ["b", "user-1", "session:9f8e"]) {
      const header = await (await get(seeded.name, key, "", { "cuecard-unit": unit })).text();
      const query = await (await get(seeded.name, key, unitQuery(unit))).text();
      expect(header, unit).toBe(query);
    }
    const both = await get(seeded.name, key, "?unit=a", { "cuecard-unit": "a" });
    expect(both.status).toBe(200);
  });

  it("serves the control without a unit id (an empty one counts as none), saying why", async () => {
    const { key, seeded } = await experimentPrompt();
    for (const query of ["", "?unit=", "?label=production"]) {
      const response = await get(seeded.name, key, query);
      const body = await response.json<{ version: number; experiment: unknown }>();
      expect(body.version, query).toBe(1);
      expect(body.experiment, query).toEqual({
        id: "exp_demo",
        key: "tone",
        variant: "control",
        bucket: null,
        reason: "no_unit",
      });
    }
  });

  it("serves the control to units outside the coverage", async () => {
    // coverage 0.5: control [0, 0.25), friendly [0.5, 0.75)
    const { key, seeded } = await experimentPrompt({ coverage: 0.5 });
    const outside = await get(seeded.name, key, unitQuery("Ünïcödé@example.com"));
    expect(await outside.json()).toMatchObject({
      version: 1,
      experiment: { variant: "control", bucket: 0.7941, reason: "not_in_coverage" },
    });
    const inside = await get(seeded.name, key, unitQuery("é"));
    expect(await inside.json()).toMatchObject({
      version: 2,
      experiment: { variant: "friendly", bucket: 0.626, reason: "assigned" },
    });
  });

  it("answers private, Vary: Origin, Cuecard-Unit, with an ETag per variant that revalidates to 304", async () => {
    const { key, seeded } = await experimentPrompt();
    const control = await get(seeded.name, key, unitQuery("用户-42"));
    const friendly = await get(seeded.name, key, unitQuery("é"));
    for (const response of [control, friendly]) {
      expect(response.headers.get("cache-control")).toMatch(/^private/);
      expect(response.headers.get("vary")).toBe("Origin, Cuecard-Unit");
    }
    const controlTag = control.headers.get("etag") as string;
    const friendlyTag = friendly.headers.get("etag") as string;
    expect(controlTag).toContain(".control.");
    expect(friendlyTag).toContain(".friendly.");
    expect(controlTag).not.toBe(friendlyTag);

    const again = await get(seeded.name, key, unitQuery("é"), { "if-none-match": friendlyTag });
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe(friendlyTag);
    expect(again.headers.get("vary")).toBe("Origin, Cuecard-Unit");
    // Another unit's variant never matches: it gets its own body.
    const other = await get(seeded.name, key, unitQuery("用户-42"), {
      "if-none-match": friendlyTag,
    });
    expect(other.status).toBe(200);
    // Without an experiment the response varies by Origin alone (CORS) and the body says so.
    const { project, key: plainKey } = await seedProject();
    const plain = await seedPrompt({ project, templates: ["x"] });
    const response = await get(plain.name, plainKey, unitQuery("é"));
    expect(response.headers.get("vary")).toBe("Origin");
    expect((await response.json<{ experiment: unknown }>()).experiment).toBeNull();
  });

  it("serves a pinned version without an experiment, whatever the unit", async () => {
    const { key, seeded } = await experimentPrompt();
    const response = await get(seeded.name, key, `?version=2&unit=${encodeURIComponent("é")}`);
    expect(await response.json()).toMatchObject({ version: 2, label: null, experiment: null });
  });

  it("assigns in a batch fetch, per prompt", async () => {
    const { key, seeded } = await experimentPrompt();
    const plain = await seedPrompt({ project: seeded.project, templates: ["plain"] });
    const names = `${encodeName(seeded.name)},${encodeName(plain.name)}`;
    const response = await edgeFetch(`/v1/prompts?names=${names}&unit=${encodeURIComponent("é")}`, {
      key,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("vary")).toBe("Origin, Cuecard-Unit");
    const body = await response.json<{ prompts: { version: number; experiment: unknown }[] }>();
    expect(body.prompts[0]).toMatchObject({ version: 2, experiment: { variant: "friendly" } });
    expect(body.prompts[1]?.experiment).toBeNull();
    const byHeader = await edgeFetch(`/v1/prompts?names=${names}`, {
      key,
      headers: { "cuecard-unit": "a" },
    });
    const headerBody = await byHeader.json<{ prompts: { experiment: { reason: string } }[] }>();
    expect(headerBody.prompts[0]?.experiment.reason).toBe("assigned");
  });

  it("renders the unit's variant (unit in the body, the query or the header)", async () => {
    const { key, seeded } = await experimentPrompt();
    const path = `/v1/prompts/${encodeName(seeded.name)}/render`;
    const friendly = await renderRequest(path, key, { variables: { customer: "Ada" }, unit: "é" });
    expect(friendly.status).toBe(200);
    expect(friendly.headers.get("vary")).toBe("Origin, Cuecard-Unit");
    expect(await friendly.json()).toMatchObject({
      version: 2,
      prompt: "Hi there Ada!",
      experiment: { variant: "friendly", reason: "assigned" },
    });
    const control = await renderRequest(`${path}${unitQuery("用户-42")}`, key, {
      variables: { customer: "Ada" },
    });
    expect(await control.json()).toMatchObject({ version: 1, prompt: "Hello Ada" });
    const none = await renderRequest(path, key, { variables: { customer: "Ada" } });
    expect(await none.json()).toMatchObject({ version: 1, experiment: { reason: "no_unit" } });
  });

  it("refuses a unit id over UNIT_ID_MAX with 422 naming where it came from", async () => {
    const { key, seeded } = await experimentPrompt();
    const long = "x".repeat(UNIT_ID_MAX + 1);
    const byQuery = await get(seeded.name, key, `?unit=${long}`);
    expect(byQuery.status).toBe(422);
    expect((await problemOf(byQuery)).errors?.[0]?.field).toBe("query.unit");
    const byHeader = await get(seeded.name, key, "", { "cuecard-unit": long });
    expect(byHeader.status).toBe(422);
    expect((await problemOf(byHeader)).errors?.[0]?.field).toBe("header.cuecard-unit");
    // The 1 KB id of the published vectors is one of them.
    const kilobyte = await get(seeded.name, key, `?unit=${"x".repeat(1024)}`);
    expect(kilobyte.status).toBe(422);
    const atLimit = await get(seeded.name, key, `?unit=${"x".repeat(UNIT_ID_MAX)}`);
    expect(atLimit.status).toBe(200);
    const render = await renderRequest(`/v1/prompts/${encodeName(seeded.name)}/render`, key, {
      variables: { customer: "Ada" },
      unit: long,
    });
    expect(render.status).toBe(422);
    expect((await problemOf(render)).errors?.[0]?.field).toBe("body.unit");
  });

  it("refuses a header and a query that disagree, and non-ASCII header ids", async () => {
    const { key, seeded } = await experimentPrompt();
    const differ = await get(seeded.name, key, "?unit=a", { "cuecard-unit": "b" });
    expect(differ.status).toBe(422);
    const latin = await get(seeded.name, key, "", { "cuecard-unit": "caf\u00e9" });
    expect(latin.status).toBe(422);
    expect((await problemOf(latin)).errors?.[0]?.message).toMatch(/\?unit=/);
  });

  it("gives 1,000 ids the variant core's assign() gives for the published definition", async () => {
    const experiment = {
      id: "exp_thousand",
      key: "three-way",
      seed: "exp_thousand:3",
      hashVersion: 2,
      coverage: 0.8,
      variants: [
        { key: "control", version: 1, weight: 0.5 },
        { key: "short", version: 2, weight: 0.3 },
        { key: "long", version: 3, weight: 0.2 },
      ],
    } satisfies PublishedExperiment;
    const { project, key } = await seedProject();
    const seeded = await seedPrompt({ project, templates: ["a", "b", "c"], labels: {} });
    await runExperiment(seeded, experiment);
    const weights = experiment.variants.map((variant) => variant.weight);
    const ids = Array.from({ length: 1000 }, (_, i) =>
      i % 7 === 0 ? `ユーザー${i}` : `user-${i}`,
    );
    const seen = new Set<string>();
    for (let start = 0; start < ids.length; start += 25) {
      await Promise.all(
        ids.slice(start, start + 25).map(async (unit) => {
          const response = await get(seeded.name, key, unitQuery(unit));
          const body = await response.json<{
            version: number;
            experiment: { variant: string; bucket: number; reason: string };
          }>();
          const expected = assign({ ...experiment, weights }, unit);
          const arm = experiment.variants[expected.variant];
          expect(body.experiment, unit).toEqual({
            id: experiment.id,
            key: experiment.key,
            variant: arm?.key,
            bucket: expected.bucket,
            reason: expected.reason,
          });
          expect(body.version, unit).toBe(arm?.version);
          seen.add(`${body.experiment.variant}/${body.experiment.reason}`);
        }),
      );
    }
    // Every arm and the outside of the coverage occur: the comparison covered each path.
    expect([...seen].sort()).toEqual([
      "control/assigned",
      "control/not_in_coverage",
      "long/assigned",
      "short/assigned",
    ]);
  });
});

describe("?definition=1: the experiment for the SDK to assign locally", () => {
  it("answers the control without a unit plus every arm with its version and weight", async () => {
    const { key, seeded } = await experimentPrompt({ coverage: 0.8 });
    const response = await get(seeded.name, key, "?definition=1");
    expect(response.status).toBe(200);
    const body = await response.json<Record<string, unknown>>();
    expect(body.version).toBe(1);
    expect(body.experiment).toEqual({
      id: "exp_demo",
      key: "tone",
      variant: "control",
      bucket: null,
      reason: "no_unit",
    });
    const definition = body.definition as {
      variants: { key: string; weight: number; prompt: Record<string, unknown> }[];
    };
    expect(definition).toMatchObject({
      id: "exp_demo",
      key: "tone",
      seed: "exp_demo:1",
      hashVersion: 2,
      coverage: 0.8,
    });
    expect(definition.variants.map(({ key, weight }) => ({ key, weight }))).toEqual([
      { key: "control", weight: 0.5 },
      { key: "friendly", weight: 0.5 },
    ]);
    expect(definition.variants.map((arm) => [arm.prompt.version, arm.prompt.prompt])).toEqual([
      [1, "Hello {{customer}}"],
      [2, "Hi there {{customer}}!"],
    ]);
    expect(definition.variants[1]?.prompt.label).toBe("production");
  });

  it("revalidates to 304, and a new experiment rev (new weights) is a new ETag", async () => {
    const { key, seeded, pointer } = await experimentPrompt();
    const first = await get(seeded.name, key, "?definition=1");
    const etag = first.headers.get("etag") as string;
    const plain = await get(seeded.name, key);
    expect(plain.headers.get("etag")).not.toBe(etag);
    const again = await get(seeded.name, key, "?definition=1", { "if-none-match": etag });
    expect(again.status).toBe(304);
    // A rollout stage: new weights, republished with a higher experiment rev.
    await env.PROMPTS_KV.put(
      labelPointerKey(seeded.project, seeded.name, "production"),
      JSON.stringify({
        ...pointer,
        rev: pointer.rev + 1,
        experimentRev: 2,
        experiment: halfAndHalf({
          variants: [
            { key: "control", version: 1, weight: 0.25 },
            { key: "friendly", version: 2, weight: 0.75 },
          ],
        }),
      }),
    );
    const moved = await get(seeded.name, key, "?definition=1", { "if-none-match": etag });
    expect(moved.status).toBe(200);
    const body = await moved.json<{ definition: { variants: { weight: number }[] } }>();
    expect(body.definition.variants.map((arm) => arm.weight)).toEqual([0.25, 0.75]);
  });

  it("is ignored with a unit (the unit's variant is served) and without an experiment", async () => {
    const { key, seeded } = await experimentPrompt();
    const withUnit = await get(seeded.name, key, `${unitQuery("é")}&definition=1`);
    const assigned = await withUnit.json<Record<string, unknown>>();
    expect(assigned.version).toBe(2);
    expect(assigned.definition).toBeUndefined();
    const { project, key: otherKey } = await seedProject();
    const plain = await seedPrompt({ project, templates: ["x"], labels: { production: 1 } });
    const none = await get(plain.name, otherKey, "?definition=1");
    const body = await none.json<Record<string, unknown>>();
    expect(body.experiment).toBeNull();
    expect(body.definition).toBeUndefined();
  });

  it("refuses a value other than 1 or 0 with 422 naming query.definition", async () => {
    const { key, seeded } = await experimentPrompt();
    const response = await get(seeded.name, key, "?definition=yes");
    expect(response.status).toBe(422);
    const problem = await problemOf(response);
    expect(problem.errors?.[0]?.field).toBe("query.definition");
  });
});

describe("the isolate-cache hit path", () => {
  it("assigns a unit without a single await once the pointer and key are cached", async () => {
    const { key, seeded } = await experimentPrompt();
    // The worker as deployed, with its isolate cache on (the HTTP tests above run with it off).
    const cachedEnv = { ...env, ISOLATE_CACHE_TTL_MS: "60000" } as unknown as EdgeEnv;
    const context = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} };
    const request = () =>
      new Request(`https://edge.test/v1/prompts/${encodeName(seeded.name)}${unitQuery("é")}`, {
        headers: { authorization: `Bearer ${key}` },
      });
    const warm = await app.fetch(request(), cachedEnv, context as unknown as ExecutionContext);
    expect(warm.status).toBe(200);
    const hit = app.fetch(request(), cachedEnv, context as unknown as ExecutionContext);
    // A Response, not a Promise of one: key check, lookup, assignment and body are synchronous.
    expect(hit).toBeInstanceOf(Response);
    const response = hit as Response;
    expect(response.headers.get("cuecard-cache")).toBe("hit");
    expect(await response.json()).toMatchObject({
      version: 2,
      experiment: { variant: "friendly", reason: "assigned" },
    });
  });
});

describe("exposures", () => {
  function recordingSink() {
    const batches: ExposureEvent[][] = [];
    const sink: ExposureSink = {
      record: async (_projectId, exposures) => {
        batches.push([...exposures]);
      },
    };
    return { batches, sink };
  }

  async function servedPrompt() {
    const { seeded, pointer } = await experimentPrompt();
    const served = servePointer(pointer);
    if (!served) throw new Error("pointer did not serve");
    return { seeded, served };
  }

  it("hands the exposures of one request to the sink in one batch, after the response", async () => {
    const { seeded, served } = await servedPrompt();
    const { batches, sink } = recordingSink();
    const modules = withExposures(DEFAULT_DELIVERY, sink, () => new Date("2026-07-01T00:00:00Z"));
    const pending: Promise<unknown>[] = [];
    const waitUntil = (promise: Promise<unknown>) => pending.push(promise);
    for (const unit of ["é", "用户-42", null, ""]) {
      const audience = { projectId: seeded.project, name: seeded.name, unit };
      const version = modules.assign(served, audience);
      if (!version) throw new Error("nothing served");
      modules.served(version, audience, waitUntil);
    }
    // Nothing reached the sink while the request was being served.
    expect(batches).toEqual([]);
    expect(pending).toHaveLength(1);
    await Promise.all(pending);
    expect(batches).toHaveLength(1);
    // Units without an id are not exposures.
    expect(batches[0]?.map((e) => [e.unit, e.experiment.variant])).toEqual([
      ["é", "friendly"],
      ["用户-42", "control"],
    ]);
    expect(batches[0]?.[0]).toMatchObject({
      type: "exposure",
      timestamp: "2026-07-01T00:00:00.000Z",
      experiment: { id: "exp_demo", key: "tone", variant: "friendly" },
      prompt: { name: seeded.name, version: 2, label: "production" },
    });
  });

  it("never waits for the sink: a sink that hangs or fails changes no response", async () => {
    const { seeded, served } = await servedPrompt();
    const hanging: ExposureSink = { record: () => new Promise(() => {}) };
    const failing: ExposureSink = { record: async () => Promise.reject(new Error("down")) };
    for (const sink of [hanging, failing]) {
      const modules = withExposures(DEFAULT_DELIVERY, sink);
      const audience = { projectId: seeded.project, name: seeded.name, unit: "é" };
      const version = modules.assign(served, audience);
      const pending: Promise<unknown>[] = [];
      // served() returns synchronously whatever the sink does.
      expect(modules.served(version as never, audience, (p) => pending.push(p))).toBeUndefined();
      expect(version?.experiment?.variant).toBe("friendly");
      if (sink === failing) await expect(Promise.all(pending)).resolves.toBeDefined();
    }
  });
});
