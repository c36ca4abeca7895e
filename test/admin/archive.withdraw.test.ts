import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { findPrompt, updatePrompt } from "../../workers/modules/prompts/prompts";
import { republishProject } from "../../workers/modules/prompts/publish";
import { openDatabase } from "../../workers/platform/db/client";
import { retryPendingOutbox } from "../../workers/platform/outbox";
import { addVersion, api, createTextPrompt, enc } from "./api";
import { failingKv, testContext } from "./faults";

/**
 * An archived prompt (e.g. one that leaked a secret) is served by the edge in no form: its label
 * pointers and its pinned version keys all hold a withdrawn record. Restoring brings them back.
 */

const db = openDatabase(env.DB);
/** Reads as the project's admin, as the verbs require. */
const asAdmin = testContext();

const kvRecord = (key: string) => env.PROMPTS_KV.get<Record<string, unknown>>(key, "json");

async function expectWithdrawn(name: string, keys: string[]) {
  for (const key of keys) {
    const record = await kvRecord(key);
    expect(record, key).toMatchObject({ withdrawn: "archived", name });
    expect(JSON.stringify(record)).not.toContain("secret");
  }
}

function keysOf(name: string) {
  return [
    `p/default/${name}@production`,
    `p/default/${name}@latest`,
    `v/default/${name}#1`,
    `v/default/${name}#2`,
  ];
}

describe("archiving withdraws the prompt from the edge", () => {
  it("withdraws labels and pinned versions; restore publishes all of them again", async () => {
    const name = await createTextPrompt("secret one", ["production"]);
    await addVersion(name, "secret two");
    const path = `/projects/default/prompts/${enc(name)}`;
    expect((await api("PATCH", path, { archived: true })).status).toBe(200);
    await expectWithdrawn(name, keysOf(name));

    expect((await api("PATCH", path, { archived: false })).status).toBe(200);
    expect(await kvRecord(`v/default/${name}#1`)).toMatchObject({
      version: 1,
      prompt: "secret one",
    });
    expect(await kvRecord(`v/default/${name}#2`)).toMatchObject({
      version: 2,
      prompt: "secret two",
    });
    expect(await kvRecord(`p/default/${name}@production`)).toMatchObject({
      targets: [{ version: 1, weight: 1 }],
    });
    expect(await kvRecord(`p/default/${name}@latest`)).toMatchObject({
      targets: [{ version: 2, weight: 1 }],
    });
  });

  it("an archive whose publish failed is withdrawn by the cron; republish keeps it withdrawn", async () => {
    const name = await createTextPrompt("secret one", ["production"]);
    await addVersion(name, "secret two");
    const prompt = await findPrompt(asAdmin, "default", name);
    await updatePrompt(testContext({ kv: failingKv() }), prompt, { archived: true });
    // KV was down: the edge still has the prompt until the retry runs.
    expect(await kvRecord(`v/default/${name}#1`)).toMatchObject({ version: 1 });
    await retryPendingOutbox(testContext());
    await expectWithdrawn(name, keysOf(name));

    // Even a republish from scratch (say, after KV was rebuilt) leaves it withdrawn.
    for (const key of keysOf(name)) await env.PROMPTS_KV.delete(key);
    let after: string | undefined;
    for (;;) {
      const report = await republishProject({ db, kv: env.PROMPTS_KV }, "default", { after });
      if (report.complete) break;
      after = report.nextCursor ?? undefined;
    }
    await expectWithdrawn(name, [`v/default/${name}#1`, `v/default/${name}#2`]);
    await expectWithdrawn(name, [`p/default/${name}@production`, `p/default/${name}@latest`]);
  });
});
