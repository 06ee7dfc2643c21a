CREATE TABLE `usage_archive` (
	`account_id` text PRIMARY KEY NOT NULL,
	`archived_seq` integer NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `usage_archive_days` (
	`account_id` text NOT NULL,
	`day` text NOT NULL,
	`events` integer NOT NULL,
	`captured_credits` integer NOT NULL,
	`first_seq` integer NOT NULL,
	`last_seq` integer NOT NULL,
	`first_at` text NOT NULL,
	`last_at` text NOT NULL,
	`sha256` text NOT NULL,
	`bytes` integer NOT NULL,
	`compressed_bytes` integer NOT NULL,
	`archived_at` text NOT NULL,
	PRIMARY KEY(`account_id`, `day`, `first_seq`)
);
--> statement-breakpoint
CREATE TABLE `usage_archive_leases` (
	`account_id` text NOT NULL,
	`day` text NOT NULL,
	`holder` text NOT NULL,
	`expires_at` text NOT NULL,
	PRIMARY KEY(`account_id`, `day`)
);
--> statement-breakpoint
CREATE TABLE `usage_archive_runs` (
	`id` integer PRIMARY KEY NOT NULL,
	`last_run_at` text,
	`last_completed_at` text,
	`days` integer DEFAULT 0 NOT NULL,
	`events` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`last_error_at` text
);
