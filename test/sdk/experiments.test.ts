/**
 * Experiments through the SDK against the real platform (both workers bundled by wrangler, served
 * by Miniflare over one D1/KV): the SDK fetches a label once and assigns locally, and for every
 * unit it agrees with what the edge serves that unit over plain HTTP (`?unit=`).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startEphemeralPlatform } from "../../scripts/platform";
import { AdminClient } from "../../sdk/src/admin";
import { CuecardClient } from "../../sdk/src/index";

let platform: Platform;
let project: string;
let readKey: string;
let admin: AdminClient;
let name: string;
let experimentId: string;

/** An SDK client whose edge requests for prompts are counted. */
function countingClient() {
  const prompts: string[] = [];
  const client = new CuecardClient({
    edgeUrl: platform.edgeUrl,
    apiKey: readKey,
    fetch: (url, init) => {
      prompts.push(url);
      return fetch(url, init);
    },
  });
  return { client, prompts };
}

async function edgeAnswer(unit: string) {
  const response = await fetch(
    `${platform.edgeUrl}/v1/prompts/${encodeURIComponent(name)}?unit=${encodeURIComponent(unit)}`,
    { headers: { authorization: `Bearer ${readKey}` } },
  );
  expect(response.status).toBe(200);
  return (await response.json()) as {
    version: number;
    experiment: { variant: string; bucket: number | null; reason: string } | null;
  };
}

/** Runs `work` over `items` with a few requests in flight, keeping the machine responsive. */
async function inParallel<T, R>(items: T[], work: (item: T) => Promise<R>, width = 16) {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index] as T);
      }
    }),
  );
  return results;
}

const units = Array.from({ length: 10_000 }, () => randomUUID());
const assignedBySdk = new Map<string, string>();

beforeAll(async () => {
  platform = await startEphemeralPlatform("sdk-experiments");
  project = `sdkexp-${randomUUID().slice(0, 8)}`;
  const bootstrap = await fetch(`${platform.adminUrl}/api/v1/bootstrap`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${platform.adminToken}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ project, keyName: "sdk experiment tests" }),
  });
  expect(bootstrap.status).toBe(201);
  const adminKey = ((await bootstrap.json()) as { secret: string }).secret;
  admin = new AdminClient({ adminUrl: platform.adminUrl, apiKey: adminKey });
  readKey = (
    await admin.call("post", "/v1/projects/{project}/keys", {
      path: { project },
      body: { name: "sdk reader", role: "reader" },
    })
  ).secret;
  name = `triage/${randomUUID().slice(0, 8)}`;
  await admin.createPrompt(project, {
    name,
    version: { prompt: "Control: {{ticket}}", labels: ["production"] },
  });
  await admin.createVersion(project, name, { prompt: "Friendly: {{ticket}}" });
  await admin.createVersion(project, name, { prompt: "Brief: {{ticket}}" });
  const experiment = await admin.call("post", "/v1/projects/{project}/experiments", {
    path: { project },
    body: {
      prompt: name,
      label: "production",
      key: "triage-tone",
      description: "",
      unit: "user id",
      control: { key: "control", weight: 0.4 },
      variants: [
        { key: "friendly", version: 2, weight: 0.3 },
        { key: "brief", version: 3, weight: 0.3 },
      ],
      coverage: 0.9,
      metrics: { primary: { kind: "conversion", name: "resolved" }, guardrails: [] },
      stages: [],
      onRegression: "pause",
      autoPromote: false,
    },
  });
  experimentId = experiment.id;
  await admin.call("post", "/v1/projects/{project}/experiments/{id}/start", {
    path: { project, id: experimentId },
  });
});

afterAll(async () => {
  await platform?.dispose();
});

describe("the SDK assigns locally, as the edge does", () => {
  it("agrees with the edge on 10,000 random ids, from one fetch of the label", async () => {
    const { client, prompts } = countingClient();
    const byVersion: Record<number, string> = { 1: "control", 2: "friendly", 3: "brief" };
    const disagreements: string[] = [];
    const seen = new Set<string>();
    await inParallel(units, async (unit) => {
      const local = await client.getPrompt(name, { unit });
      const edge = await edgeAnswer(unit);
      const localVariant = local.experiment?.variant;
      assignedBySdk.set(unit, localVariant as string);
      seen.add(`${localVariant}/${local.experiment?.reason}`);
      if (
        localVariant !== edge.experiment?.variant ||
        local.version !== edge.version ||
        local.experiment?.reason !== edge.experiment?.reason ||
        local.experiment?.bucket !== edge.experiment?.bucket ||
        byVersion[local.version] !== localVariant
      ) {
        disagreements.push(unit);
      }
    });
    expect(disagreements).toEqual([]);
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toContain("definition=1");
    // Every arm, and the outside of the coverage, occurred: the comparison covered each path.
    expect([...seen].sort()).toEqual([
      "brief/assigned",
      "control/assigned",
      "control/not_in_coverage",
      "friendly/assigned",
    ]);
    // 10,000 edge requests: about 20 s on an idle 2-core machine, several times that on a busy one.
  }, 180_000);

  it("keeps a unit's variant across a fresh client (an app restart)", async () => {
    const { client } = countingClient();
    const sample = units.slice(0, 500);
    for (const unit of sample) {
      const prompt = await client.getPrompt(name, { unit });
      expect(prompt.experiment?.variant, unit).toBe(assignedBySdk.get(unit));
    }
  });

  it("serves the control to everyone once the experiment is paused", async () => {
    await admin.call("post", "/v1/projects/{project}/experiments/{id}/pause", {
      path: { project, id: experimentId },
    });
    const { client } = countingClient();
    const treated = units.filter((unit) => assignedBySdk.get(unit) !== "control").slice(0, 200);
    expect(treated.length).toBe(200);
    for (const unit of treated) {
      const prompt = await client.getPrompt(name, { unit });
      expect(prompt.version, unit).toBe(1);
      expect(prompt.experiment, unit).toBeNull();
    }
    const edge = await edgeAnswer(treated[0] as string);
    expect(edge.version).toBe(1);
    expect(edge.experiment).toBeNull();
  });
});
