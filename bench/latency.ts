import { Agent, request } from "node:http";

/**
 * Per-request latency with a high-resolution clock: `loops` keep-alive loops (node:http, one
 * socket each), each sending its next request as soon as the previous answer is read, timing
 * every request with `process.hrtime.bigint()`. autocannon reports whole milliseconds, so its
 * p99 ratios come out as 0, NaN or ∞; it stays the throughput figure.
 */
export interface LatencyFigures {
  loops: number;
  samples: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  errors: number;
}

export interface LatencyTarget {
  port: number;
  paths: readonly string[];
  method?: "GET" | "POST";
  body?: string;
  headers?: Record<string, string>;
}

export async function measureLatency(
  target: LatencyTarget,
  options: { loops: number; seconds: number },
): Promise<LatencyFigures> {
  const { samples, errors } = await collectLatency(target, options);
  return summarizeLatency(samples, options.loops, errors);
}

/** Every request's latency in ms, unsorted (pool several runs, then summarize). */
export async function collectLatency(
  target: LatencyTarget,
  options: { loops: number; seconds: number },
): Promise<{ samples: number[]; errors: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.loops });
  const headers: Record<string, string> = { ...target.headers };
  if (target.body !== undefined) {
    headers["content-type"] = "application/json";
    headers["content-length"] = String(Buffer.byteLength(target.body));
  }
  const samples: number[] = [];
  let errors = 0;
  let next = 0;
  const once = (path: string) =>
    new Promise<boolean>((resolve) => {
      const outgoing = request(
        {
          host: "127.0.0.1",
          port: target.port,
          path,
          method: target.method ?? "GET",
          headers,
          agent,
        },
        (response) => {
          response.on("data", () => {});
          response.on("end", () => resolve((response.statusCode ?? 500) < 400));
          response.on("error", () => resolve(false));
        },
      );
      outgoing.on("error", () => resolve(false));
      outgoing.end(target.body);
    });
  const deadline = performance.now() + options.seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const path = target.paths[next++ % target.paths.length] as string;
      const started = process.hrtime.bigint();
      const ok = await once(path);
      const elapsedNs = process.hrtime.bigint() - started;
      if (ok) samples.push(Number(elapsedNs) / 1e6);
      else errors++;
    }
  };
  try {
    await Promise.all(Array.from({ length: options.loops }, loop));
  } finally {
    agent.destroy();
  }
  return { samples, errors };
}

export function summarizeLatency(
  samples: readonly number[],
  loops: number,
  errors: number,
): LatencyFigures {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) =>
    round3(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN);
  return {
    loops,
    samples: sorted.length,
    p50Ms: at(0.5),
    p90Ms: at(0.9),
    p99Ms: at(0.99),
    errors,
  };
}

const round3 = (ms: number) => Math.round(ms * 1000) / 1000;
