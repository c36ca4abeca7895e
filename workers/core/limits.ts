/**
 * Every limit a user can run into, in one place: the zod schemas, the edge's checks, the UI's
 * `maxlength` attributes and the docs read them from here, so a number is never written twice.
 * Sizes of templates and bodies are UTF-8 bytes, not characters.
 */

/**
 * Prompt names are KV key and URL parts. Names, labels and project slugs are ASCII (core/names.ts),
 * so the longest KV key, `p/{project}/{name}@{label}`, is 2 + 64 + 1 + 128 + 1 + 64 = 260 bytes,
 * well under Workers KV's 512.
 */
export const PROMPT_NAME_MAX = 128;
/** Labels are read (fetched, filtered on, deleted) up to this length: labels made before… */
export const LABEL_MAX = 64;
/** …labels had Langfuse's limit, which every label set from now on keeps. */
export const NEW_LABEL_MAX = 36;
/** A chat placeholder's name, and a chat message's role (any string, as in Langfuse). */
export const PLACEHOLDER_NAME_MAX = 64;
export const CHAT_ROLE_MAX = 64;
export const PROJECT_MAX = 64;
/** Versions are numbered 1, 2, 3… and stored as SQLite integers read into JS numbers. */
export const VERSION_MAX = 2_147_483_647;

/** Total UTF-8 bytes of all templates of one version. */
export const TEMPLATE_MAX_BYTES = 64 * 1024;
export const CHAT_MESSAGES_MAX = 100;
/** A version's model config, as canonical JSON. */
export const CONFIG_MAX_BYTES = 16 * 1024;
/** Nesting of objects/arrays in a model config (tool schemas nest, but not this deep). */
export const CONFIG_MAX_DEPTH = 32;
/**
 * Nesting of any JSON request body, counted from the body itself. Above every field's own limit,
 * so the field's rule is the one reported; it keeps every recursive walk far from the stack's end.
 */
export const JSON_BODY_MAX_DEPTH = 64;
export const VARIABLE_DESCRIPTION_MAX = 500;
export const COMMIT_MESSAGE_MAX = 1000;

export const PROMPT_DESCRIPTION_MAX = 1000;
export const TAGS_MAX = 20;
export const TAG_MAX = 40;
/** Labels one request may set (a new version's `labels`, a project's protected labels). */
export const LABELS_PER_REQUEST_MAX = 20;

export const PROJECT_NAME_MAX = 100;
export const KEY_NAME_MAX = 100;
/** Browser origins one project (or one key) may list (`core/origins.ts`). */
export const ALLOWED_ORIGINS_MAX = 20;
/** A domain name is at most 253 characters; scheme, port and slack on top. */
export const ORIGIN_MAX = 300;
/**
 * The latest expiry a key may have. Expiry is stored as ISO text and compared as text in D1;
 * after year 9999 the ISO form becomes `+010000-…`, which sorts before every 4-digit year.
 */
export const KEY_EXPIRES_MAX = "9999-12-31T23:59:59.999Z";

export const WEBHOOK_URL_MAX = 2000;
export const WEBHOOK_DESCRIPTION_MAX = 500;
export const WEBHOOK_AUTH_TOKEN_MAX = 500;
/** A model provider's settings (the playground's OpenAI-compatible endpoint). */
export const MODEL_PROVIDER_URL_MAX = 2000;
export const MODEL_PROVIDER_API_KEY_MAX = 1000;
export const MODEL_NAME_MAX = 200;
/** The API key's last characters the UI and API may show; only for keys long enough to keep
 * the rest unguessable. */
export const API_KEY_HINT_CHARS = 4;
export const API_KEY_HINT_MIN_LENGTH = 16;
/** One playground variable's value, all of a run's values (as JSON), and how long a run may take. */
export const PLAYGROUND_VALUE_MAX = 16 * 1024;
export const PLAYGROUND_VALUES_MAX_BYTES = 64 * 1024;
export const PLAYGROUND_TIMEOUT_MS = 60_000;

/** Request bodies larger than this are refused with 413 before they are parsed (both workers). */
export const REQUEST_BODY_MAX_BYTES = 256 * 1024;
/** Names in one batch fetch at the edge (one KV bulk get). */
export const BATCH_NAMES_MAX = 100;
/** Items in one page of a list endpoint. */
export const PAGE_SIZE_MAX = 200;
export const PAGE_SIZE_DEFAULT = 50;

/** The widest range one metrics query may cover (the admin API answers 422 beyond it). */
export const METRICS_RANGE_MAX_DAYS = 90;
/** The range a metrics query covers when it gives no `from`. */
export const METRICS_RANGE_DEFAULT_DAYS = 7;
/** Ranges up to this are shown per hour by default, longer ones per day. */
export const METRICS_HOURLY_DEFAULT_MAX_DAYS = 2;
// Experiments (docs/experiments.md).
export const EXPERIMENT_KEY_MAX = 64;
export const EXPERIMENT_DESCRIPTION_MAX = 1000;
/** The description of what the unit id is ("user id"), not the id itself (UNIT_ID_MAX). */
export const EXPERIMENT_UNIT_DESCRIPTION_MAX = 100;
/** Arms of one experiment, control included. */
export const EXPERIMENT_ARMS_MAX = 10;
export const EXPERIMENT_GUARDRAILS_MAX = 10;
export const EXPERIMENT_STAGES_MAX = 10;
/** How far from 1 the weights may add up (0.1 + 0.2 is not 0.3 in floating point). */
export const EXPERIMENT_WEIGHT_TOLERANCE = 1e-6;
/** Metrics one statistics request may ask for: the primary and every guardrail. */
export const EXPERIMENT_STATISTICS_METRICS_MAX = EXPERIMENT_GUARDRAILS_MAX + 1;
/**
 * Daily snapshots an experiment's statistics carry (the most recent ones): enough for the effect
 * over time of a two-month experiment, bounded so the answer stays small for longer ones.
 */
export const EXPERIMENT_STATISTICS_DAYS_MAX = 60;
