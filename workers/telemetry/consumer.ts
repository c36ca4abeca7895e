import { latencyBucket, type TelemetryEvent } from "@cuecard/core/telemetry";
import type { TelemetryMessage } from "./ingest";

/**
 * The queue consumer: rollups counted exactly once under at-least-once delivery.
 *
 * One consumer batch is one D1 batch (a transaction). It inserts every event into
 * ingested_events with a claim token of its own; the primary key (project, event id) makes a
 * redelivered or resent event a no-op there, so it does not carry this claim. The rollups are
 * then upserted from the rows carrying the claim only. Either all of it commits or nothing does
 * (and the queue delivers the batch again).
 */

/** One event as a row of ingested_events (the JSON the insert reads with json_each). */
interface IngestedRow {
  id: string;
  type: TelemetryEvent["type"];
  occurredAt: string;
  hour: string;
  promptName: string;
  promptVersion: number;
  label: string;
  experimentId: string;
  variant: string;
  unit: string;
  isError: 0 | 1;
  latencyMs: number | null;
  latencyBucket: number | null;
  ttftMs: number | null;
  ttftBucket: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: number | null;
  name: string | null;
  value: number | null;
  category: string | null;
  generationId: string | null;
  resolved: 0 | 1;
}

/** Start of the UTC hour of an ISO time, as ISO. */
export function hourOf(iso: string): string {
  return `${iso.slice(0, 13)}:00:00.000Z`;
}

function rowOf(event: TelemetryEvent): IngestedRow {
  const row: IngestedRow = {
    id: event.id,
    type: event.type,
    occurredAt: event.timestamp,
    hour: hourOf(event.timestamp),
    promptName: "",
    promptVersion: 0,
    label: "",
    experimentId: "",
    variant: "",
    unit: "",
    isError: 0,
    latencyMs: null,
    latencyBucket: null,
    ttftMs: null,
    ttftBucket: null,
    inputTokens: null,
    outputTokens: null,
    costUsd: null,
    name: null,
    value: null,
    category: null,
    generationId: null,
    resolved: 1,
  };
  switch (event.type) {
    case "generation":
      return {
        ...row,
        promptName: event.prompt?.name ?? "",
        promptVersion: event.prompt?.version ?? 0,
        label: event.prompt?.label ?? "",
        experimentId: event.experiment?.id ?? "",
        variant: event.experiment?.variant ?? "",
        unit: event.unit ?? "",
        isError: event.error ? 1 : 0,
        latencyMs: event.latencyMs,
        latencyBucket: latencyBucket(event.latencyMs),
        ttftMs: event.timeToFirstTokenMs ?? null,
        ttftBucket:
          event.timeToFirstTokenMs == null ? null : latencyBucket(event.timeToFirstTokenMs),
        inputTokens: event.inputTokens ?? null,
        outputTokens: event.outputTokens ?? null,
        costUsd: event.costUsd ?? null,
      };
    case "exposure":
      return {
        ...row,
        promptName: event.prompt.name,
        promptVersion: event.prompt.version,
        label: event.prompt.label ?? "",
        experimentId: event.experiment.id,
        variant: event.experiment.variant,
        unit: event.unit,
      };
    case "score":
      return {
        ...row,
        name: event.name,
        value: typeof event.value === "string" ? null : Number(event.value),
        category: typeof event.value === "string" ? event.value : null,
        generationId: event.generationId,
        // Its keys come from its generation: parked until that is known (resolved below).
        resolved: 0,
      };
    case "conversion":
      return { ...row, name: event.name, unit: event.unit, value: event.value ?? null };
  }
}

const COLUMNS = [
  ["event_id", "id"],
  ["type", "type"],
  ["occurred_at", "occurredAt"],
  ["hour", "hour"],
  ["prompt_name", "promptName"],
  ["prompt_version", "promptVersion"],
  ["label", "label"],
  ["experiment_id", "experimentId"],
  ["variant", "variant"],
  ["unit", "unit"],
  ["is_error", "isError"],
  ["latency_ms", "latencyMs"],
  ["latency_bucket", "latencyBucket"],
  ["ttft_ms", "ttftMs"],
  ["ttft_bucket", "ttftBucket"],
  ["input_tokens", "inputTokens"],
  ["output_tokens", "outputTokens"],
  ["cost_usd", "costUsd"],
  ["name", "name"],
  ["value", "value"],
  ["category", "category"],
  ["generation_id", "generationId"],
  ["resolved", "resolved"],
] as const satisfies readonly (readonly [string, keyof IngestedRow])[];

// One statement per message whatever its size: the events travel as one JSON parameter (D1 allows
// 100 bound parameters per statement, fewer than one message's events × columns). `WHERE true`
// keeps SQLite from reading ON CONFLICT as part of the SELECT.
const INSERT_EVENTS = `INSERT INTO ingested_events (project_id, claim, ${COLUMNS.map(([column]) => column).join(", ")})
SELECT ?1, ?2, ${COLUMNS.map(([, field]) => `json_extract(value, '$.${field}')`).join(", ")}
FROM json_each(?3) WHERE true
ON CONFLICT (project_id, event_id) DO NOTHING`;

const KEYS = "project_id, prompt_name, prompt_version, label, experiment_id, variant, hour";
const COPY_GENERATION_KEYS = `prompt_name = g.prompt_name, prompt_version = g.prompt_version,
  label = g.label, experiment_id = g.experiment_id, variant = g.variant, unit = g.unit,
  hour = g.hour, resolved = 1`;

/** The statements that turn this claim's rows into rollups, in order. */
const ROLLUP_STATEMENTS = [
  // Scores of this claim whose generation is known (from any batch, this one included).
  `UPDATE ingested_events AS s SET ${COPY_GENERATION_KEYS}
   FROM ingested_events AS g
   WHERE s.claim = ?1 AND s.type = 'score' AND s.resolved = 0
     AND g.project_id = s.project_id AND g.event_id = s.generation_id AND g.type = 'generation'`,
  // Scores parked by earlier batches whose generation arrived in this one: they join this claim.
  `UPDATE ingested_events AS s SET ${COPY_GENERATION_KEYS}, claim = ?1
   FROM ingested_events AS g
   WHERE g.claim = ?1 AND g.type = 'generation'
     AND s.project_id = g.project_id AND s.generation_id = g.event_id
     AND s.type = 'score' AND s.resolved = 0`,
  `INSERT INTO generation_rollups (${KEYS}, calls, errors, latency_ms_sum, input_tokens, output_tokens, cost_usd)
   SELECT ${KEYS}, count(*), sum(is_error), total(latency_ms), total(input_tokens), total(output_tokens), total(cost_usd)
   FROM ingested_events WHERE claim = ?1 AND type = 'generation' GROUP BY ${KEYS}
   ON CONFLICT (${KEYS}) DO UPDATE SET calls = calls + excluded.calls, errors = errors + excluded.errors,
     latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum,
     input_tokens = input_tokens + excluded.input_tokens,
     output_tokens = output_tokens + excluded.output_tokens, cost_usd = cost_usd + excluded.cost_usd`,
  `INSERT INTO latency_histograms (${KEYS}, metric, bucket, count)
   SELECT ${KEYS}, 'latency', latency_bucket, count(*)
   FROM ingested_events WHERE claim = ?1 AND type = 'generation' GROUP BY ${KEYS}, latency_bucket
   ON CONFLICT (${KEYS}, metric, bucket) DO UPDATE SET count = count + excluded.count`,
  `INSERT INTO latency_histograms (${KEYS}, metric, bucket, count)
   SELECT ${KEYS}, 'ttft', ttft_bucket, count(*)
   FROM ingested_events WHERE claim = ?1 AND type = 'generation' AND ttft_bucket IS NOT NULL
   GROUP BY ${KEYS}, ttft_bucket
   ON CONFLICT (${KEYS}, metric, bucket) DO UPDATE SET count = count + excluded.count`,
  `INSERT INTO score_rollups (${KEYS}, name, n, sum, sum_squares)
   SELECT ${KEYS}, name, count(*), total(value), total(value * value)
   FROM ingested_events
   WHERE claim = ?1 AND type = 'score' AND resolved = 1 AND value IS NOT NULL
   GROUP BY ${KEYS}, name
   ON CONFLICT (${KEYS}, name) DO UPDATE SET n = n + excluded.n, sum = sum + excluded.sum,
     sum_squares = sum_squares + excluded.sum_squares`,
  // A unit keeps the variant of its first exposure (SQLite takes the bare column from the row min() picked).
  `INSERT INTO experiment_exposures (project_id, experiment_id, unit, variant, first_exposed_at, exposures)
   SELECT project_id, experiment_id, unit, variant, min(occurred_at), count(*)
   FROM ingested_events WHERE claim = ?1 AND type = 'exposure' GROUP BY project_id, experiment_id, unit
   ON CONFLICT (project_id, experiment_id, unit) DO UPDATE SET
     variant = CASE WHEN excluded.first_exposed_at < first_exposed_at THEN excluded.variant ELSE variant END,
     first_exposed_at = min(first_exposed_at, excluded.first_exposed_at),
     exposures = exposures + excluded.exposures`,
  // Per unit and UTC day (the first 10 characters of the hour): statistics as of any day's end.
  `INSERT INTO experiment_unit_calls (project_id, experiment_id, variant, unit, day, calls, errors, latency_ms_sum, input_tokens, output_tokens, cost_usd)
   SELECT project_id, experiment_id, variant, unit, substr(hour, 1, 10), count(*), sum(is_error), total(latency_ms), total(input_tokens), total(output_tokens), total(cost_usd)
   FROM ingested_events WHERE claim = ?1 AND type = 'generation' AND experiment_id <> ''
   GROUP BY project_id, experiment_id, variant, unit, substr(hour, 1, 10)
   ON CONFLICT (project_id, experiment_id, variant, unit, day) DO UPDATE SET calls = calls + excluded.calls,
     errors = errors + excluded.errors, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum,
     input_tokens = input_tokens + excluded.input_tokens,
     output_tokens = output_tokens + excluded.output_tokens, cost_usd = cost_usd + excluded.cost_usd`,
  // A resolved score carries its generation's hour: it counts on the day of the scored call.
  `INSERT INTO experiment_unit_scores (project_id, experiment_id, variant, unit, name, day, n, sum, sum_squares)
   SELECT project_id, experiment_id, variant, unit, name, substr(hour, 1, 10), count(*), total(value), total(value * value)
   FROM ingested_events
   WHERE claim = ?1 AND type = 'score' AND resolved = 1 AND value IS NOT NULL AND experiment_id <> ''
   GROUP BY project_id, experiment_id, variant, unit, name, substr(hour, 1, 10)
   ON CONFLICT (project_id, experiment_id, variant, unit, name, day) DO UPDATE SET n = n + excluded.n,
     sum = sum + excluded.sum, sum_squares = sum_squares + excluded.sum_squares`,
  `INSERT INTO unit_conversions (project_id, unit, name, hour, count, value_sum)
   SELECT project_id, unit, name, hour, count(*), total(value)
   FROM ingested_events WHERE claim = ?1 AND type = 'conversion' GROUP BY project_id, unit, name, hour
   ON CONFLICT (project_id, unit, name, hour) DO UPDATE SET count = count + excluded.count,
     value_sum = value_sum + excluded.value_sum`,
];

/** The statements of one consumer batch: run them as one D1 batch. */
export function rollupStatements(
  db: D1Database,
  messages: readonly TelemetryMessage[],
  claim: string,
): D1PreparedStatement[] {
  const inserts = messages.map((message) =>
    db
      .prepare(INSERT_EVENTS)
      .bind(message.projectId, claim, JSON.stringify(message.events.map(rowOf))),
  );
  return [...inserts, ...ROLLUP_STATEMENTS.map((statement) => db.prepare(statement).bind(claim))];
}

/** Applies a batch of messages exactly once (a redelivery, in part or whole, adds nothing). */
export async function applyTelemetry(
  db: D1Database,
  messages: readonly TelemetryMessage[],
): Promise<void> {
  if (messages.length === 0) return;
  await db.batch(rollupStatements(db, messages, crypto.randomUUID()));
}

/** Delay before a failed batch is delivered again (D1 unavailable, say). */
export const CONSUMER_RETRY_DELAY_SECONDS = 30;

/**
 * The telemetry queue's handler. A failure retries the whole batch: its transaction rolled back,
 * so nothing of it was applied. After the queue's max_retries it goes to the dead-letter queue.
 */
export async function consumeTelemetry(
  batch: MessageBatch<TelemetryMessage>,
  db: D1Database,
): Promise<void> {
  try {
    await applyTelemetry(
      db,
      batch.messages.map((message) => message.body),
    );
    batch.ackAll();
  } catch (error) {
    console.error(`telemetry batch of ${batch.messages.length} messages failed`, String(error));
    batch.retryAll({ delaySeconds: CONSUMER_RETRY_DELAY_SECONDS });
  }
}

/** The dead-letter queue's handler: the messages are kept whole in dead_events (replayable). */
export async function keepDeadEvents(
  batch: MessageBatch<TelemetryMessage>,
  db: D1Database,
): Promise<void> {
  if (batch.messages.length === 0) return;
  await db.batch(
    batch.messages.map((message) =>
      db
        .prepare(
          "INSERT INTO dead_events (message_id, body, attempts) VALUES (?1, ?2, ?3) ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(message.id, JSON.stringify(message.body), message.attempts),
    ),
  );
  batch.ackAll();
}

/** Sends kept dead events to the queue again; they are counted once, like any redelivery. */
export async function replayDeadEvents(
  db: D1Database,
  queue: Queue<TelemetryMessage>,
  limit = 100,
): Promise<number> {
  const { results } = await db
    .prepare(
      "SELECT message_id, body FROM dead_events WHERE replayed_at IS NULL ORDER BY dead_at LIMIT ?1",
    )
    .bind(limit)
    .all<{ message_id: string; body: string }>();
  if (results.length === 0) return 0;
  // One send each: a message may be up to 100 KB, a sendBatch at most 256 KB.
  for (const row of results) {
    await queue.send(JSON.parse(row.body) as TelemetryMessage, { contentType: "json" });
  }
  await db.batch(
    results.map((row) =>
      db
        .prepare(
          "UPDATE dead_events SET replayed_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE message_id = ?1",
        )
        .bind(row.message_id),
    ),
  );
  return results.length;
}
