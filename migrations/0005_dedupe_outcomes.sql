CREATE TABLE `outcomes` (
	`account_id` text NOT NULL,
	`id` text NOT NULL,
	`kind` text NOT NULL,
	`record_key` text,
	`request_id` text,
	`value` real,
	`occurred_at` text NOT NULL,
	`received_at` text NOT NULL,
	`fingerprint` text NOT NULL,
	PRIMARY KEY(`account_id`, `id`)
);
--> statement-breakpoint
CREATE INDEX `outcomes_account_time` ON `outcomes` (`account_id`,`occurred_at`);--> statement-breakpoint
CREATE TABLE `usage_records` (
	`account_id` text NOT NULL,
	`record_key` text NOT NULL,
	`occurred_at` text NOT NULL,
	`event_id` text NOT NULL,
	PRIMARY KEY(`account_id`, `record_key`, `occurred_at`, `event_id`)
);
--> statement-breakpoint
CREATE INDEX `usage_records_event` ON `usage_records` (`event_id`);--> statement-breakpoint
ALTER TABLE `usage_events` ADD `records_charged` integer;--> statement-breakpoint
ALTER TABLE `usage_events` ADD `records_skipped` integer;--> statement-breakpoint
ALTER TABLE `usage_events` ADD `credits_saved` integer;--> statement-breakpoint
ALTER TABLE `usage_events` ADD `tags` text;--> statement-breakpoint
ALTER TABLE `usage_events` ADD `record_keys` text;--> statement-breakpoint
CREATE INDEX `usage_events_account_request` ON `usage_events` (`account_id`,`request_id`);