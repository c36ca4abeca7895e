import { and, eq, inArray, isNull, lte, or, sql } from "drizzle-orm";
import type { Database } from "../../platform/db/client";
import {
  auditLog,
  type WebhookDeliveryRow,
  type WebhookEndpointRow,
  webhookAttempts,
  webhookDeliveries,
  webhookEndpoints,
} from "../../platform/db/schema";
import type { DeliveryMessage } from "./fan-out";
import { signedHeaders } from "./signer";
import { checkWebhookUrl } from "./url-guard";

/**
 * The consumer of the deliveries queue: one HTTP POST per message. Success is a 2xx and nothing
 * else; a 3xx is a failure and is not followed; 410 Gone disables the endpoint; anything else is
 * retried through `msg.retry({delaySeconds})` on RETRY_SCHEDULE_SECONDS, or after the receiver's
 * Retry-After. The attempt after WEBHOOK_MAX_RETRIES retries is the last: if it fails too, the
 * delivery is marked failed and the message acked. Messages that still reach the dead-letter
 * queue (our own errors on every try) are marked failed by markDeadLettered.
 *
 * A delivery may get more than one message (a redeliver, the cron re-sending one it thinks lost,
 * a re-sent event): each attempt first claims the delivery in one statement, so two messages
 * never attempt at once, a finished delivery is never attempted again, and a message of an
 * earlier round (before a redeliver) is dropped. Backoff and giving up count the delivery's own
 * attempts in its round, so a re-sent message continues the schedule instead of restarting it.
 */

/** Must equal `max_retries` of the cuecard-webhooks consumer in wrangler.toml. */
export const WEBHOOK_MAX_RETRIES = 5;
/**
 * Wait after the n-th failed attempt (Standard Webhooks' suggested schedule): 5 s, 5 min,
 * 30 min, 2 h, 5 h — six attempts over about 7.6 hours.
 */
export const RETRY_SCHEDULE_SECONDS = [5, 300, 1800, 7200, 18000] as const;
/** The longest delay Cloudflare Queues accepts (12 h); a longer Retry-After is capped to it. */
export const MAX_RETRY_DELAY_SECONDS = 43_200;
export const REQUEST_TIMEOUT_MS = 10_000;
/** How much longer than the request timeout a claim holds: time for the D1 writes around it. */
const LEASE_MARGIN_MS = 20_000;
const EXCERPT_BYTES = 1024;
const EXCERPT_CHARS = 200;
const GAVE_UP = "Gave up after every retry; redeliver to try again.";

export interface DeliveryDeps {
  db: Database;
  /** Outbound HTTP; a parameter so tests can stand in for receivers. */
  fetch: typeof fetch;
  allowLoopback: boolean;
  timeoutMs?: number;
  now?: () => Date;
}

export type AttemptOutcome =
  | { result: "succeeded" | "failed" | "skipped" }
  | { result: "retry"; delaySeconds: number };

/** How long a webhook delivery waits after its n-th failed attempt: RETRY_SCHEDULE_SECONDS. */
export function webhookRetryDelaySeconds(messageAttempts: number): number {
  const index = Math.min(Math.max(messageAttempts, 1), RETRY_SCHEDULE_SECONDS.length) - 1;
  return RETRY_SCHEDULE_SECONDS[index] ?? RETRY_SCHEDULE_SECONDS[0];
}

/** Retry-After as delta-seconds or an HTTP date, clamped to what Queues can delay. */
export function retryAfterSeconds(header: string | null, now: Date): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  let seconds: number;
  if (/^\d+$/.test(trimmed)) seconds = Number(trimmed);
  else {
    const date = Date.parse(trimmed);
    if (Number.isNaN(date)) return undefined;
    seconds = Math.ceil((date - now.getTime()) / 1000);
  }
  return Math.min(MAX_RETRY_DELAY_SECONDS, Math.max(1, seconds));
}

/**
 * A short excerpt of a receiver's response that is safe to show: at most 1 KiB is read, markup
 * and control characters are removed, and anything that looks like a credential is redacted.
 */
export async function responseExcerpt(response: Response): Promise<string | null> {
  if (!response.body) return null;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < EXCERPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  const text = new TextDecoder()
    .decode(bytes.slice(0, EXCERPT_BYTES))
    .replace(/<[^>]*>/g, " ")
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point.
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e]/g, " ")
    .replace(/\b(whsec_|sk-|ghp_|gho_|github_pat_|cc_)[\w+/=-]+/gi, "$1[redacted]")
    .replace(
      /\b(bearer|token|secret|password|authorization)(["':=\s]+)[^\s"',;]+/gi,
      "$1$2[redacted]",
    )
    .replace(/\s+/g, " ")
    .trim();
  if (!text) return null;
  return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text;
}

/** The secrets that sign now: the current one, and the previous one during a rotation's overlap. */
function signingSecrets(endpoint: WebhookEndpointRow, now: Date): string[] {
  const previousOpen =
    endpoint.previousSecret &&
    endpoint.previousSecretExpiresAt &&
    new Date(endpoint.previousSecretExpiresAt) > now;
  return previousOpen && endpoint.previousSecret
    ? [endpoint.secret, endpoint.previousSecret]
    : [endpoint.secret];
}

/**
 * A header the platform would refuse, as the attempt's error: fetch would throw before
 * connecting, and that must not read as a network failure. Names the header, never its value.
 */
function invalidHeaderError(headers: Record<string, string>): string | null {
  for (const [name, value] of Object.entries(headers)) {
    try {
      new Headers([[name, value]]);
    } catch {
      const fix =
        name === "authorization" ? " Replace the webhook's authToken." : " Edit the webhook.";
      return `Not sent: the ${name} header is not a valid HTTP header value (line break, control or non-Latin-1 character).${fix}`;
    }
  }
  return null;
}

/** A thrown error's own words, short and on one line, for the delivery log. */
function causeText(cause: unknown): string {
  const text = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are the target.
  return text.replace(/[\u0000-\u001f\u007f]+/g, " ").slice(0, 200);
}

/** The HTTP request of one attempt; a fresh timestamp (and so signature) every time. */
export async function buildRequest(
  endpoint: WebhookEndpointRow,
  delivery: WebhookDeliveryRow,
  now: Date,
): Promise<{ headers: Record<string, string>; body: string }> {
  const body =
    endpoint.kind === "github_dispatch"
      ? JSON.stringify({
          // GitHub's repository_dispatch: the workflow filters on event_type.
          event_type: `cuecard.${delivery.eventType}`,
          client_payload: { webhookId: delivery.id, ...(delivery.payload as object) },
        })
      : JSON.stringify(delivery.payload);
  const timestamp = Math.floor(now.getTime() / 1000);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "Cuecard-Webhooks/1.0",
    ...(await signedHeaders(signingSecrets(endpoint, now), delivery.id, timestamp, body)),
  };
  if (endpoint.kind === "github_dispatch" && endpoint.authToken) {
    headers.authorization = `Bearer ${endpoint.authToken}`;
    headers.accept = "application/vnd.github+json";
    headers["x-github-api-version"] = "2022-11-28";
  }
  return { headers, body };
}

/** What one attempt saw: the receiver's answer, or why there was none. */
interface Exchange {
  statusCode: number | null;
  latencyMs: number | null;
  responseExcerpt: string | null;
  retryAfter: string | null;
  /** Why nothing was sent or no answer came (null when the receiver answered). */
  error: string | null;
  /** Nothing was sent and trying again cannot change that (the URL is refused). */
  refused?: boolean;
}

/** What an attempt means for its delivery: the queue's next step and the error it logs. */
interface Verdict {
  outcome: { result: "succeeded" | "failed" } | { result: "retry"; delaySeconds: number };
  error: string | null;
  /** Set when the attempt disables the endpoint (410 Gone): why, for its page and the audit log. */
  disableReason?: string;
}

/**
 * Success is a 2xx and nothing else; 410 disables the endpoint; anything else is retried on the
 * schedule (or after the receiver's Retry-After) until the last attempt, which gives up.
 */
function classify(exchange: Exchange, attemptNumber: number, now: Date): Verdict {
  const { statusCode } = exchange;
  if (exchange.refused) return { outcome: { result: "failed" }, error: exchange.error };
  if (statusCode !== null && statusCode >= 200 && statusCode < 300) {
    return { outcome: { result: "succeeded" }, error: null };
  }
  if (statusCode === 410) {
    return {
      outcome: { result: "failed" },
      error: "410 Gone: the webhook was disabled.",
      disableReason: `The receiver answered 410 Gone at ${now.toISOString()}.`,
    };
  }
  const error =
    statusCode === null
      ? exchange.error
      : statusCode >= 300 && statusCode < 400
        ? `Redirect (${statusCode}) not followed: point the webhook at the final URL.`
        : `The receiver answered ${statusCode}.`;
  // The queue would dead-letter the message after this one: finish here rather than leave the
  // delivery `retrying` until (or, if the DLQ consumer is down, beyond) the dead-letter consumer.
  if (attemptNumber > WEBHOOK_MAX_RETRIES) {
    return { outcome: { result: "failed" }, error: `${error ?? "The attempt failed."} ${GAVE_UP}` };
  }
  const delaySeconds =
    retryAfterSeconds(exchange.retryAfter, now) ?? webhookRetryDelaySeconds(attemptNumber);
  return { outcome: { result: "retry", delaySeconds }, error };
}

/** The attempt's log row and the delivery's new state, and the endpoint's disabling, at once. */
async function recordAttempt(
  db: Database,
  delivery: WebhookDeliveryRow,
  endpoint: WebhookEndpointRow,
  exchange: Exchange,
  verdict: Verdict,
  now: Date,
) {
  const at = now.toISOString();
  const { outcome } = verdict;
  const statements = [
    db.insert(webhookAttempts).values({
      deliveryId: delivery.id,
      attempt: delivery.attempts + 1,
      statusCode: exchange.statusCode,
      latencyMs: exchange.latencyMs,
      responseExcerpt: exchange.responseExcerpt,
      error: verdict.error,
      createdAt: at,
    }),
    db
      .update(webhookDeliveries)
      .set({
        status: outcome.result === "retry" ? "retrying" : outcome.result,
        attempts: sql`${webhookDeliveries.attempts} + 1`,
        lastStatusCode: exchange.statusCode,
        lastLatencyMs: exchange.latencyMs,
        lastResponseExcerpt: exchange.responseExcerpt,
        lastError: verdict.error,
        nextRetryAt:
          outcome.result === "retry"
            ? new Date(now.getTime() + outcome.delaySeconds * 1000).toISOString()
            : null,
        leaseUntil: null,
        roundAttempts: sql`${webhookDeliveries.roundAttempts} + 1`,
        updatedAt: at,
      })
      .where(eq(webhookDeliveries.id, delivery.id)),
  ] as const;
  const reason = verdict.disableReason;
  if (reason === undefined) {
    await db.batch(statements);
    return;
  }
  await db.batch([
    ...statements,
    db
      .update(webhookEndpoints)
      .set({ active: false, disabledReason: reason, updatedAt: at })
      .where(eq(webhookEndpoints.id, endpoint.id)),
    db.insert(auditLog).values({
      projectId: endpoint.projectId,
      actor: "system:webhooks",
      actorRole: "system",
      action: "webhook.disable",
      targetType: "webhook",
      target: endpoint.id,
      before: { active: true },
      after: { active: false, disabledReason: reason },
      requestId: `delivery:${delivery.id}`,
      createdAt: at,
    }),
  ]);
}

async function markFailed(db: Database, deliveryId: string, error: string, now: Date) {
  await db
    .update(webhookDeliveries)
    .set({
      status: "failed",
      lastError: error,
      nextRetryAt: null,
      leaseUntil: null,
      updatedAt: now.toISOString(),
    })
    .where(eq(webhookDeliveries.id, deliveryId));
}

/**
 * Takes the delivery for one attempt, or returns nothing when this message must not attempt it:
 * gone (endpoint deleted), finished, of an earlier round, or being attempted right now.
 */
async function claimDelivery(
  db: Database,
  deliveryId: string,
  round: number | undefined,
  now: Date,
  leaseUntil: Date,
): Promise<WebhookDeliveryRow | undefined> {
  const [claimed] = await db
    .update(webhookDeliveries)
    .set({ leaseUntil: leaseUntil.toISOString() })
    .where(
      and(
        eq(webhookDeliveries.id, deliveryId),
        inArray(webhookDeliveries.status, ["pending", "retrying"]),
        or(
          isNull(webhookDeliveries.leaseUntil),
          lte(webhookDeliveries.leaseUntil, now.toISOString()),
        ),
        round === undefined ? undefined : eq(webhookDeliveries.round, round),
      ),
    )
    .returning();
  return claimed;
}

/**
 * One attempt of one delivery. `messageAttempts` is the queue message's attempt number (1 for
 * the first); the attempt's number in the delivery's round counts too, so a message sent again
 * by the cron continues the backoff. The delivery's own counter numbers the attempt log.
 * `round` is the round the message was sent for (absent: any).
 */
export async function attemptDelivery(
  deliveryId: string,
  messageAttempts: number,
  deps: DeliveryDeps,
  round?: number,
): Promise<AttemptOutcome> {
  const { db } = deps;
  const now = deps.now?.() ?? new Date();
  const timeoutMs = deps.timeoutMs ?? REQUEST_TIMEOUT_MS;
  const leaseUntil = new Date(now.getTime() + timeoutMs + LEASE_MARGIN_MS);
  const delivery = await claimDelivery(db, deliveryId, round, now, leaseUntil);
  if (!delivery) return { result: "skipped" };
  try {
    return await attemptClaimed(delivery, Math.max(messageAttempts, delivery.roundAttempts + 1), {
      ...deps,
      timeoutMs,
      now: () => now,
    });
  } catch (error) {
    // Our own failure mid-attempt: free the delivery for the retry rather than wait out the lease.
    await db
      .update(webhookDeliveries)
      .set({ leaseUntil: null })
      .where(
        and(
          eq(webhookDeliveries.id, deliveryId),
          eq(webhookDeliveries.leaseUntil, leaseUntil.toISOString()),
        ),
      )
      .catch(() => {});
    throw error;
  }
}

async function attemptClaimed(
  delivery: WebhookDeliveryRow,
  attemptNumber: number,
  deps: DeliveryDeps & { timeoutMs: number; now: () => Date },
): Promise<AttemptOutcome> {
  const { db } = deps;
  const now = deps.now();
  const deliveryId = delivery.id;
  const endpoint = await db.query.webhookEndpoints.findFirst({
    where: eq(webhookEndpoints.id, delivery.endpointId),
  });
  if (!endpoint?.active) {
    await markFailed(db, deliveryId, "The webhook was disabled before this attempt.", now);
    return { result: "failed" };
  }
  // Checked again when sending: the URL may have been saved under an older, looser rule.
  const urlCheck = checkWebhookUrl(endpoint.url, { allowLoopback: deps.allowLoopback });
  const exchange: Exchange = urlCheck.ok
    ? await send(endpoint, delivery, urlCheck.url, deps.fetch, deps.timeoutMs, now)
    : {
        statusCode: null,
        latencyMs: null,
        responseExcerpt: null,
        retryAfter: null,
        error: `Not sent: the URL ${urlCheck.reason}.`,
        refused: true,
      };
  const verdict = classify(exchange, attemptNumber, now);
  await recordAttempt(db, delivery, endpoint, exchange, verdict, now);
  return verdict.outcome;
}

/** Posts the signed request and reads what came back; a refused header is never sent. */
async function send(
  endpoint: WebhookEndpointRow,
  delivery: WebhookDeliveryRow,
  url: URL,
  fetcher: typeof fetch,
  timeoutMs: number,
  now: Date,
): Promise<Exchange> {
  const request = await buildRequest(endpoint, delivery, now);
  const started = Date.now();
  let response: Response | undefined;
  let error: string | null = invalidHeaderError(request.headers);
  if (error === null) {
    try {
      response = await fetcher(url.toString(), {
        method: "POST",
        headers: request.headers,
        body: request.body,
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      const name = cause instanceof Error ? cause.name : "";
      error =
        name === "TimeoutError" || name === "AbortError"
          ? `No response within ${timeoutMs / 1000} s.`
          : `The connection failed (DNS, TLS or refused): ${causeText(cause)}.`;
    }
  }
  const latencyMs = Date.now() - started;
  return {
    statusCode: response?.status ?? null,
    latencyMs,
    responseExcerpt: response ? await responseExcerpt(response).catch(() => null) : null,
    retryAfter: response?.headers.get("retry-after") ?? null,
    error,
  };
}

/**
 * Consumer of the deliveries queue. Messages are attempted concurrently and acked or retried one
 * by one, so one failing receiver never redelivers the rest of the batch.
 */
export async function consumeWebhookDeliveries(
  batch: MessageBatch<DeliveryMessage>,
  deps: DeliveryDeps,
): Promise<void> {
  await Promise.all(
    batch.messages.map(async (message) => {
      try {
        const outcome = await attemptDelivery(
          message.body.deliveryId,
          message.attempts,
          deps,
          message.body.round,
        );
        if (outcome.result === "retry") message.retry({ delaySeconds: outcome.delaySeconds });
        else message.ack();
      } catch (error) {
        // Our own failure (e.g. D1): the receiver was not necessarily called; try again later.
        console.error("webhook delivery failed", message.body.deliveryId, String(error));
        message.retry({ delaySeconds: webhookRetryDelaySeconds(message.attempts) });
      }
    }),
  );
}

/**
 * Consumer of the deliveries dead-letter queue: the delivery has used every retry. Usually the
 * last attempt has already marked it failed; then this changes nothing (it is a backstop).
 */
export async function markDeadLettered(
  batch: MessageBatch<DeliveryMessage>,
  db: Database,
  now = new Date(),
): Promise<void> {
  for (const message of batch.messages) {
    await db
      .update(webhookDeliveries)
      .set({
        status: "failed",
        nextRetryAt: null,
        leaseUntil: null,
        lastError: sql`coalesce(${webhookDeliveries.lastError} || ' ', '') || ${GAVE_UP}`,
        updatedAt: now.toISOString(),
      })
      .where(
        sql`${webhookDeliveries.id} = ${message.body.deliveryId} AND ${webhookDeliveries.status} IN ('pending', 'retrying')`,
      );
    message.ack();
  }
}
