/**
 * Demo telemetry for local development, so a newcomer opens a prompt's metrics page and sees
 * charts at once. The events are made the way an app makes them: prompts fetched from the edge
 * with the SDK, real calls through the real `openai` package wrapped by `observeOpenAI`, sent by
 * the SDK's `Telemetry` sink to the edge's `POST /v1/events`. Two things are staged:
 * - the model is the local model stub (scripts/model-stub.ts) with per-version latencies,
 *   answers and a few failures, standing in for a provider;
 * - each event's timestamp is moved back into the last three days (on its way out, in the
 *   sink's `fetch`), so the charts have history instead of one hour of data. Scores (a
 *   thumbs-up `helpful` and a 0–1 `accuracy`) are added for most calls in the same way.
 *
 * Runs only when the demo prompt has no calls in the last week, so restarting `npm run dev`
 * does not pile up data.
 */
import OpenAI from "openai";
import { CuecardClient } from "../sdk/src/client";
import { linkPrompt, observeOpenAI, Telemetry } from "../sdk/src/observe/index";
import { startModelStub } from "./model-stub";

export interface TelemetrySeedOptions {
  adminUrl: string;
  edgeUrl: string;
  project: string;
  adminKey: string;
  /** A read key allowed to send telemetry. */
  readKey: string;
}

/** What each demo call uses: which prompt label, how the stub behaves for it. */
interface CallPlan {
  name: string;
  label: string;
  /** Calls in the three days. */
  calls: number;
  latencyMs: number;
  firstTokenMs: number;
  /** Share of calls the stub fails with a 500. */
  failureRate: number;
  /** Share of thumbs-up among scored calls. */
  helpfulRate: number;
}

const PLANS: CallPlan[] = [
  {
    name: "support/triage",
    label: "production",
    calls: 180,
    latencyMs: 40,
    firstTokenMs: 25,
    failureRate: 0.04,
    helpfulRate: 0.72,
  },
  {
    name: "support/triage",
    label: "staging",
    calls: 60,
    latencyMs: 20,
    firstTokenMs: 12,
    failureRate: 0.02,
    helpfulRate: 0.81,
  },
  {
    name: "support/reply",
    label: "production",
    calls: 90,
    latencyMs: 60,
    firstTokenMs: 30,
    failureRate: 0.01,
    helpfulRate: 0.66,
  },
];
const HISTORY_MS = 72 * 3600 * 1000;
const CONCURRENCY = 8;

export async function seedTelemetry(options: TelemetrySeedOptions): Promise<number> {
  if (await hasRecentCalls(options, "support/triage")) return 0;
  const stub = await startModelStub({ reply: "Category: billing. Urgency: normal." });
  // Deterministic pseudo-randomness, so every fresh dev state looks the same.
  let state = 42;
  const random = () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state / 2 ** 32;
  };
  const now = Date.now();
  const telemetry = new Telemetry({
    baseUrl: options.edgeUrl,
    apiKey: options.readKey,
    flushIntervalMs: 0,
    maxBuffered: 5000,
    // Each call's event may gain two scores on the way out: keep a batch within 100 events.
    batchSize: 33,
    fetch: (input, init) => globalThis.fetch(input, { ...init, body: backdated(init?.body) }),
  });
  function backdated(body: unknown): string | undefined {
    if (typeof body !== "string") return undefined;
    const batch = JSON.parse(body) as { events: Record<string, unknown>[] };
    const events = batch.events.flatMap((event) => {
      const at = new Date(now - random() * HISTORY_MS).toISOString();
      const moved = { ...event, timestamp: at };
      if (event.type !== "generation" || event.error || random() < 0.3) return [moved];
      const plan = PLANS.find((p) => (event.prompt as { name?: string })?.name === p.name);
      const helpful = random() < (plan?.helpfulRate ?? 0.7);
      const score = (name: string, value: number | boolean) => ({
        type: "score",
        id: `${event.id}:${name}`,
        timestamp: at,
        generationId: event.id,
        name,
        value,
      });
      return [
        moved,
        score("helpful", helpful),
        score(
          "accuracy",
          Math.round((helpful ? 0.7 + random() * 0.3 : random() * 0.6) * 100) / 100,
        ),
      ];
    });
    return JSON.stringify({ events });
  }

  try {
    const cuecard = new CuecardClient({ edgeUrl: options.edgeUrl, apiKey: options.readKey });
    const openai = observeOpenAI(new OpenAI({ baseURL: stub.url, apiKey: "stub", maxRetries: 0 }), {
      telemetry,
    });
    const calls = PLANS.flatMap((plan) => Array.from({ length: plan.calls }, () => plan));
    let next = 0;
    const worker = async () => {
      while (next < calls.length) {
        const plan = calls[next++] as CallPlan;
        const prompt = await cuecard.getPrompt(plan.name, { label: plan.label });
        const headers: Record<string, string> = {
          "x-stub-latency-ms": String(Math.round(plan.latencyMs * (0.5 + random()))),
          "x-stub-first-token-ms": String(Math.round(plan.firstTokenMs * (0.5 + random()))),
        };
        if (random() < plan.failureRate) headers["x-stub-status"] = "500";
        const model = String(prompt.config.model ?? "gpt-4o-mini");
        const messages = [
          { role: "user" as const, content: `Ticket ${next}: my invoice is wrong` },
        ];
        try {
          if (random() < 0.5) {
            const stream = await openai.chat.completions.create(
              { model, messages, stream: true },
              { ...linkPrompt(prompt), headers },
            );
            for await (const _chunk of stream) {
              // Read to the end, as an app showing the answer would.
            }
          } else {
            await openai.chat.completions.create(
              { model, messages },
              { ...linkPrompt(prompt), headers },
            );
          }
        } catch {
          // The staged failures: recorded by the observed client as errors.
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await telemetry.shutdown();
    return calls.length;
  } finally {
    await stub.close();
  }
}

async function hasRecentCalls(options: TelemetrySeedOptions, name: string): Promise<boolean> {
  const response = await fetch(
    `${options.adminUrl}/api/v1/projects/${options.project}/prompts/${encodeURIComponent(name)}/metrics?granularity=day`,
    { headers: { authorization: `Bearer ${options.adminKey}` } },
  );
  if (!response.ok) return false;
  const metrics = (await response.json()) as { series: { total: { calls: number } }[] };
  return metrics.series.some((series) => series.total.calls > 0);
}

/**
 * Demo exposures: the users of a demo app ask the edge for a prompt with their user id as
 * `?unit=`, as an app running the demo experiment does, so its page shows exposure counts at
 * once (the edge reports them to telemetry within about a second). The same users each run:
 * exposure counts are distinct units, so restarting `npm run dev` does not inflate them.
 * Answers how many units the edge served each arm.
 */
export async function seedDemoExposures(options: {
  edgeUrl: string;
  readKey: string;
  prompt: string;
  users?: number;
}): Promise<Record<string, number>> {
  const served: Record<string, number> = {};
  const users = Array.from(
    { length: options.users ?? 120 },
    (_, index) => `demo-user-${index + 1}`,
  );
  let next = 0;
  const worker = async () => {
    while (next < users.length) {
      const unit = users[next++] as string;
      const response = await fetch(
        `${options.edgeUrl}/v1/prompts/${encodeURIComponent(options.prompt)}?unit=${encodeURIComponent(unit)}`,
        { headers: { authorization: `Bearer ${options.readKey}` } },
      );
      if (!response.ok) {
        throw new Error(`seed: the edge answered ${response.status} for ${options.prompt}`);
      }
      const body = (await response.json()) as { experiment: { variant: string } | null };
      if (body.experiment) {
        served[body.experiment.variant] = (served[body.experiment.variant] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return served;
}
