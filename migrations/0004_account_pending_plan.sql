ALTER TABLE `accounts` ADD `pending_plan` text;--> statement-breakpoint
ALTER TABLE `accounts` ADD `pending_from` text;