ALTER TABLE `api_keys` ADD `browser` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `allowed_origins` text;--> statement-breakpoint
ALTER TABLE `projects` ADD `allowed_origins` text DEFAULT '[]' NOT NULL;