/**
 * Local assignment in the SDK, with the edge replaced by a scripted fetch: a label running an
 * experiment is fetched once with its definition, and each unit is assigned here, from the cache
 * — never one user's answer served to every user of the process. Exposures go to the telemetry
 * sink once per unit and arm.
 */
import type { TelemetryEvent } from "@cuecard/core/telemetry";
import { describe, expect, it } from "vitest";
import { CuecardClient, type ExperimentDefinition, type ResolvedPrompt } from "../../sdk/src/index";
import { Telemetry } from "../../sdk/src/observe/index";

function version(n: number, prompt: string): ResolvedPrompt {
  return {
    name: "support/triage",
    type: "text",
    version: n,
    label: "production",
    prompt,
    config: {},
    variables: [],
    hash: `sha256:v${n}`,
    experiment: null,
  };
}

/**
 * The seed and units are docs/experiments.md's published vectors: with seed `exp_demo:1`, `é`
 * hashes to 0.626, `用户-42` to 0.0072 and `""` to 0.2987; so with weights [0.5, 0.5] the first is
 * the variant's, the second the control's.
 */
function definition(overrides: Partial<ExperimentDefinition> = {}): ExperimentDefinition {
  return {
    id: "exp_demo",
    key: "triage-tone",
    seed: "exp_demo:1",
    hashVersion: 2,
    coverage: 1,
    variants: [
      { key: "control", weight: 0.5, prompt: version(3, "control text") },
      { key: "friendly", weight: 0.5, prompt: version(4, "friendly text") },
    ],
    ...overrides,
  };
}

function labelAnswer(def: ExperimentDefinition | null): ResolvedPrompt {
  const control = version(3, "control text");
  if (!def) return control;
  return {
    ...control,
    experiment: { id: def.id, key: def.key, variant: "control", bucket: null, reason: "no_unit" },
    definition: def,
  };
}

function fakeEdge(body: ResolvedPrompt | ResolvedPrompt[]) {
  const requests: string[] = [];
  const fetch = async (url: string) => {
    requests.push(url);
    return new Response(JSON.stringify(body), {
      headers: { "content-type": "application/json", etag: '"e1"' },
    });
  };
  return { fetch, requests };
}

const client = (
  edge: ReturnType<typeof fakeEdge>,
  telemetry?: { record(event: TelemetryEvent): void },
) =>
  new CuecardClient({
    edgeUrl: "https://edge.test",
    apiKey: "cc_reader_x",
    fetch: edge.fetch,
    telemetry,
  });

describe("getPrompt with a unit, on a label running an experiment", () => {
  it("asks the edge for the definition once and assigns every unit locally", async () => {
    const edge = fakeEdge(labelAnswer(definition()));
    const cuecard = client(edge);
    const treated = await cuecard.getPrompt("support/triage", { unit: "é" });
    const control = await cuecard.getPrompt("support/triage", { unit: "用户-42" });
    expect(edge.requests).toEqual([
      "https://edge.test/v1/prompts/support%2Ftriage?label=production&definition=1",
    ]);
    expect(treated.version).toBe(4);
    expect(treated.prompt).toBe("friendly text");
    expect(treated.compile()).toBe("friendly text");
    expect(treated.experiment).toEqual({
      id: "exp_demo",
      key: "triage-tone",
      variant: "friendly",
      bucket: 0.626,
      reason: "assigned",
    });
    expect(control.version).toBe(3);
    expect(control.experiment).toEqual({
      id: "exp_demo",
      key: "triage-tone",
      variant: "control",
      bucket: 0.0072,
      reason: "assigned",
    });
  });

  it("serves the control without a unit, and for an empty unit id", async () => {
    const edge = fakeEdge(labelAnswer(definition()));
    const cuecard = client(edge);
    for (const unit of [undefined, null, ""]) {
      const prompt = await cuecard.getPrompt("support/triage", { unit });
      expect(prompt.version).toBe(3);
      expect(prompt.experiment).toMatchObject({ variant: "control", reason: "no_unit" });
      expect(prompt.experiment?.bucket).toBeNull();
    }
    expect(edge.requests).toHaveLength(1);
  });

  it("serves units outside the coverage the control, saying so", async () => {
    // é hashes to 0.626: with coverage 0.2 the variant's range is [0.5, 0.6), so it is outside.
    const edge = fakeEdge(labelAnswer(definition({ coverage: 0.2 })));
    const prompt = await client(edge).getPrompt("support/triage", { unit: "é" });
    expect(prompt.version).toBe(3);
    expect(prompt.experiment).toMatchObject({
      variant: "control",
      bucket: 0.626,
      reason: "not_in_coverage",
    });
  });

  it("without an experiment a unit changes nothing and the prompt says experiment null", async () => {
    const edge = fakeEdge(labelAnswer(null));
    const prompt = await client(edge).getPrompt("support/triage", { unit: "é" });
    expect(prompt.version).toBe(3);
    expect(prompt.experiment).toBeNull();
  });

  it("refuses a unit id the edge would refuse (over 256 characters)", async () => {
    const edge = fakeEdge(labelAnswer(definition()));
    await expect(
      client(edge).getPrompt("support/triage", { unit: "x".repeat(257) }),
    ).rejects.toThrow(/at most 256/);
    expect(edge.requests).toHaveLength(0);
  });

  it("asks pinned versions without the definition", async () => {
    const edge = fakeEdge(version(4, "friendly text"));
    const prompt = await client(edge).getPrompt("support/triage", { version: 4, unit: "é" });
    expect(edge.requests).toEqual(["https://edge.test/v1/prompts/support%2Ftriage?version=4"]);
    expect(prompt.experiment).toBeNull();
  });
});

describe("exposures", () => {
  it("reports an assigned unit once per arm, and nothing for the control served without a unit", async () => {
    const events: TelemetryEvent[] = [];
    const edge = fakeEdge(labelAnswer(definition()));
    const cuecard = client(edge, { record: (event) => events.push(event) });
    await cuecard.getPrompt("support/triage", { unit: "é" });
    await cuecard.getPrompt("support/triage", { unit: "é" });
    await cuecard.getPrompt("support/triage", { unit: "用户-42" });
    await cuecard.getPrompt("support/triage");
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      type: "exposure",
      experiment: { id: "exp_demo", key: "triage-tone", variant: "friendly" },
      unit: "é",
      prompt: { name: "support/triage", version: 4, label: "production" },
    });
    expect(events[1]).toMatchObject({ unit: "用户-42", experiment: { variant: "control" } });
    expect(new Set(events.map((event) => event.id)).size).toBe(2);
  });

  it("does not report units outside the coverage", async () => {
    const events: TelemetryEvent[] = [];
    const edge = fakeEdge(labelAnswer(definition({ coverage: 0.2 })));
    await client(edge, { record: (event) => events.push(event) }).getPrompt("support/triage", {
      unit: "é",
    });
    expect(events).toHaveLength(0);
  });

  it("a failing sink never fails getPrompt", async () => {
    const edge = fakeEdge(labelAnswer(definition()));
    const cuecard = client(edge, {
      record: () => {
        throw new Error("sink down");
      },
    });
    await expect(cuecard.getPrompt("support/triage", { unit: "é" })).resolves.toMatchObject({
      version: 4,
    });
  });

  it("goes to the Telemetry sink batched: many units, one POST /v1/events", async () => {
    const posts: { url: string; events: TelemetryEvent[] }[] = [];
    const telemetry = new Telemetry({
      baseUrl: "https://edge.test",
      apiKey: "cc_reader_x",
      flushIntervalMs: 0,
      fetch: async (url, init) => {
        const { events } = JSON.parse(String(init?.body)) as { events: TelemetryEvent[] };
        posts.push({ url, events });
        return Response.json({ accepted: events.length, rejected: 0, results: [] });
      },
    });
    const edge = fakeEdge(labelAnswer(definition()));
    const cuecard = client(edge, telemetry);
    for (let i = 0; i < 50; i++) await cuecard.getPrompt("support/triage", { unit: `user-${i}` });
    await telemetry.flush();
    expect(posts).toHaveLength(1);
    expect(posts[0]?.url).toBe("https://edge.test/v1/events");
    expect(posts[0]?.events.map((event) => (event as { unit: string }).unit)).toEqual(
      Array.from({ length: 50 }, (_, i) => `user-${i}`),
    );
  });
});

describe("observed calls link to the variant", () => {
  it("records {id, key, variant} of an assigned prompt, and no experiment for a no_unit control", async () => {
    const telemetry = new Telemetry({
      baseUrl: "https://edge.test",
      apiKey: "cc_reader_x",
      flushIntervalMs: 0,
      fetch: async () => Response.json({ accepted: 0, rejected: 0, results: [] }),
    });
    const cuecard = client(fakeEdge(labelAnswer(definition())));
    const assigned = await cuecard.getPrompt("support/triage", { unit: "é" });
    const anonymous = await cuecard.getPrompt("support/triage");
    const linked = telemetry.recordGeneration({ model: "m", latencyMs: 1, prompt: assigned });
    const unlinked = telemetry.recordGeneration({ model: "m", latencyMs: 1, prompt: anonymous });
    expect(linked?.experiment).toEqual({ id: "exp_demo", key: "triage-tone", variant: "friendly" });
    expect(unlinked?.experiment).toBeNull();
  });
});

describe("prefetch", () => {
  it("does not cache a label running an experiment without its definition", async () => {
    const withExperiment = { ...labelAnswer(definition()), definition: undefined };
    const requests: string[] = [];
    const cuecard = new CuecardClient({
      edgeUrl: "https://edge.test",
      apiKey: "cc_reader_x",
      fetch: async (url) => {
        requests.push(url);
        const body = url.includes("names=")
          ? { prompts: [withExperiment], missing: [] }
          : labelAnswer(definition());
        return Response.json(body);
      },
    });
    await cuecard.prefetch(["support/triage"]);
    const prompt = await cuecard.getPrompt("support/triage", { unit: "é" });
    expect(prompt.experiment).toMatchObject({ variant: "friendly", reason: "assigned" });
    expect(requests).toHaveLength(2);
    expect(requests[1]).toContain("definition=1");
  });
});
