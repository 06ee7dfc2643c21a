CREATE TABLE `accounts` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`tier` text NOT NULL,
	`billing_anchor_day` integer NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `audit_log` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`actor` text NOT NULL,
	`operation` text NOT NULL,
	`target` text,
	`detail` text NOT NULL,
	`at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_log_account_time` ON `audit_log` (`account_id`,`at`);--> statement-breakpoint
CREATE TABLE `usage_events` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`seq` integer NOT NULL,
	`occurred_at` text NOT NULL,
	`period_start` text NOT NULL,
	`request_id` text NOT NULL,
	`team_id` text,
	`member_id` text,
	`key_id` text,
	`action` text NOT NULL,
	`category` text NOT NULL,
	`outcome` text NOT NULL,
	`reason` text,
	`units` integer NOT NULL,
	`credits` integer NOT NULL,
	`held_credits` integer NOT NULL,
	`grants` text NOT NULL,
	`purpose` text,
	`idempotency_key` text,
	`upstream_status` integer,
	`duration_ms` integer
);
--> statement-breakpoint
CREATE INDEX `usage_events_account_time` ON `usage_events` (`account_id`,`occurred_at`,`id`);--> statement-breakpoint
CREATE INDEX `usage_events_account_period` ON `usage_events` (`account_id`,`period_start`);