import { connect, type Socket } from "node:net";

/**
 * Throughput of two targets compared in windows of a tenth of a second, taking turns: the goal
 * ratios' load generator.
 *
 * This machine's speed swings by a third from one second to the next and stalls for whole 100 ms
 * windows (other load on shared hardware), so two targets measured one after the other in
 * seconds-long slices differ by more than the effects the goals measure. Here the same closed-loop
 * connections load candidate, then baseline, then baseline, then candidate (ABBA), each for
 * `windowMs`, hundreds of times; each round's ratio compares windows a few hundred ms apart, and
 * the figure is the median of the rounds' ratios, which the rounds a stall catches do not move.
 *
 * Raw sockets with the requests serialized once and responses framed by Content-Length (or a
 * chunked body's last chunk), not an HTTP client: the generator then costs a few µs a request,
 * far less than the worker under test, so it does not cap the faster side.
 */

export interface AlternateTarget {
  port: number;
  /** Cycled through, one per request. */
  paths: readonly string[];
  headers: Readonly<Record<string, string>>;
}

export interface AlternateResult {
  rounds: number;
  windowMs: number;
  /** Requests per second of each side, over all its windows. */
  candidatePerSecond: number;
  baselinePerSecond: number;
  /** The median over rounds of candidate ÷ baseline. */
  ratio: number;
  /** The rounds' ratios' 25th and 75th percentiles: the spread. */
  quartiles: [number, number];
  /** Responses that were not 2xx, or sockets that failed. */
  errors: number;
}

const HEADER_END = Buffer.from("\r\n\r\n");
const CHUNKED_END = Buffer.from("0\r\n\r\n");

/** One keep-alive connection sending a request only after the previous answer is complete. */
class Connection {
  readonly #socket: Socket;
  #pending = Buffer.alloc(0);
  #done: ((ok: boolean) => void) | undefined;
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.#receive(chunk));
    socket.on("error", () => this.#finish(false));
    socket.on("close", () => {
      this.#closed = true;
      this.#finish(false);
    });
  }

  static open(port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port }, () => resolve(new Connection(socket)));
      socket.once("error", reject);
    });
  }

  /** Sends `request` and resolves when its response is read: true for a 2xx. */
  send(request: Buffer): Promise<boolean> {
    if (this.#closed) throw new Error("the server closed a bench connection");
    return new Promise((resolve) => {
      this.#done = resolve;
      this.#socket.write(request);
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #receive(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const headerEnd = this.#pending.indexOf(HEADER_END);
    if (headerEnd === -1) return;
    const head = this.#pending.subarray(0, headerEnd).toString("latin1").toLowerCase();
    const bodyStart = headerEnd + HEADER_END.length;
    const length = /\r\ncontent-length: *(\d+)/.exec(head);
    let end: number;
    if (length) {
      end = bodyStart + Number(length[1]);
      if (this.#pending.length < end) return;
    } else if (head.includes("\r\ntransfer-encoding: chunked")) {
      const last = this.#pending.indexOf(CHUNKED_END, bodyStart);
      if (last === -1) return;
      end = last + CHUNKED_END.length;
    } else {
      // No body framing (a 204 or 304): the head is the whole response.
      end = bodyStart;
    }
    const status = Number(head.slice(9, 12));
    this.#pending = this.#pending.subarray(end);
    this.#finish(status >= 200 && status < 300);
  }

  #finish(ok: boolean): void {
    const done = this.#done;
    this.#done = undefined;
    done?.(ok);
  }
}

/** Everything of a request after its path: the same for every request of a target. */
function requestTail(target: AlternateTarget): string {
  const headers = Object.entries(target.headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
  return ` HTTP/1.1\r\nhost: 127.0.0.1:${target.port}\r\n${headers}connection: keep-alive\r\n\r\n`;
}

interface Side {
  target: AlternateTarget;
  tail: string;
  connections: Connection[];
  next: number;
  requests: number;
  seconds: number;
  errors: number;
}

/** Loads one side for `windowMs`, then waits for the answers in flight; its rate meanwhile. */
async function window(side: Side, windowMs: number): Promise<number> {
  const started = performance.now();
  const deadline = started + windowMs;
  let completed = 0;
  const loop = async (connection: Connection) => {
    while (performance.now() < deadline) {
      const path = side.target.paths[side.next++ % side.target.paths.length] as string;
      if (await connection.send(Buffer.from(`GET ${path}${side.tail}`, "latin1"))) completed++;
      else side.errors++;
    }
  };
  await Promise.all(side.connections.map(loop));
  const seconds = (performance.now() - started) / 1000;
  side.requests += completed;
  side.seconds += seconds;
  return completed / seconds;
}

const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;

export async function alternate(
  candidate: AlternateTarget,
  baseline: AlternateTarget,
  options: { connections: number; windowMs: number; rounds: number },
): Promise<AlternateResult> {
  const open = async (target: AlternateTarget): Promise<Side> => ({
    target,
    tail: requestTail(target),
    connections: await Promise.all(
      Array.from({ length: options.connections }, () => Connection.open(target.port)),
    ),
    next: 0,
    requests: 0,
    seconds: 0,
    errors: 0,
  });
  const c = await open(candidate);
  const b = await open(baseline);
  try {
    // Untimed: sockets, JIT and caches warm on both sides.
    await window(c, 500);
    await window(b, 500);
    [c, b].forEach((side) => {
      side.requests = 0;
      side.seconds = 0;
    });
    const ratios: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const first = round % 2 === 0;
      const x = await window(first ? c : b, options.windowMs);
      const y = await window(first ? b : c, options.windowMs);
      ratios.push(first ? x / y : y / x);
    }
    ratios.sort((p, q) => p - q);
    const round3 = (value: number) => Math.round(value * 1000) / 1000;
    return {
      rounds: options.rounds,
      windowMs: options.windowMs,
      candidatePerSecond: Math.round(c.requests / c.seconds),
      baselinePerSecond: Math.round(b.requests / b.seconds),
      ratio: round3(quantile(ratios, 0.5)),
      quartiles: [round3(quantile(ratios, 0.25)), round3(quantile(ratios, 0.75))],
      errors: c.errors + b.errors,
    };
  } finally {
    for (const connection of [...c.connections, ...b.connections]) connection.close();
  }
}
