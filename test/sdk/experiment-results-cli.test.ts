/**
 * `cuecard experiment results <id>` against the real platform (scripts/platform.ts: admin, edge
 * and telemetry workers in Miniflare). Exposures and conversions are sent the way an app's SDK
 * sends them (`POST /v1/events` on the edge with a read key), rolled up by telemetry's queue
 * consumer, analysed by the admin API, and printed by the CLI — whose exit code is the CI gate.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Platform, startEphemeralPlatform } from "../../scripts/platform";
import { AdminClient } from "../../sdk/src/admin";
import { main } from "../../sdk/src/cli/main";

let platform: Platform;
let workDir: string;
let project: string;
let adminKey: string;
let readKey: string;
let admin: AdminClient;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[]): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    cwd: workDir,
    env: { CUECARD_API_KEY: adminKey },
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
  });
  return { code, stdout, stderr };
}

/** A running 50/50 experiment on its own prompt's `production` label, judged on `resolved`. */
async function runningExperiment(key: string): Promise<{ id: string; prompt: string }> {
  const prompt = `cli/${key}`;
  await admin.createPrompt(project, {
    name: prompt,
    version: { prompt: "Hello {{customer}}", labels: ["production"] },
  });
  await admin.createVersion(project, prompt, { prompt: "Hi there {{customer}}!" });
  const created = await admin.call("post", "/v1/projects/{project}/experiments", {
    path: { project },
    body: {
      prompt,
      label: "production",
      key,
      unit: "user id",
      description: "",
      control: { key: "control", weight: 0.5 },
      variants: [{ key: "friendly", version: 2, weight: 0.5 }],
      coverage: 1,
      metrics: { primary: { kind: "conversion", name: "resolved" }, guardrails: [] },
      stages: [],
      onRegression: "pause",
      autoPromote: false,
    },
  });
  await admin.call("post", "/v1/projects/{project}/experiments/{id}/start", {
    path: { project, id: created.id },
  });
  return { id: created.id, prompt };
}

/** One arm's traffic: `units` exposed units, of which the first `converted` send `resolved`. */
interface Traffic {
  experiment: { id: string; prompt: string };
  units: Record<string, number>;
  converted: Record<string, number>;
}

function eventsOf({ experiment, units, converted }: Traffic): unknown[] {
  const now = new Date().toISOString();
  const events: unknown[] = [];
  for (const [variant, count] of Object.entries(units)) {
    for (let index = 0; index < count; index++) {
      const unit = `${experiment.id}-${variant}-${index}`;
      events.push({
        type: "exposure",
        id: randomUUID(),
        timestamp: now,
        experiment: { id: experiment.id, key: "cli", variant },
        unit,
        prompt: {
          name: experiment.prompt,
          version: variant === "control" ? 1 : 2,
          label: "production",
        },
      });
      if (index < (converted[variant] ?? 0)) {
        events.push({
          type: "conversion",
          id: randomUUID(),
          timestamp: now,
          name: "resolved",
          unit,
        });
      }
    }
  }
  return events;
}

/**
 * Sends every experiment's events in batches of 100, as an SDK's telemetry sink would, then waits
 * until telemetry's queue consumer (which rolls up in the background) has counted every exposure.
 */
async function sendTraffic(traffic: Traffic[]) {
  const events = traffic.flatMap(eventsOf);
  for (let start = 0; start < events.length; start += 100) {
    const response = await fetch(`${platform.edgeUrl}/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${readKey}`, "content-type": "application/json" },
      body: JSON.stringify({ events: events.slice(start, start + 100) }),
    });
    expect(response.status, await response.text()).toBe(200);
  }
  for (const { experiment, units } of traffic) {
    const total = Object.values(units).reduce((sum, count) => sum + count, 0);
    await vi.waitFor(
      async () => {
        const results = await admin.experimentResults(project, experiment.id);
        const counted = Object.values(results.srm.observed).reduce((sum, n) => sum + n, 0);
        if (counted < total) throw new Error(`${counted} of ${total} exposures counted`);
      },
      { timeout: 120_000, interval: 1_000 },
    );
  }
}

let winner: { id: string; prompt: string };
let early: { id: string; prompt: string };
let skewed: { id: string; prompt: string };

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "cuecard-results-"));
  platform = await startEphemeralPlatform("cli-results");
  project = `res-${randomUUID().slice(0, 8)}`;
  const bootstrap = await fetch(`${platform.adminUrl}/api/v1/bootstrap`, {
    method: "POST",
    headers: { authorization: `Bearer ${platform.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ project, keyName: "results tests" }),
  });
  expect(bootstrap.status).toBe(201);
  adminKey = ((await bootstrap.json()) as { secret: string }).secret;
  admin = new AdminClient({ adminUrl: platform.adminUrl, apiKey: adminKey });
  const reader = await admin.call("post", "/v1/projects/{project}/keys", {
    path: { project },
    body: { name: "app", role: "reader", sendTelemetry: true },
  });
  readKey = reader.secret;
  const init = await cli([
    "init",
    "--admin-url",
    platform.adminUrl,
    "--edge-url",
    platform.edgeUrl,
    "--project",
    project,
  ]);
  expect(init.code, init.stderr).toBe(0);

  winner = await runningExperiment("clear-winner");
  early = await runningExperiment("too-early");
  skewed = await runningExperiment("skewed");
  await sendTraffic([
    // 200 units an arm; 25 % of the control's resolve, 75 % of friendly's.
    {
      experiment: winner,
      units: { control: 200, friendly: 200 },
      converted: { control: 50, friendly: 150 },
    },
    // 10 units an arm: below the 100 each arm needs before any verdict.
    {
      experiment: early,
      units: { control: 10, friendly: 10 },
      converted: { control: 1, friendly: 5 },
    },
    // A 50/50 split that telemetry saw as 300 to 150: units are lost or assigned unevenly.
    {
      experiment: skewed,
      units: { control: 300, friendly: 150 },
      converted: { control: 30, friendly: 15 },
    },
  ]);
}, 480_000);

afterAll(async () => {
  await platform?.dispose();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("cuecard experiment results", () => {
  it("prints the per-variant table and the decision, and exits 0 for a winner", async () => {
    const run = await cli(["experiment", "results", winner.id]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split("\n");
    expect(lines[0]).toBe(
      `Experiment ${winner.id}: frequentist, sequential (always-valid) intervals`,
    );
    expect(lines).toContain("Exposed units: control 200 · friendly 200");
    expect(run.stdout).toMatch(/Sample-ratio mismatch p-value: 1\b/);
    expect(lines).toContain('Primary: conversion "resolved" (higher is better)');
    const header = lines.find((line) => line.trim().startsWith("variant"));
    expect(header?.trim().split(/\s{2,}/)).toEqual([
      "variant",
      "units",
      "value ± sd",
      "effect",
      "95 % interval",
      "p-value",
    ]);
    const control = lines.find((line) => line.trim().startsWith("control"));
    // 50 of 200 resolved: 0.25, sd sqrt(0.25 · 0.75) = 0.433.
    expect(control?.trim().split(/\s{2,}/)).toEqual([
      "control",
      "200",
      "0.25 ± 0.433",
      "—",
      "—",
      "—",
    ]);
    const friendly = lines.find((line) => line.trim().startsWith("friendly"));
    const cells = friendly?.trim().split(/\s{2,}/) ?? [];
    // 150 of 200: 0.75, sd 0.433; +200 % on the control's 0.25. The interval and p-value are
    // the engine's (tested on their own); here only their format and direction.
    expect(cells.slice(0, 4)).toEqual(["friendly", "200", "0.75 ± 0.433", "+200.0 %"]);
    expect(cells[4]).toMatch(/^\[\+\d+\.\d %, \+\d+\.\d %\]$/);
    expect(cells[5]).toMatch(/^(<0\.0001|0\.\d{4})$/);
    expect(lines).toContain("Decision: winner (friendly)");
  });

  it("gives the whole result as one JSON document with --json", async () => {
    const run = await cli(["experiment", "results", winner.id, "--json", "--engine", "bayesian"]);
    expect(run.code).toBe(0);
    const results = JSON.parse(run.stdout);
    expect(results).toMatchObject({
      experimentId: winner.id,
      engine: "bayesian",
      intervalKind: "bayesian",
      decision: "winner",
      winner: "friendly",
    });
    expect(results.metrics[0].variants[1].chanceToWin).toBeGreaterThan(0.99);
  });

  it("shows the chance to win and risk with --engine bayesian", async () => {
    const run = await cli(["experiment", "results", winner.id, "--engine", "bayesian"]);
    expect(run.code).toBe(0);
    const header = run.stdout.split("\n").find((line) => line.trim().startsWith("variant"));
    expect(header?.trim().split(/\s{2,}/)).toEqual([
      "variant",
      "units",
      "value ± sd",
      "effect",
      "95 % interval",
      "chance to win",
      "risk",
    ]);
  });

  it("exits 6 while there is not enough data, saying why", async () => {
    const run = await cli(["experiment", "results", early.id]);
    expect(run.code).toBe(6);
    expect(run.stdout).toContain("Decision: not_enough_data");
    // 10 and 10 against 50/50: no mismatch (the check needs 8 units an arm).
    expect(run.stdout).toContain("Sample-ratio mismatch p-value: 1.0");
    expect(run.stdout).toContain("at least 100 exposed units");
  });

  it("exits 7 on a sample-ratio mismatch", async () => {
    const run = await cli(["experiment", "results", skewed.id]);
    expect(run.code).toBe(7);
    expect(run.stdout).toContain("Decision: srm");
    expect(run.stdout).toContain("Exposed units: control 300 · friendly 150");
  });

  it("exits 3 for an unknown experiment and 2 for a bad engine", async () => {
    const unknown = await cli(["experiment", "results", "exp_00000000000000000000"]);
    expect(unknown.code).toBe(3);
    const badEngine = await cli(["experiment", "results", winner.id, "--engine", "magic"]);
    expect(badEngine.code).toBe(2);
    expect(badEngine.stderr).toContain("--engine must be frequentist or bayesian");
    const noId = await cli(["experiment", "results"]);
    expect(noId.code).toBe(2);
  });
});
