/**
 * An experiment end to end over real HTTP: created and started on the admin worker, published by
 * it to the shared KV, assigned per unit by the edge worker; paused, then stopped with a promotion.
 * The expected variants come from the seed and hash version the admin API shows, as an outside
 * GrowthBook-compatible SDK would use them. Exposures travel edge → telemetry (batched, queued,
 * rolled up) and come back as the admin API's exact per-arm unit counts; the stop's webhook
 * reaches a receiver on loopback, signed.
 */
import { randomUUID } from "node:crypto";
import { assign } from "@cuecard/core/assignment";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startEphemeralPlatform } from "../../scripts/platform";
import {
  demoExperiment,
  type SeedResult,
  seedDemoExperiment,
  seedPlatform,
} from "../../scripts/seed";
import { seedDemoExposures } from "../../scripts/seed-telemetry";
import { startWebhookReceiver, type WebhookReceiver } from "../../scripts/webhook-receiver";
import { CuecardClient } from "../../sdk/src/client";
import { Telemetry } from "../../sdk/src/observe/index";

const project = "default";
let platform: Platform;
let seeded: SeedResult;
let readKey: string;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver(() => ({ status: 200, body: "ok" }));
  // The receiver listens on loopback, which only this local-development setting allows.
  platform = await startEphemeralPlatform("e2e-experiments", {
    adminVars: { WEBHOOK_ALLOW_LOOPBACK: "true" },
  });
  seeded = await seedPlatform(platform);
  const created = await admin("POST", `/projects/${project}/keys`, {
    name: "e2e experiments reader",
    role: "reader",
  });
  readKey = ((await created.json()) as { secret: string }).secret;
});

afterAll(async () => {
  await platform?.dispose();
  await receiver?.close();
});

function admin(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${platform.adminUrl}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${seeded.adminKey.secret}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

interface Served {
  version: number;
  prompt: string;
  experiment: { id: string; variant: string; bucket: number | null; reason: string } | null;
}

async function edge(name: string, unit?: string): Promise<Served> {
  const query = unit === undefined ? "" : `?unit=${encodeURIComponent(unit)}`;
  const response = await fetch(
    `${platform.edgeUrl}/v1/prompts/${encodeURIComponent(name)}${query}`,
    { headers: { authorization: `Bearer ${readKey}` } },
  );
  expect(response.status).toBe(200);
  return (await response.json()) as Served;
}

describe("an experiment from the admin API to the edge", () => {
  it("splits the label per unit, serves the control when paused, and promotes on stop", async () => {
    const name = `e2e/experiment-${randomUUID().slice(0, 8)}`;
    const prompts = `/projects/${project}/prompts`;
    expect(
      (
        await admin("POST", prompts, {
          name,
          version: { prompt: "Hello {{customer}}", labels: ["production"] },
        })
      ).status,
    ).toBe(201);
    await admin("POST", `${prompts}/${encodeURIComponent(name)}/versions`, {
      prompt: "Hi there {{customer}}!",
    });

    const created = await admin("POST", `/projects/${project}/experiments`, {
      prompt: name,
      label: "production",
      key: `e2e-${randomUUID().slice(0, 8)}`,
      unit: "user id",
      control: { weight: 0.5 },
      variants: [{ key: "friendly", version: 2, weight: 0.5 }],
      coverage: 0.9,
      metrics: { primary: { kind: "score", name: "helpful" } },
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const started = await admin("POST", `/projects/${project}/experiments/${id}/start`);
    expect(started.status).toBe(200);
    const definition = (await started.json()) as {
      seed: string;
      hashVersion: 1 | 2;
      coverage: number;
      control: { weight: number };
      variants: { weight: number }[];
    };

    const weights = [definition.control.weight, ...definition.variants.map((v) => v.weight)];
    const versions = [1, 2];
    const seen = new Set<number>();
    for (let i = 0; i < 60; i++) {
      const unit = `user-${i}`;
      const served = await edge(name, unit);
      const expected = assign({ ...definition, weights }, unit);
      expect(served.version, unit).toBe(versions[expected.variant]);
      expect(served.experiment, unit).toMatchObject({
        id,
        bucket: expected.bucket,
        reason: expected.reason,
      });
      seen.add(served.version);
    }
    expect([...seen].sort()).toEqual([1, 2]);
    expect((await edge(name)).experiment?.reason).toBe("no_unit");

    await admin("POST", `/projects/${project}/experiments/${id}/pause`);
    for (const unit of ["user-1", "user-2", "user-3", "user-4"]) {
      expect(await edge(name, unit)).toMatchObject({ version: 1, experiment: null });
    }

    const stopped = await admin("POST", `/projects/${project}/experiments/${id}/stop`, {
      promote: "friendly",
    });
    expect(stopped.status).toBe(200);
    for (const unit of ["user-1", "user-2", undefined]) {
      expect(await edge(name, unit)).toMatchObject({ version: 2, experiment: null });
    }
  });
});

interface ExperimentRead {
  id: string;
  state: string;
  control: { key: string; version: number | null };
  variants: { key: string; version: number }[];
  exposures: Record<string, number> | null;
  telemetry: string;
}

async function readExperiment(id: string): Promise<ExperimentRead> {
  const response = await admin("GET", `/projects/${project}/experiments/${id}`);
  expect(response.status).toBe(200);
  return (await response.json()) as ExperimentRead;
}

const sum = (counts: Record<string, number>) =>
  Object.values(counts).reduce((total, units) => total + units, 0);

/**
 * Polls the experiment until its exposures add up to `units`: the edge reports them about a
 * second after serving, and telemetry's queue rolls them up in batches of up to 2 s.
 */
async function exposuresOnceCounted(id: string, units: number): Promise<Record<string, number>> {
  let exposures: Record<string, number> | null = null;
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline) {
    exposures = (await readExperiment(id)).exposures;
    if (exposures && sum(exposures) >= units) return exposures;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`exposures did not reach ${units} units: ${JSON.stringify(exposures)}`);
}

/** Requests `units` through the edge, a few at a time; answers each unit's served variant. */
async function serveAll(name: string, units: string[]): Promise<Map<string, Served>> {
  const served = new Map<string, Served>();
  let next = 0;
  const worker = async () => {
    while (next < units.length) {
      const unit = units[next++] as string;
      served.set(unit, await edge(name, unit));
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return served;
}

function countByVariant(served: Iterable<Served>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const response of served) {
    const variant = response.experiment?.variant;
    if (variant === undefined) throw new Error("a unit was served no experiment");
    counts[variant] = (counts[variant] ?? 0) + 1;
  }
  return counts;
}

describe("exposure counts, from the edge to the admin API", () => {
  it("counts distinct units per arm exactly, ignores repeats, and the stop's promotion is audited and announced", async () => {
    const created = await admin("POST", `/projects/${project}/webhooks`, {
      url: `${receiver.origin}/experiments`,
      eventTypes: ["experiment.stopped"],
      description: "e2e experiments receiver",
    });
    expect(created.status).toBe(201);
    const webhook = (await created.json()) as { webhook: { id: string }; secret: string };

    const name = `e2e/exposures-${randomUUID().slice(0, 8)}`;
    const prompts = `/projects/${project}/prompts`;
    expect(
      (
        await admin("POST", prompts, {
          name,
          version: { prompt: "Hello {{customer}}", labels: ["production"] },
        })
      ).status,
    ).toBe(201);
    await admin("POST", `${prompts}/${encodeURIComponent(name)}/versions`, {
      prompt: "Hi there {{customer}}!",
    });
    const draft = await admin("POST", `/projects/${project}/experiments`, {
      prompt: name,
      label: "production",
      key: `load-${randomUUID().slice(0, 8)}`,
      unit: "user id",
      control: { weight: 0.4 },
      variants: [{ key: "friendly", version: 2, weight: 0.6 }],
      metrics: { primary: { kind: "score", name: "helpful" } },
    });
    expect(draft.status).toBe(201);
    const { id } = (await draft.json()) as { id: string };
    expect((await admin("POST", `/projects/${project}/experiments/${id}/start`)).status).toBe(200);

    const run = randomUUID().slice(0, 8);
    const units = Array.from({ length: 2000 }, (_, index) => `${run}-user-${index}`);
    const served = await serveAll(name, units);
    for (const response of served.values()) {
      expect(response.experiment).toMatchObject({ id, reason: "assigned" });
      expect(response.version).toBe(response.experiment?.variant === "control" ? 1 : 2);
    }
    const split = countByVariant(served.values());
    expect(Object.keys(split).sort()).toEqual(["control", "friendly"]);
    expect(await exposuresOnceCounted(id, 2000)).toEqual(split);

    // The same 200 units again, then one new unit as a marker: once the marker is counted, the
    // repeats (reported before it, if at all) have been rolled up too, and added nothing.
    const repeated = await serveAll(name, units.slice(0, 200));
    for (const [unit, response] of repeated) {
      expect(response.experiment?.variant, unit).toBe(served.get(unit)?.experiment?.variant);
    }
    const marker = await edge(name, `${run}-marker`);
    const markerVariant = marker.experiment?.variant as string;
    const expected = { ...split, [markerVariant]: (split[markerVariant] ?? 0) + 1 };
    expect(await exposuresOnceCounted(id, 2001)).toEqual(expected);

    // 2,000 more units through the SDK: it assigns them locally from one label fetch and reports
    // their exposures through its telemetry sink; the counts grow by exactly the SDK's split.
    // A loop of 2,000 cached assignments never waits on I/O, so it outruns any flush: the buffer
    // is sized for it here (the default 1,000 would drop the oldest, and count them).
    const telemetry = new Telemetry({
      baseUrl: platform.edgeUrl,
      apiKey: readKey,
      maxBuffered: 4000,
    });
    const sdk = new CuecardClient({ edgeUrl: platform.edgeUrl, apiKey: readKey, telemetry });
    const sdkSplit: Record<string, number> = {};
    for (let index = 0; index < 2000; index++) {
      const prompt = await sdk.getPrompt(name, { unit: `${run}-sdk-user-${index}` });
      expect(prompt.experiment).toMatchObject({ id, reason: "assigned" });
      const variant = prompt.experiment?.variant as string;
      expect(prompt.version).toBe(variant === "control" ? 1 : 2);
      sdkSplit[variant] = (sdkSplit[variant] ?? 0) + 1;
    }
    await telemetry.shutdown();
    expect(telemetry.stats()).toMatchObject({ dropped: 0, rejected: 0 });
    const withSdk = Object.fromEntries(
      Object.entries(expected).map(([variant, units]) => [
        variant,
        units + (sdkSplit[variant] ?? 0),
      ]),
    );
    expect(await exposuresOnceCounted(id, 4001)).toEqual(withSdk);

    expect((await admin("POST", `/projects/${project}/experiments/${id}/pause`)).status).toBe(200);
    const paused = await serveAll(name, units.slice(0, 50));
    for (const [unit, response] of paused) {
      expect(response, unit).toMatchObject({ version: 1, experiment: null });
    }

    const stopped = await admin("POST", `/projects/${project}/experiments/${id}/stop`, {
      promote: "friendly",
    });
    expect(stopped.status).toBe(200);
    const prompt = (await (
      await admin("GET", `${prompts}/${encodeURIComponent(name)}`)
    ).json()) as { labels: { name: string; version: number }[] };
    expect(prompt.labels.find((label) => label.name === "production")?.version).toBe(2);
    expect(await edge(name, units[0])).toMatchObject({ version: 2, experiment: null });

    const audit = (await (
      await admin(
        "GET",
        `/projects/${project}/audit?target=${encodeURIComponent(`${name}@production`)}&action=label.move`,
      )
    ).json()) as { items: { before: unknown; after: unknown; actor: string }[] };
    expect(audit.items[0]).toMatchObject({
      before: { version: 1 },
      after: { version: 2 },
    });
    const stopAudit = (await (
      await admin("GET", `/projects/${project}/audit?target=${id}&action=experiment.stop`)
    ).json()) as { items: { after: unknown }[] };
    expect(stopAudit.items).toHaveLength(1);

    const verifier = new Webhook(webhook.secret);
    let delivered: { type: string; data: Record<string, unknown> } | undefined;
    for (let i = 0; i < 120 && !delivered; i++) {
      const request = receiver.received.find((r) => r.path === "/experiments");
      if (request) {
        delivered = verifier.verify(request.body, request.headers as Record<string, string>) as {
          type: string;
          data: Record<string, unknown>;
        };
      } else {
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    expect(delivered).toMatchObject({
      type: "experiment.stopped",
      data: {
        experiment: { id },
        prompt: { name },
        label: "production",
        controlVersion: 1,
        promoted: { variant: "friendly", version: 2 },
      },
    });
    // A body changed on the way fails the signature check.
    const request = receiver.received.find((r) => r.path === "/experiments");
    expect(() =>
      verifier.verify(
        request?.body.replace('"friendly"', '"control"') ?? "",
        request?.headers as Record<string, string>,
      ),
    ).toThrow();
  });

  it("the dev seed starts one demo experiment, once, and its demo users show up as exposures", async () => {
    const options = { adminUrl: platform.adminUrl, adminKey: seeded.adminKey.secret };
    const first = await seedDemoExperiment(options);
    expect(first).toMatchObject({
      prompt: demoExperiment.prompt,
      label: "production",
      state: "running",
      created: true,
    });
    const again = await seedDemoExperiment(options);
    expect(again).toMatchObject({ id: first?.id, created: false });
    const experiment = await readExperiment(first?.id as string);
    expect(experiment.control.version).toBe(2);
    expect(experiment.variants).toEqual([expect.objectContaining({ key: "concise", version: 3 })]);

    const served = await seedDemoExposures({
      edgeUrl: platform.edgeUrl,
      readKey,
      prompt: demoExperiment.prompt,
      users: 40,
    });
    expect(sum(served)).toBe(40);
    expect(await exposuresOnceCounted(first?.id as string, 40)).toEqual({
      control: served.control ?? 0,
      concise: served.concise ?? 0,
    });
  });
});
