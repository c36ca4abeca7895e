import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../workers/admin";
import { addVersion, api, createTextPrompt, json, keyFor } from "./api";

/**
 * An experiment's exposure counts in `GET …/experiments/{id}`: distinct units per arm, read from
 * the telemetry worker over the TELEMETRY binding. The binding is the Node stand-in
 * (telemetry-fake.ts); each test tells it what telemetry has counted for its experiment.
 */

const base = "/projects/default/experiments";
let keys = 0;

async function runningExperiment(start = true) {
  const name = await createTextPrompt("Hello {{customer}}", ["production"]);
  await addVersion(name, "Hi there {{customer}}!");
  const created = await api("POST", base, {
    prompt: name,
    label: "production",
    key: `exposures-${++keys}-${Math.random().toString(36).slice(2, 7)}`,
    unit: "user id",
    control: { weight: 0.5 },
    variants: [{ key: "friendly", version: 2, weight: 0.5 }],
    metrics: { primary: { kind: "conversion", name: "resolved" } },
  });
  expect(created.status, await created.clone().text()).toBe(201);
  const { id } = (await json(created)) as { id: string };
  if (start) expect((await api("POST", `${base}/${id}/start`)).status).toBe(200);
  return id;
}

/** What the stand-in telemetry worker answers for this experiment from now on. */
async function telemetryCounts(id: string, canned: unknown) {
  const response = await env.TELEMETRY.fetch(`http://telemetry.test/__test/exposures/${id}`, {
    method: "PUT",
    body: JSON.stringify(canned),
  });
  expect(response.status).toBe(204);
}

async function exposureQueries(id: string): Promise<{ projectId: string }[]> {
  return json(
    await env.TELEMETRY.fetch(`http://telemetry.test/__test/exposure-queries?experimentId=${id}`),
  );
}

describe("GET /v1/projects/{project}/experiments/{id}: exposures", () => {
  it("shows the distinct units telemetry counted per arm, asking for this project and experiment", async () => {
    const id = await runningExperiment();
    await telemetryCounts(id, {
      variants: [
        { variant: "control", units: 1012 },
        { variant: "friendly", units: 988 },
      ],
    });
    const body = await json(
      await api("GET", `${base}/${id}`, undefined, {
        authorization: `Bearer ${await keyFor("editor")}`,
      }),
    );
    expect(body).toMatchObject({
      id,
      state: "running",
      telemetry: "deployed",
      exposures: { control: 1012, friendly: 988 },
    });
    expect(await exposureQueries(id)).toEqual([{ projectId: "default", experimentId: id }]);
  });

  it("lists an arm nobody was served yet with 0, in the arms' order", async () => {
    const id = await runningExperiment();
    await telemetryCounts(id, { variants: [{ variant: "friendly", units: 3 }] });
    const body = await json(await api("GET", `${base}/${id}`));
    expect(Object.entries(body.exposures)).toEqual([
      ["control", 0],
      ["friendly", 3],
    ]);
  });

  it("a draft has served nobody: zeros, and telemetry is not asked", async () => {
    const id = await runningExperiment(false);
    const body = await json(await api("GET", `${base}/${id}`));
    expect(body).toMatchObject({ state: "draft", exposures: { control: 0, friendly: 0 } });
    expect(await exposureQueries(id)).toEqual([]);
  });

  it("telemetry down: the experiment is still answered, exposures null and telemetry unavailable", async () => {
    const id = await runningExperiment();
    await telemetryCounts(id, { status: 500 });
    const response = await api("GET", `${base}/${id}`);
    expect(response.status).toBe(200);
    expect(await json(response)).toMatchObject({
      id,
      state: "running",
      exposures: null,
      telemetry: "unavailable",
    });
  });

  it("a malformed telemetry answer is treated as telemetry unavailable, not passed on", async () => {
    const id = await runningExperiment();
    await telemetryCounts(id, { variants: [{ variant: "control", units: -5 }] });
    expect(await json(await api("GET", `${base}/${id}`))).toMatchObject({
      exposures: null,
      telemetry: "unavailable",
    });
  });

  it("without the TELEMETRY binding: exposures null, telemetry not_deployed", async () => {
    const id = await runningExperiment();
    const ctx = createExecutionContext();
    const response = await worker.fetch(
      new Request(`http://admin.test/api/v1${base}/${id}`, {
        headers: { authorization: `Bearer ${await keyFor("editor")}` },
      }),
      { ...env, TELEMETRY: undefined } as unknown as AdminEnv,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(200);
    expect(await json(response)).toMatchObject({ id, exposures: null, telemetry: "not_deployed" });
    expect(await exposureQueries(id)).toEqual([]);
  });
});
