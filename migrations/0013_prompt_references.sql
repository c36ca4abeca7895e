CREATE TABLE `prompt_references` (
	`prompt_id` integer NOT NULL,
	`version` integer NOT NULL,
	`target_name` text NOT NULL,
	`target_label` text,
	`target_version` integer,
	FOREIGN KEY (`prompt_id`) REFERENCES `prompts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `prompt_references_target` ON `prompt_references` (`target_name`,`target_label`);--> statement-breakpoint
CREATE INDEX `prompt_references_source` ON `prompt_references` (`prompt_id`,`version`);