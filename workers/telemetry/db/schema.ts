import { sql } from "drizzle-orm";
import {
  type AnySQLiteColumn,
  index,
  integer,
  primaryKey,
  real,
  sqliteTable,
  text,
} from "drizzle-orm/sqlite-core";

/**
 * The telemetry store (its own D1 database; nothing here is prompt data). Raw events are kept only
 * for the dedup window; the rollups are the lasting record. Rollup keys are never NULL (SQLite
 * treats NULLs as distinct in a unique key, which would split one series into many rows): no
 * prompt is `""` with version 0, a pinned call has label `""`, no experiment is `""`.
 */

/** The keys every prompt rollup is counted under. */
const rollupKeys = {
  projectId: text("project_id").notNull(),
  promptName: text("prompt_name").notNull(),
  promptVersion: integer("prompt_version").notNull(),
  label: text("label").notNull(),
  experimentId: text("experiment_id").notNull(),
  variant: text("variant").notNull(),
  /** Start of the UTC hour, ISO 8601 (`2026-07-01T13:00:00.000Z`). */
  hour: text("hour").notNull(),
};

const rollupKeyColumns = (
  table: Record<keyof typeof rollupKeys, AnySQLiteColumn>,
): [AnySQLiteColumn, ...AnySQLiteColumn[]] => [
  table.projectId,
  table.promptName,
  table.promptVersion,
  table.label,
  table.experimentId,
  table.variant,
  table.hour,
];

/**
 * Every accepted event, once: the primary key is the dedup. A consumer batch inserts its events
 * with a claim token of its own (ON CONFLICT DO NOTHING), then aggregates only the rows carrying
 * that claim, so a redelivered event adds nothing. Scores copy their generation's keys when it is
 * known (`resolved` = 1); until then they are parked (`resolved` = 0).
 */
export const ingestedEvents = sqliteTable(
  "ingested_events",
  {
    projectId: text("project_id").notNull(),
    eventId: text("event_id").notNull(),
    claim: text("claim").notNull(),
    type: text("type", { enum: ["generation", "exposure", "score", "conversion"] }).notNull(),
    occurredAt: text("occurred_at").notNull(),
    hour: text("hour").notNull(),
    promptName: text("prompt_name").notNull(),
    promptVersion: integer("prompt_version").notNull(),
    label: text("label").notNull(),
    experimentId: text("experiment_id").notNull(),
    variant: text("variant").notNull(),
    unit: text("unit").notNull(),
    isError: integer("is_error").notNull().default(0),
    latencyMs: real("latency_ms"),
    latencyBucket: integer("latency_bucket"),
    timeToFirstTokenMs: real("ttft_ms"),
    timeToFirstTokenBucket: integer("ttft_bucket"),
    inputTokens: integer("input_tokens"),
    outputTokens: integer("output_tokens"),
    costUsd: real("cost_usd"),
    /** Score or conversion name. */
    name: text("name"),
    /** A numeric score (booleans as 0/1) or a conversion's value. */
    value: real("value"),
    /** A categorical score's category (kept raw, not rolled up). */
    category: text("category"),
    generationId: text("generation_id"),
    resolved: integer("resolved").notNull().default(1),
    ingestedAt: text("ingested_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`),
  },
  (table) => [
    primaryKey({ columns: [table.projectId, table.eventId] }),
    index("ingested_events_claim").on(table.claim),
    index("ingested_events_occurred_at").on(table.occurredAt),
    index("ingested_events_parked_scores")
      .on(table.projectId, table.generationId)
      .where(sql`type = 'score' AND resolved = 0`),
  ],
);

/** Generations per prompt × version × label × experiment × variant × hour. */
export const generationRollups = sqliteTable(
  "generation_rollups",
  {
    ...rollupKeys,
    calls: integer("calls").notNull(),
    errors: integer("errors").notNull(),
    latencyMsSum: real("latency_ms_sum").notNull(),
    inputTokens: integer("input_tokens").notNull(),
    outputTokens: integer("output_tokens").notNull(),
    costUsd: real("cost_usd").notNull(),
  },
  (table) => [primaryKey({ columns: rollupKeyColumns(table) })],
);

/**
 * Latency and time-to-first-token histograms: one row per non-empty bucket (buckets are
 * LATENCY_BUCKETS_MS in @cuecard/core/telemetry, so any hours add up exactly).
 */
export const latencyHistograms = sqliteTable(
  "latency_histograms",
  {
    ...rollupKeys,
    metric: text("metric", { enum: ["latency", "ttft"] }).notNull(),
    bucket: integer("bucket").notNull(),
    count: integer("count").notNull(),
  },
  (table) => [
    primaryKey({ columns: [...rollupKeyColumns(table), table.metric, table.bucket] }),
    // Experiment statistics read one experiment's histograms across every prompt key.
    index("latency_histograms_experiment").on(table.projectId, table.experimentId),
  ],
);

/** Numeric and boolean scores per name, under their generation's keys and hour. */
export const scoreRollups = sqliteTable(
  "score_rollups",
  {
    ...rollupKeys,
    name: text("name").notNull(),
    n: integer("n").notNull(),
    sum: real("sum").notNull(),
    sumSquares: real("sum_squares").notNull(),
  },
  (table) => [primaryKey({ columns: [...rollupKeyColumns(table), table.name] })],
);

/** One row per unit and experiment: the distinct-unit count per variant is exact. */
export const experimentExposures = sqliteTable(
  "experiment_exposures",
  {
    projectId: text("project_id").notNull(),
    experimentId: text("experiment_id").notNull(),
    unit: text("unit").notNull(),
    /** The variant of the unit's first exposure. */
    variant: text("variant").notNull(),
    firstExposedAt: text("first_exposed_at").notNull(),
    exposures: integer("exposures").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.projectId, table.experimentId, table.unit] }),
    index("experiment_exposures_variant").on(table.projectId, table.experimentId, table.variant),
  ],
);

/**
 * Per experiment × variant × unit × UTC day: what the unit's calls cost and how they went. The day
 * (`2026-07-01`) lets experiment statistics be read as of the end of any day, and for a window.
 */
export const experimentUnitCalls = sqliteTable(
  "experiment_unit_calls",
  {
    projectId: text("project_id").notNull(),
    experimentId: text("experiment_id").notNull(),
    variant: text("variant").notNull(),
    unit: text("unit").notNull(),
    day: text("day").notNull(),
    calls: integer("calls").notNull(),
    errors: integer("errors").notNull(),
    latencyMsSum: real("latency_ms_sum").notNull(),
    inputTokens: integer("input_tokens").notNull(),
    outputTokens: integer("output_tokens").notNull(),
    costUsd: real("cost_usd").notNull(),
  },
  (table) => [
    primaryKey({
      columns: [table.projectId, table.experimentId, table.variant, table.unit, table.day],
    }),
  ],
);

/**
 * Per experiment × variant × unit × score name × UTC day (of the scored generation): sufficient
 * statistics of the unit's scores.
 */
export const experimentUnitScores = sqliteTable(
  "experiment_unit_scores",
  {
    projectId: text("project_id").notNull(),
    experimentId: text("experiment_id").notNull(),
    variant: text("variant").notNull(),
    unit: text("unit").notNull(),
    name: text("name").notNull(),
    day: text("day").notNull(),
    n: integer("n").notNull(),
    sum: real("sum").notNull(),
    sumSquares: real("sum_squares").notNull(),
  },
  (table) => [
    primaryKey({
      columns: [
        table.projectId,
        table.experimentId,
        table.variant,
        table.unit,
        table.name,
        table.day,
      ],
    }),
  ],
);

/**
 * Conversions per unit × name × hour. A conversion names no experiment: experiment statistics
 * join these with experiment_exposures by unit (hours at or after the first exposure's hour), so
 * the order in which exposures and conversions arrive does not matter.
 */
export const unitConversions = sqliteTable(
  "unit_conversions",
  {
    projectId: text("project_id").notNull(),
    unit: text("unit").notNull(),
    name: text("name").notNull(),
    hour: text("hour").notNull(),
    count: integer("count").notNull(),
    valueSum: real("value_sum").notNull(),
  },
  (table) => [primaryKey({ columns: [table.projectId, table.unit, table.name, table.hour] })],
);

/** Queue messages that failed every retry, kept whole so they can be sent again. */
export const deadEvents = sqliteTable("dead_events", {
  messageId: text("message_id").primaryKey(),
  /** The message body as it was enqueued (JSON). */
  body: text("body").notNull(),
  attempts: integer("attempts").notNull(),
  deadAt: text("dead_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`),
  /** Set when the message was sent to the queue again. */
  replayedAt: text("replayed_at"),
});
