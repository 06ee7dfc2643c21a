/**
 * The account's people: teams with their rules, members and key hashes, kept beside the
 * balance so a decision never has to look anywhere else. (The account row is in account.ts.)
 */
import { newId } from "../../lib/ids";
import { iso, isoOrNull } from "../../lib/time";
import type {
  KeyView,
  MemberPatch,
  MemberView,
  NewKey,
  NewMember,
  Page,
  Role,
  Seat,
  TeamView,
} from "../contract";
import { DEFAULT_TEAM_RULES, type TeamRules } from "../core/rules";

interface TeamRow {
  id: string;
  name: string;
  rules: string;
  created_at: number;
  [key: string]: SqlStorageValue;
}

/** A team's rules, with defaults for anything never set. */
export function teamRules(sql: SqlStorage, teamId: string): TeamRules | null {
  const row = sql
    .exec<{ rules: string }>("SELECT rules FROM teams WHERE id = ?", teamId)
    .toArray()[0];
  if (!row) return null;
  return { ...DEFAULT_TEAM_RULES, ...(JSON.parse(row.rules || "{}") as Partial<TeamRules>) };
}

export function setTeamRules(sql: SqlStorage, teamId: string, rules: TeamRules) {
  sql.exec("UPDATE teams SET rules = ? WHERE id = ?", JSON.stringify(rules), teamId);
}

export function renameTeam(sql: SqlStorage, id: string, name: string): TeamView | null {
  sql.exec("UPDATE teams SET name = ? WHERE id = ?", name, id);
  return getTeam(sql, id);
}

/** Members (not deleted) of a team. */
export function teamMemberCount(sql: SqlStorage, id: string): number {
  return sql
    .exec<{ n: number }>(
      "SELECT COUNT(*) AS n FROM members WHERE team_id = ? AND deleted_at IS NULL",
      id,
    )
    .one().n;
}

/** Deletes an empty team. It stays in storage (usage history names it) but leaves every list. */
export function deleteTeam(sql: SqlStorage, id: string, now: number) {
  sql.exec("UPDATE teams SET deleted_at = ? WHERE id = ?", now, id);
}

const teamView = (r: TeamRow): TeamView => ({
  id: r.id,
  name: r.name,
  createdAt: iso(r.created_at),
});

export function createTeam(sql: SqlStorage, name: string, now: number): TeamView {
  const id = newId("team");
  sql.exec("INSERT INTO teams (id, name, created_at) VALUES (?, ?, ?)", id, name, now);
  return { id, name, createdAt: iso(now) };
}

/** A team that has not been deleted. */
export function getTeam(sql: SqlStorage, id: string): TeamView | null {
  const row = sql
    .exec<TeamRow>("SELECT * FROM teams WHERE id = ? AND deleted_at IS NULL", id)
    .toArray()[0];
  return row ? teamView(row) : null;
}

/** Keyset page of a table ordered by id. */
function pageQuery(source: string, limit: number, after: string | null): string {
  const joiner = source.includes(" WHERE ") ? "AND" : "WHERE";
  const cursor = after === null ? "? IS NULL" : "id > ?";
  return `SELECT * FROM ${source} ${joiner} ${cursor} ORDER BY id LIMIT ${limit + 1}`;
}

function paginate<R extends Record<string, SqlStorageValue>, T extends { id: string }>(
  sql: SqlStorage,
  table: string,
  limit: number,
  after: string | null,
  view: (row: R) => T,
): Page<T> {
  const rows = sql
    .exec<R>(pageQuery(table, limit, after), after)
    .toArray()
    .map(view);
  const more = rows.length > limit;
  const data = more ? rows.slice(0, limit) : rows;
  return { data, nextCursor: more ? (data[data.length - 1]?.id ?? null) : null };
}

export function listTeams(sql: SqlStorage, limit: number, after: string | null): Page<TeamView> {
  return paginate(sql, "teams WHERE deleted_at IS NULL", limit, after, teamView);
}

interface MemberRow {
  id: string;
  name: string;
  team_id: string;
  seat: Seat;
  active: number;
  budget: number | null;
  deleted_at: number | null;
  created_at: number;
  [key: string]: SqlStorageValue;
}

const memberView = (r: MemberRow): MemberView => ({
  id: r.id,
  name: r.name,
  teamId: r.team_id,
  seat: r.seat,
  active: r.active === 1,
  budget: r.budget,
  createdAt: iso(r.created_at),
});

export function createMember(sql: SqlStorage, input: NewMember, now: number): MemberView {
  const id = newId("member");
  sql.exec(
    "INSERT INTO members (id, name, team_id, seat, active, created_at) VALUES (?, ?, ?, ?, 1, ?)",
    id,
    input.name,
    input.teamId,
    input.seat,
    now,
  );
  return {
    id,
    name: input.name,
    teamId: input.teamId,
    seat: input.seat,
    active: true,
    budget: null,
    createdAt: iso(now),
  };
}

/** A member that has not been deleted. */
export function getMember(sql: SqlStorage, id: string): MemberView | null {
  const row = sql
    .exec<MemberRow>("SELECT * FROM members WHERE id = ? AND deleted_at IS NULL", id)
    .toArray()[0];
  return row ? memberView(row) : null;
}

export function listMembers(
  sql: SqlStorage,
  limit: number,
  after: string | null,
): Page<MemberView> {
  return paginate(sql, "members WHERE deleted_at IS NULL", limit, after, memberView);
}

export function updateMember(sql: SqlStorage, id: string, patch: MemberPatch): MemberView | null {
  const sets: [string, SqlStorageValue][] = [];
  if (patch.name !== undefined) sets.push(["name", patch.name]);
  if (patch.teamId !== undefined) sets.push(["team_id", patch.teamId]);
  if (patch.seat !== undefined) sets.push(["seat", patch.seat]);
  if (patch.active !== undefined) sets.push(["active", patch.active ? 1 : 0]);
  if (patch.budget !== undefined) sets.push(["budget", patch.budget]);
  for (const [column, value] of sets) {
    sql.exec(`UPDATE members SET ${column} = ? WHERE id = ? AND deleted_at IS NULL`, value, id);
  }
  return getMember(sql, id);
}

/** Deletes a member: it leaves every list, and its keys are revoked at once. */
export function deleteMember(sql: SqlStorage, id: string, now: number): boolean {
  if (!getMember(sql, id)) return false;
  sql.exec("UPDATE members SET deleted_at = ?, active = 0 WHERE id = ?", now, id);
  sql.exec("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE member_id = ?", now, id);
  return true;
}

export interface KeyRow {
  id: string;
  hash: string;
  prefix: string;
  role: Role;
  member_id: string | null;
  name: string | null;
  created_at: number;
  revoked_at: number | null;
  [key: string]: SqlStorageValue;
}

const keyView = (r: KeyRow): KeyView => ({
  id: r.id,
  role: r.role,
  memberId: r.member_id,
  name: r.name,
  prefix: r.prefix,
  createdAt: iso(r.created_at),
  revokedAt: isoOrNull(r.revoked_at),
});

export function keyByHash(sql: SqlStorage, hash: string): KeyRow | null {
  return sql.exec<KeyRow>("SELECT * FROM api_keys WHERE hash = ?", hash).toArray()[0] ?? null;
}

export function createKey(sql: SqlStorage, input: NewKey, now: number): KeyView {
  const id = newId("key");
  sql.exec(
    "INSERT INTO api_keys (id, hash, prefix, role, member_id, name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    id,
    input.hash,
    input.prefix,
    input.role,
    input.memberId,
    input.name,
    now,
  );
  return keyView(sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", id).one());
}

export function listKeys(sql: SqlStorage, limit: number, after: string | null): Page<KeyView> {
  return paginate(sql, "api_keys", limit, after, keyView);
}

/** Revokes a key; revoking twice keeps the first revocation time. */
export function revokeKey(sql: SqlStorage, id: string, now: number): KeyView | null {
  sql.exec("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?", now, id);
  const row = sql.exec<KeyRow>("SELECT * FROM api_keys WHERE id = ?", id).toArray()[0];
  return row ? keyView(row) : null;
}
