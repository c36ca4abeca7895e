CREATE TABLE `model_providers` (
	`project_id` text PRIMARY KEY NOT NULL,
	`base_url` text NOT NULL,
	`default_model` text NOT NULL,
	`api_key_sealed` text NOT NULL,
	`api_key_hint` text,
	`updated_by` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE no action
);
