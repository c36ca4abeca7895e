-- Guarded rollouts: what the rollout schedule does when a guardrail regresses (pause or roll
-- back), whether it promotes a winner by itself, and its latest decision with the reason.
ALTER TABLE `experiments` ADD `on_regression` text DEFAULT 'pause' NOT NULL;--> statement-breakpoint
ALTER TABLE `experiments` ADD `auto_promote` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `experiments` ADD `decision` text;