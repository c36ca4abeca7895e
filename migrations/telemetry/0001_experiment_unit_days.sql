-- Per-unit experiment rows gain a UTC day, so statistics can be read as of the end of each day.
-- Rows kept before this had no day: they are put on the unit's first-exposure day (the best
-- estimate there is), or today's when the unit's exposure was never recorded.
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_experiment_unit_calls` (
	`project_id` text NOT NULL,
	`experiment_id` text NOT NULL,
	`variant` text NOT NULL,
	`unit` text NOT NULL,
	`day` text NOT NULL,
	`calls` integer NOT NULL,
	`errors` integer NOT NULL,
	`latency_ms_sum` real NOT NULL,
	`input_tokens` integer NOT NULL,
	`output_tokens` integer NOT NULL,
	`cost_usd` real NOT NULL,
	PRIMARY KEY(`project_id`, `experiment_id`, `variant`, `unit`, `day`)
);
--> statement-breakpoint
INSERT INTO `__new_experiment_unit_calls`("project_id", "experiment_id", "variant", "unit", "day", "calls", "errors", "latency_ms_sum", "input_tokens", "output_tokens", "cost_usd") SELECT c."project_id", c."experiment_id", c."variant", c."unit", coalesce((SELECT substr(e."first_exposed_at", 1, 10) FROM `experiment_exposures` e WHERE e."project_id" = c."project_id" AND e."experiment_id" = c."experiment_id" AND e."unit" = c."unit"), date('now')), c."calls", c."errors", c."latency_ms_sum", c."input_tokens", c."output_tokens", c."cost_usd" FROM `experiment_unit_calls` c;--> statement-breakpoint
DROP TABLE `experiment_unit_calls`;--> statement-breakpoint
ALTER TABLE `__new_experiment_unit_calls` RENAME TO `experiment_unit_calls`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE TABLE `__new_experiment_unit_scores` (
	`project_id` text NOT NULL,
	`experiment_id` text NOT NULL,
	`variant` text NOT NULL,
	`unit` text NOT NULL,
	`name` text NOT NULL,
	`day` text NOT NULL,
	`n` integer NOT NULL,
	`sum` real NOT NULL,
	`sum_squares` real NOT NULL,
	PRIMARY KEY(`project_id`, `experiment_id`, `variant`, `unit`, `name`, `day`)
);
--> statement-breakpoint
INSERT INTO `__new_experiment_unit_scores`("project_id", "experiment_id", "variant", "unit", "name", "day", "n", "sum", "sum_squares") SELECT s."project_id", s."experiment_id", s."variant", s."unit", s."name", coalesce((SELECT substr(e."first_exposed_at", 1, 10) FROM `experiment_exposures` e WHERE e."project_id" = s."project_id" AND e."experiment_id" = s."experiment_id" AND e."unit" = s."unit"), date('now')), s."n", s."sum", s."sum_squares" FROM `experiment_unit_scores` s;--> statement-breakpoint
DROP TABLE `experiment_unit_scores`;--> statement-breakpoint
ALTER TABLE `__new_experiment_unit_scores` RENAME TO `experiment_unit_scores`;--> statement-breakpoint
CREATE INDEX `latency_histograms_experiment` ON `latency_histograms` (`project_id`,`experiment_id`);