ALTER TABLE `label_history` ADD `change_id` text;--> statement-breakpoint
CREATE INDEX `label_history_change` ON `label_history` (`change_id`);