#!/usr/bin/env node
/**
 * A minimal Cuecard webhook receiver for CI: verifies every request with the `standardwebhooks`
 * library, answers 204 at once, then runs a command with the event in its environment.
 *
 *   CUECARD_WEBHOOK_SECRET=whsec_… CUECARD_COMMAND="npm run eval" node receiver.mjs
 *
 * Environment of the command: CUECARD_EVENT_TYPE, CUECARD_PROMPT, CUECARD_LABEL, CUECARD_VERSION
 * (the new version), CUECARD_WEBHOOK_ID, and CUECARD_PAYLOAD (the whole JSON).
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";

const secret = process.env.CUECARD_WEBHOOK_SECRET;
const command =
  process.env.CUECARD_COMMAND ?? "echo received $CUECARD_EVENT_TYPE for $CUECARD_PROMPT";
const port = Number(process.env.PORT ?? 8790);
const types = new Set(
  (process.env.CUECARD_EVENT_TYPES ?? "prompt.label.moved,webhook.test").split(","),
);
if (!secret) {
  console.error("Set CUECARD_WEBHOOK_SECRET to the webhook's whsec_… secret.");
  process.exit(1);
}
const webhook = new Webhook(secret);
// Deliveries are at-least-once: a retry or a redelivery repeats the webhook-id.
const seen = new Set();

createServer((request, response) => {
  if (request.method !== "POST") {
    response.writeHead(405).end();
    return;
  }
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    let event;
    try {
      // Checks the signature (any of the listed ones, e.g. during a secret rotation) and that
      // webhook-timestamp is within 5 minutes, which stops replays of old requests.
      event = webhook.verify(body, request.headers);
    } catch {
      response.writeHead(401).end("invalid signature");
      return;
    }
    const id = request.headers["webhook-id"];
    response.writeHead(204).end();
    if (seen.has(id) || !types.has(event.type)) return;
    seen.add(id);
    const data = event.data ?? {};
    const child = spawn(command, {
      shell: true,
      stdio: "inherit",
      env: {
        ...process.env,
        CUECARD_EVENT_TYPE: event.type,
        CUECARD_PROMPT: data.prompt?.name ?? "",
        CUECARD_LABEL: data.label ?? "",
        CUECARD_VERSION: String(data.toVersion ?? data.version ?? ""),
        CUECARD_WEBHOOK_ID: String(id),
        CUECARD_PAYLOAD: body,
      },
    });
    child.on("exit", (code) =>
      console.log(`[cuecard] ${event.type} ${id}: command exited ${code}`),
    );
  });
}).listen(port, () => console.log(`[cuecard] receiver listening on :${port}`));
