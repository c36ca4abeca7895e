ALTER TABLE `outbox` ADD `consumed_at` text;--> statement-breakpoint
ALTER TABLE `outbox` ADD `resends` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `outbox_unconsumed` ON `outbox` (`consumed_at`,`enqueued_at`);--> statement-breakpoint
ALTER TABLE `webhook_deliveries` ADD `lease_until` text;--> statement-breakpoint
ALTER TABLE `webhook_deliveries` ADD `round` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `webhook_deliveries` ADD `round_attempts` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `webhook_deliveries_due` ON `webhook_deliveries` (`status`,`next_retry_at`);