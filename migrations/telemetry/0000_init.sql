CREATE TABLE `dead_events` (
	`message_id` text PRIMARY KEY NOT NULL,
	`body` text NOT NULL,
	`attempts` integer NOT NULL,
	`dead_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`replayed_at` text
);
--> statement-breakpoint
CREATE TABLE `experiment_exposures` (
	`project_id` text NOT NULL,
	`experiment_id` text NOT NULL,
	`unit` text NOT NULL,
	`variant` text NOT NULL,
	`first_exposed_at` text NOT NULL,
	`exposures` integer NOT NULL,
	PRIMARY KEY(`project_id`, `experiment_id`, `unit`)
);
--> statement-breakpoint
CREATE INDEX `experiment_exposures_variant` ON `experiment_exposures` (`project_id`,`experiment_id`,`variant`);--> statement-breakpoint
CREATE TABLE `experiment_unit_calls` (
	`project_id` text NOT NULL,
	`experiment_id` text NOT NULL,
	`variant` text NOT NULL,
	`unit` text NOT NULL,
	`calls` integer NOT NULL,
	`errors` integer NOT NULL,
	`latency_ms_sum` real NOT NULL,
	`input_tokens` integer NOT NULL,
	`output_tokens` integer NOT NULL,
	`cost_usd` real NOT NULL,
	PRIMARY KEY(`project_id`, `experiment_id`, `variant`, `unit`)
);
--> statement-breakpoint
CREATE TABLE `experiment_unit_scores` (
	`project_id` text NOT NULL,
	`experiment_id` text NOT NULL,
	`variant` text NOT NULL,
	`unit` text NOT NULL,
	`name` text NOT NULL,
	`n` integer NOT NULL,
	`sum` real NOT NULL,
	`sum_squares` real NOT NULL,
	PRIMARY KEY(`project_id`, `experiment_id`, `variant`, `unit`, `name`)
);
--> statement-breakpoint
CREATE TABLE `generation_rollups` (
	`project_id` text NOT NULL,
	`prompt_name` text NOT NULL,
	`prompt_version` integer NOT NULL,
	`label` text NOT NULL,
	`experiment_id` text NOT NULL,
	`variant` text NOT NULL,
	`hour` text NOT NULL,
	`calls` integer NOT NULL,
	`errors` integer NOT NULL,
	`latency_ms_sum` real NOT NULL,
	`input_tokens` integer NOT NULL,
	`output_tokens` integer NOT NULL,
	`cost_usd` real NOT NULL,
	PRIMARY KEY(`project_id`, `prompt_name`, `prompt_version`, `label`, `experiment_id`, `variant`, `hour`)
);
--> statement-breakpoint
CREATE TABLE `ingested_events` (
	`project_id` text NOT NULL,
	`event_id` text NOT NULL,
	`claim` text NOT NULL,
	`type` text NOT NULL,
	`occurred_at` text NOT NULL,
	`hour` text NOT NULL,
	`prompt_name` text NOT NULL,
	`prompt_version` integer NOT NULL,
	`label` text NOT NULL,
	`experiment_id` text NOT NULL,
	`variant` text NOT NULL,
	`unit` text NOT NULL,
	`is_error` integer DEFAULT 0 NOT NULL,
	`latency_ms` real,
	`latency_bucket` integer,
	`ttft_ms` real,
	`ttft_bucket` integer,
	`input_tokens` integer,
	`output_tokens` integer,
	`cost_usd` real,
	`name` text,
	`value` real,
	`category` text,
	`generation_id` text,
	`resolved` integer DEFAULT 1 NOT NULL,
	`ingested_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`project_id`, `event_id`)
);
--> statement-breakpoint
CREATE INDEX `ingested_events_claim` ON `ingested_events` (`claim`);--> statement-breakpoint
CREATE INDEX `ingested_events_occurred_at` ON `ingested_events` (`occurred_at`);--> statement-breakpoint
CREATE INDEX `ingested_events_parked_scores` ON `ingested_events` (`project_id`,`generation_id`) WHERE type = 'score' AND resolved = 0;--> statement-breakpoint
CREATE TABLE `latency_histograms` (
	`project_id` text NOT NULL,
	`prompt_name` text NOT NULL,
	`prompt_version` integer NOT NULL,
	`label` text NOT NULL,
	`experiment_id` text NOT NULL,
	`variant` text NOT NULL,
	`hour` text NOT NULL,
	`metric` text NOT NULL,
	`bucket` integer NOT NULL,
	`count` integer NOT NULL,
	PRIMARY KEY(`project_id`, `prompt_name`, `prompt_version`, `label`, `experiment_id`, `variant`, `hour`, `metric`, `bucket`)
);
--> statement-breakpoint
CREATE TABLE `score_rollups` (
	`project_id` text NOT NULL,
	`prompt_name` text NOT NULL,
	`prompt_version` integer NOT NULL,
	`label` text NOT NULL,
	`experiment_id` text NOT NULL,
	`variant` text NOT NULL,
	`hour` text NOT NULL,
	`name` text NOT NULL,
	`n` integer NOT NULL,
	`sum` real NOT NULL,
	`sum_squares` real NOT NULL,
	PRIMARY KEY(`project_id`, `prompt_name`, `prompt_version`, `label`, `experiment_id`, `variant`, `hour`, `name`)
);
--> statement-breakpoint
CREATE TABLE `unit_conversions` (
	`project_id` text NOT NULL,
	`unit` text NOT NULL,
	`name` text NOT NULL,
	`hour` text NOT NULL,
	`count` integer NOT NULL,
	`value_sum` real NOT NULL,
	PRIMARY KEY(`project_id`, `unit`, `name`, `hour`)
);
