CREATE TABLE `alerts` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`kind` text NOT NULL,
	`scope` text NOT NULL,
	`scope_id` text NOT NULL,
	`threshold` integer,
	`period_start` text NOT NULL,
	`fired_at` text NOT NULL,
	`request_id` text,
	`detail` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `alerts_account_time` ON `alerts` (`account_id`,`fired_at`);--> statement-breakpoint
CREATE TABLE `usage_deletions` (
	`account_id` text NOT NULL,
	`period_start` text NOT NULL,
	`action` text NOT NULL,
	`team_id` text DEFAULT '' NOT NULL,
	`outcome` text NOT NULL,
	`events` integer NOT NULL,
	`credits` integer NOT NULL,
	PRIMARY KEY(`account_id`, `period_start`, `action`, `team_id`, `outcome`)
);
--> statement-breakpoint
CREATE TABLE `usage_rollups` (
	`account_id` text NOT NULL,
	`day` text NOT NULL,
	`period_start` text NOT NULL,
	`team_id` text DEFAULT '' NOT NULL,
	`member_id` text DEFAULT '' NOT NULL,
	`action` text NOT NULL,
	`category` text NOT NULL,
	`outcome` text NOT NULL,
	`events` integer NOT NULL,
	`units` integer NOT NULL,
	`credits` integer NOT NULL,
	PRIMARY KEY(`account_id`, `day`, `period_start`, `team_id`, `member_id`, `action`, `category`, `outcome`)
);
--> statement-breakpoint
CREATE INDEX `usage_rollups_account_period` ON `usage_rollups` (`account_id`,`period_start`);--> statement-breakpoint
CREATE TABLE `usage_tombstones` (
	`id` text PRIMARY KEY NOT NULL
);
--> statement-breakpoint
CREATE INDEX `usage_events_account_seq` ON `usage_events` (`account_id`,`seq`);--> statement-breakpoint
CREATE INDEX `usage_events_time` ON `usage_events` (`occurred_at`);