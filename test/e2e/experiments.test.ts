/**
 * An experiment end to end over real HTTP: created and started on the admin worker, published by
 * it to the shared KV, assigned per unit by the edge worker; paused, then stopped with a promotion.
 * The expected variants come from the seed and hash version the admin API shows, as an outside
 * GrowthBook-compatible SDK would use them.
 */
import { randomUUID } from "node:crypto";
import { assign } from "@cuecard/core/assignment";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startEphemeralPlatform } from "../../scripts/platform";
import { type SeedResult, seedPlatform } from "../../scripts/seed";

const project = "default";
let platform: Platform;
let seeded: SeedResult;
let readKey: string;

beforeAll(async () => {
  platform = await startEphemeralPlatform("e2e-experiments");
  seeded = await seedPlatform(platform);
  const created = await admin("POST", `/projects/${project}/keys`, {
    name: "e2e experiments reader",
    role: "reader",
  });
  readKey = ((await created.json()) as { secret: string }).secret;
});

afterAll(async () => {
  await platform?.dispose();
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
