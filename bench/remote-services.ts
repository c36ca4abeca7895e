/**
 * The model stub and a stand-in ingest that accepts every batch, served from a process of their
 * own, as a real provider and a real ingest are remote: their CPU is not the app's, so the
 * overhead benchmark must not charge it to the client it measures.
 *
 *   const services = await startRemoteServices();  // { modelUrl, ingestUrl, stats(), close() }
 *
 * The child prints its URLs as one JSON line on stdout and exits when its stdin closes (so it
 * never outlives the benchmark, even when that is killed).
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startModelStub } from "../scripts/model-stub";

export interface RemoteServices {
  /** Base URL for an OpenAI client (ends in /v1). */
  modelUrl: string;
  /** Base URL for `Telemetry` (serves POST /v1/events). */
  ingestUrl: string;
  /** Events the stand-in ingest accepted so far. */
  acceptedEvents(): Promise<number>;
  close(): Promise<void>;
}

export async function startRemoteServices(): Promise<RemoteServices> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`remote services exited (${code})`)));
  });
  const { modelUrl, ingestUrl } = JSON.parse(first) as { modelUrl: string; ingestUrl: string };
  return {
    modelUrl,
    ingestUrl,
    async acceptedEvents() {
      const response = await fetch(`${ingestUrl}/accepted`);
      return ((await response.json()) as { accepted: number }).accepted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.stdin.end();
      }),
  };
}

/** Answers every POST /v1/events as an ingest that accepted all of it. */
async function startAcceptingIngest() {
  let accepted = 0;
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/accepted") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ accepted }));
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const count = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { events: unknown[] })
        .events.length;
      accepted += count;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ accepted: count, rejected: 0, results: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const stub = await startModelStub();
  const ingest = await startAcceptingIngest();
  process.stdout.write(`${JSON.stringify({ modelUrl: stub.url, ingestUrl: ingest.url })}\n`);
  process.stdin.resume();
  process.stdin.on("end", async () => {
    ingest.close();
    await stub.close();
    process.exit(0);
  });
}
