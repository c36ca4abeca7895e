/**
 * `npm run dev`: the admin and edge workers on their own ports and the telemetry worker behind
 * them, over one local state in `.wrangler/state`, seeded with demo prompts, keys and demo
 * telemetry (scripts/seed-telemetry.ts), and the local model stub as the demo project's model
 * provider, so the playground runs with no key and no network. Stops cleanly on Ctrl-C.
 */
import { join } from "node:path";
import { type ModelStub, startModelStub } from "./model-stub";
import { type Platform, repositoryRoot, startPlatform } from "./platform";
import {
  type DemoExperiment,
  type DevRole,
  type SeedResult,
  seedDemoExperiment,
  seedPlatform,
} from "./seed";
import { seedDemoExposures, seedTelemetry } from "./seed-telemetry";

process.env.WRANGLER_SEND_METRICS = "false";

const adminPort = portFromEnv("CUECARD_ADMIN_PORT", 8787);
const edgePort = portFromEnv("CUECARD_EDGE_PORT", 8788);
const modelStubPort = portFromEnv("CUECARD_MODEL_STUB_PORT", 8791);
// The isolate cache is off in dev so a label move shows on the very next edge read; set
// CUECARD_ISOLATE_CACHE_TTL_MS=5000 to try the production default.
const isolateCacheTtlMs = Number(process.env.CUECARD_ISOLATE_CACHE_TTL_MS ?? 0);
const persistDir = join(repositoryRoot, ".wrangler", "state");

console.log("Cuecard: building the workers and applying D1 migrations…");
let platform: Platform | undefined;
let modelStub: ModelStub | undefined;
let stopping = false;

async function stop(exitCode: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await platform?.dispose().catch((error: unknown) => console.error(error));
    await modelStub?.close().catch((error: unknown) => console.error(error));
  }
  process.exit(exitCode);
}

process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));

try {
  platform = await startPlatform({
    persistDir,
    adminPort,
    edgePort,
    isolateCacheTtlMs,
    // Local development: webhooks and the model provider may be on this machine (never in
    // production).
    adminVars: { WEBHOOK_ALLOW_LOOPBACK: "true", MODEL_PROVIDER_ALLOW_LOOPBACK: "true" },
  });
  // Words streamed a little apart, so the playground shows an answer arriving.
  modelStub = await startModelStub({ port: modelStubPort, chunkDelayMs: 60 });
  const seeded = await seedPlatform(platform);
  const demoCalls = await seedTelemetry({
    adminUrl: platform.adminUrl,
    edgeUrl: platform.edgeUrl,
    project: seeded.readKey.project,
    adminKey: seeded.adminKey.secret,
    readKey: seeded.readKey.secret,
  });
  const provider = await seedModelProvider(
    platform.adminUrl,
    seeded.readKey.project,
    seeded.adminKey.secret,
    modelStub.url,
  );
  const experiment = await seedDemoExperiment({
    adminUrl: platform.adminUrl,
    adminKey: seeded.adminKey.secret,
  });
  const exposures =
    experiment?.state === "running"
      ? await seedDemoExposures({
          edgeUrl: platform.edgeUrl,
          readKey: seeded.readKey.secret,
          prompt: experiment.prompt,
        })
      : undefined;
  const readKey = seeded.readKey.secret;
  const newKeyNote = (role: DevRole) =>
    seeded.createdKeys.includes(role) ? "  (new; saved in .wrangler/state/dev-keys.json)" : "";
  const keyLines = seeded.keys
    .map((key) => `  ${`Dev ${key.role} key`.padEnd(18)}${key.secret}${newKeyNote(key.role)}`)
    .join("\n");
  console.log(`
Cuecard is running (state in .wrangler/state; Ctrl-C to stop)

  Admin (UI + API)  ${platform.adminUrl}/        API docs: ${platform.adminUrl}/api/docs
  Edge (read API)   ${platform.edgeUrl}/v1/prompts/{name}  API docs: ${platform.edgeUrl}/docs

  Bootstrap token   ${platform.adminToken}  (only creates a project's first admin key)
${keyLines}
  Demo prompts      ${demoPromptNames(seeded)}  (project ${seeded.readKey.project})
  Demo telemetry    ${demoCalls > 0 ? `${demoCalls} observed calls over the last 3 days (created now)` : "kept from earlier runs"}; charts at
                    ${platform.adminUrl}/prompts/support%2Ftriage/metrics (sign in with the dev admin key)
${demoExperimentLines(platform, readKey, experiment, exposures)}
  Model stub        ${modelStub.url}  (the demo project's model provider${provider === "kept" ? " is set already; kept" : ", set now"}); try
                    ${platform.adminUrl}/prompts/support%2Ftriage/versions/1/playground

Try the edge:

  curl -H "Authorization: Bearer ${readKey}" "${platform.edgeUrl}/v1/prompts/support%2Ftriage?label=production"

${langfuseLines(seeded)}
Send telemetry (an app's observed LLM calls arrive the same way, from @cuecard/sdk/observe):

  curl -H "Authorization: Bearer ${readKey}" -H "content-type: application/json" ${platform.edgeUrl}/v1/events \\
    -d '{"events":[{"type":"generation","id":"my-first-call","timestamp":"'$(date -u +%FT%TZ)'","model":"gpt-4o-mini","latencyMs":420,"prompt":{"name":"support/triage","version":2}}]}'
`);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  await stop(1);
}

/** The Langfuse SDKs' settings for the demo project: change only these in a Langfuse app. */
function langfuseLines(seeded: SeedResult): string {
  const pair = seeded.langfuse;
  if (!pair) return "";
  return `Or use the official Langfuse SDKs (saved in .wrangler/state/dev-keys.json as "langfuse"):

  LANGFUSE_BASE_URL=${pair.baseUrl}
  LANGFUSE_PUBLIC_KEY=${pair.publicKey}
  LANGFUSE_SECRET_KEY=${pair.secretKey}
  curl -u "${pair.publicKey}:${pair.secretKey}" "${pair.baseUrl}/api/public/v2/prompts/support%2Ftriage"
`;
}

function demoExperimentLines(
  urls: { adminUrl: string; edgeUrl: string },
  readKey: string,
  experiment: DemoExperiment | undefined,
  exposures: Record<string, number> | undefined,
): string {
  if (!experiment)
    return "  Demo experiment   none (support/reply or its production label is gone)";
  const served = exposures
    ? `; ${Object.entries(exposures)
        .map(([arm, units]) => `${arm} ${units}`)
        .join(", ")} demo users served`
    : "";
  return `  Demo experiment   ${experiment.key} on ${experiment.prompt} ${experiment.label}, ${experiment.state}${experiment.created ? " (created now)" : ""}${served}
                    ${urls.adminUrl}/prompts/${encodeURIComponent(experiment.prompt)}/experiments/${experiment.id}
                    curl -H "Authorization: Bearer ${readKey}" "${urls.edgeUrl}/v1/prompts/${encodeURIComponent(experiment.prompt)}?unit=user-42"`;
}

function demoPromptNames(seeded: SeedResult): string {
  const all = [...seeded.existingPrompts, ...seeded.createdPrompts].sort().join(", ");
  return seeded.createdPrompts.length > 0
    ? `${all} (created now: ${seeded.createdPrompts.length})`
    : all;
}

/** Points the demo project's playground at the model stub, unless someone chose a provider. */
async function seedModelProvider(
  adminUrl: string,
  project: string,
  adminKey: string,
  stubUrl: string,
): Promise<"set" | "kept"> {
  const url = `${adminUrl}/api/v1/projects/${project}/model-provider`;
  const headers = { authorization: `Bearer ${adminKey}`, "content-type": "application/json" };
  const current = await fetch(url, { headers });
  if (current.status === 200) return "kept";
  const set = await fetch(url, {
    method: "PUT",
    headers,
    // The stub takes any key; this one only fills the field.
    body: JSON.stringify({
      baseUrl: stubUrl,
      defaultModel: "gpt-4o-mini",
      apiKey: "local-model-stub",
    }),
  });
  if (set.status !== 200) throw new Error(`setting the model provider failed: ${await set.text()}`);
  return "set";
}

function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`${name} must be a port number between 1 and 65535, got "${raw}"`);
  }
  return port;
}
