-- Rollout stages: which stage of `stages` an experiment serves and since when, so the cron
-- advances a running rollout once the stage has its minimum exposure and duration.
ALTER TABLE `experiments` ADD `stage` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `experiments` ADD `stage_started_at` text;