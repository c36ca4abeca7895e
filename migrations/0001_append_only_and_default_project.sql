-- Versions, label history and the audit log are append-only, enforced by the database itself.
CREATE TRIGGER `versions_no_update` BEFORE UPDATE ON `versions`
BEGIN SELECT RAISE(ABORT, 'versions are immutable'); END;
--> statement-breakpoint
CREATE TRIGGER `versions_no_delete` BEFORE DELETE ON `versions`
BEGIN SELECT RAISE(ABORT, 'versions are immutable'); END;
--> statement-breakpoint
CREATE TRIGGER `label_history_no_update` BEFORE UPDATE ON `label_history`
BEGIN SELECT RAISE(ABORT, 'label history is append-only'); END;
--> statement-breakpoint
CREATE TRIGGER `label_history_no_delete` BEFORE DELETE ON `label_history`
BEGIN SELECT RAISE(ABORT, 'label history is append-only'); END;
--> statement-breakpoint
CREATE TRIGGER `audit_log_no_update` BEFORE UPDATE ON `audit_log`
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
--> statement-breakpoint
CREATE TRIGGER `audit_log_no_delete` BEFORE DELETE ON `audit_log`
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
--> statement-breakpoint
INSERT INTO `projects` (`id`, `name`) VALUES ('default', 'Default project');
