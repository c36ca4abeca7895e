-- batch_guards gains the admin_exists precondition. SQLite cannot add a CHECK to a table, and
-- this table never holds a row (every insert into it fails by design), so it is simply rebuilt.
DROP TABLE `batch_guards`;
--> statement-breakpoint
CREATE TABLE `batch_guards` (
	`reason` text NOT NULL,
	CONSTRAINT "stale_revision" CHECK("batch_guards"."reason" <> 'stale_revision'),
	CONSTRAINT "version_not_found" CHECK("batch_guards"."reason" <> 'version_not_found'),
	CONSTRAINT "prompt_archived" CHECK("batch_guards"."reason" <> 'prompt_archived'),
	CONSTRAINT "admin_exists" CHECK("batch_guards"."reason" <> 'admin_exists')
);
