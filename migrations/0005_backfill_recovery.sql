-- Rows from before consumption was recorded: events enqueued more than a day ago were handled
-- long since (the events queue gives up within an hour), so only recent ones are re-sent once.
-- Retrying deliveries keep their place in the backoff schedule.
UPDATE `outbox` SET `consumed_at` = `enqueued_at`
WHERE `enqueued_at` IS NOT NULL
  AND `enqueued_at` < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 day');
--> statement-breakpoint
UPDATE `webhook_deliveries` SET `round_attempts` = `attempts`;
