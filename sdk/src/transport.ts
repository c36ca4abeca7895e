import { CuecardUnavailableError, readProblem } from "./errors";

/**
 * One HTTP exchange with retries: a timeout per attempt, jittered exponential backoff on network
 * errors, timeouts, 429 and 5xx, and `Retry-After` honoured. Anything else (2xx, 304, 4xx) is
 * returned to the caller to interpret.
 */

export type FetchFunction = (input: string, init?: RequestInit) => Promise<Response>;

export interface RetryPolicy {
  /** Retries after the first attempt (0 = try once). */
  retries: number;
  /** Delay before the first retry; doubles on every further one (full jitter). */
  baseDelayMs: number;
  /** Upper bound of one delay. A `Retry-After` longer than this is not waited for. */
  maxDelayMs: number;
  /** One attempt's budget, enforced with `AbortSignal.timeout`. */
  timeoutMs: number;
}

export interface Transport {
  fetch: FetchFunction;
  sleep: (ms: number) => Promise<void>;
  /** In [0, 1); injectable so tests can pin the jitter. */
  random: () => number;
  /** For `Retry-After` given as an HTTP date. */
  now: () => number;
}

export const defaultTransport = (): Transport => ({
  fetch: (input, init) => globalThis.fetch(input, init),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
  now: Date.now,
});

const RETRYABLE_STATUS = (status: number) => status === 429 || status >= 500;

export async function requestWithRetry(
  transport: Transport,
  policy: RetryPolicy,
  url: string,
  init: RequestInit = {},
): Promise<Response> {
  let lastFailure: CuecardUnavailableError | undefined;
  for (let attempt = 0; attempt <= policy.retries; attempt++) {
    let retryAfterMs: number | undefined;
    try {
      const signal = init.signal
        ? AbortSignal.any([init.signal, AbortSignal.timeout(policy.timeoutMs)])
        : AbortSignal.timeout(policy.timeoutMs);
      const response = await transport.fetch(url, { ...init, signal });
      if (!RETRYABLE_STATUS(response.status)) return response;
      retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), transport.now());
      const problem = await readProblem(response);
      lastFailure = new CuecardUnavailableError(
        `${url} answered ${response.status}${problem.detail ? `: ${problem.detail}` : ""}`,
        response.status,
      );
    } catch (error) {
      // The caller's own abort is a decision, not an outage: give up at once.
      if (init.signal?.aborted) throw error;
      const timedOut = error instanceof DOMException && error.name === "TimeoutError";
      lastFailure = new CuecardUnavailableError(
        timedOut
          ? `${url} did not answer within ${policy.timeoutMs} ms`
          : `${url} could not be reached: ${error instanceof Error ? error.message : String(error)}`,
        undefined,
        { cause: error },
      );
    }
    if (attempt === policy.retries) break;
    if (retryAfterMs !== undefined && retryAfterMs > policy.maxDelayMs) break;
    const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
    const delay = Math.max(retryAfterMs ?? 0, transport.random() * ceiling);
    await transport.sleep(delay);
  }
  throw lastFailure ?? new CuecardUnavailableError(`${url} could not be reached`);
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
