/**
 * Reads that more than one part of the page makes: every team's detail (the overview's budgets
 * and the console's teams), and the value report with its outcomes.
 */
import { type Api, ApiError } from "./api";
import type { Range } from "./state";
import type { Attribution, Problem, Team, TeamDetail, ValueReport } from "./types";

/** Team details fetched at once. */
const TEAM_READS = 6;

/** A team's detail, or null when it was deleted since the list was read. */
async function teamDetail(api: Api, team: Team): Promise<TeamDetail | null> {
  try {
    return await api.get<TeamDetail>(`/v1/teams/${encodeURIComponent(team.id)}`);
  } catch (error) {
    if (error instanceof ApiError && error.problem.status === 404) return null;
    throw error;
  }
}

/**
 * Each team's rules and this period's spend (`GET /v1/teams/{id}`), a few reads at a time.
 * Stops early with null once `wanted` says the answer is no longer wanted (a newer load began).
 */
export async function teamDetails(
  api: Api,
  teams: readonly Team[],
  wanted: () => boolean = () => true,
): Promise<TeamDetail[] | null> {
  const details: TeamDetail[] = [];
  for (let i = 0; i < teams.length; i += TEAM_READS) {
    const batch = teams.slice(i, i + TEAM_READS);
    const found = await Promise.all(batch.map((t) => teamDetail(api, t)));
    for (const d of found) if (d) details.push(d);
    if (!wanted()) return null;
  }
  return details;
}

/**
 * The value report by action over a range (or the problem saying no value is set: 409), and the
 * outcomes attributed to its calls (null from a gateway without attribution).
 */
export async function valueReads(
  api: Api,
  range: Range,
): Promise<{ report: ValueReport | Problem; attribution: Attribution | null }> {
  const span = { from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString() };
  const [report, attribution] = await Promise.all([
    api.get<ValueReport>("/v1/usage/value", { group_by: "action", ...span }).catch((error) => {
      if (error instanceof ApiError && error.problem.status === 409) return error.problem;
      throw error;
    }),
    api
      .get<Attribution>("/v1/usage/attribution", { group_by: "action", ...span })
      .catch((error) => {
        if (error instanceof ApiError && error.problem.status === 404) return null;
        throw error;
      }),
  ]);
  return { report, attribution };
}
