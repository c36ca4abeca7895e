-- Experiments. batch_guards is rebuilt to gain two preconditions (it never holds a row). The
-- triggers at the end refuse any move or deletion of a label while an experiment runs on it or is
-- paused, whichever verb tries it: stop the experiment first.
CREATE TABLE `experiments` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`prompt_id` integer NOT NULL,
	`label` text NOT NULL,
	`key` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`unit` text NOT NULL,
	`state` text DEFAULT 'draft' NOT NULL,
	`control_key` text NOT NULL,
	`control_weight` real NOT NULL,
	`control_version` integer,
	`variants` text NOT NULL,
	`coverage` real DEFAULT 1 NOT NULL,
	`bucket_version` integer DEFAULT 1 NOT NULL,
	`hash_version` integer DEFAULT 2 NOT NULL,
	`metrics` text NOT NULL,
	`stages` text DEFAULT '[]' NOT NULL,
	`promoted_variant` text,
	`rev` integer DEFAULT 0 NOT NULL,
	`created_by` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text NOT NULL,
	`started_at` text,
	`stopped_at` text,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`prompt_id`) REFERENCES `prompts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `experiments_project_key` ON `experiments` (`project_id`,`key`);--> statement-breakpoint
CREATE INDEX `experiments_prompt_label` ON `experiments` (`prompt_id`,`label`);--> statement-breakpoint
CREATE UNIQUE INDEX `experiments_one_active_per_label` ON `experiments` (`prompt_id`,`label`) WHERE state IN ('running', 'paused');--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_batch_guards` (
	`reason` text NOT NULL,
	CONSTRAINT "stale_revision" CHECK("__new_batch_guards"."reason" <> 'stale_revision'),
	CONSTRAINT "version_not_found" CHECK("__new_batch_guards"."reason" <> 'version_not_found'),
	CONSTRAINT "prompt_archived" CHECK("__new_batch_guards"."reason" <> 'prompt_archived'),
	CONSTRAINT "admin_exists" CHECK("__new_batch_guards"."reason" <> 'admin_exists'),
	CONSTRAINT "experiment_state" CHECK("__new_batch_guards"."reason" <> 'experiment_state'),
	CONSTRAINT "label_not_found" CHECK("__new_batch_guards"."reason" <> 'label_not_found')
);
--> statement-breakpoint
INSERT INTO `__new_batch_guards`("reason") SELECT "reason" FROM `batch_guards`;--> statement-breakpoint
DROP TABLE `batch_guards`;--> statement-breakpoint
ALTER TABLE `__new_batch_guards` RENAME TO `batch_guards`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE TRIGGER `labels_no_move_during_experiment` BEFORE UPDATE OF `version` ON `labels`
WHEN EXISTS (SELECT 1 FROM `experiments` WHERE `prompt_id` = OLD.`prompt_id` AND `label` = OLD.`name`
  AND `state` IN ('running', 'paused'))
BEGIN SELECT RAISE(ABORT, 'label_in_experiment'); END;
--> statement-breakpoint
CREATE TRIGGER `labels_no_delete_during_experiment` BEFORE DELETE ON `labels`
WHEN EXISTS (SELECT 1 FROM `experiments` WHERE `prompt_id` = OLD.`prompt_id` AND `label` = OLD.`name`
  AND `state` IN ('running', 'paused'))
BEGIN SELECT RAISE(ABORT, 'label_in_experiment'); END;
