/**
 * The account's own value settings (issue 16): `account.value_settings`, JSON of what its admin
 * set (core/value.ts), NULL when nothing is.
 */
import { storedValueSettings, type ValueSettings, valueSettingsOf } from "../core/value";

/** The account's value settings, or null when the object holds no account. */
export function readValueSettings(sql: SqlStorage): ValueSettings | null {
  const row = sql
    .exec<{ value_settings: string | null }>("SELECT value_settings FROM account LIMIT 1")
    .toArray()[0];
  return row ? valueSettingsOf(row.value_settings) : null;
}

export function writeValueSettings(sql: SqlStorage, settings: ValueSettings, now: number) {
  sql.exec(
    "UPDATE account SET value_settings = ?, updated_at = ?",
    storedValueSettings(settings),
    now,
  );
}
