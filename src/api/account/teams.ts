/** Account API: teams. */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/env";
import { ledgerOf } from "../../lib/env";
import { validationHook } from "../../lib/validation";
import { accountAuth } from "../auth";
import { CreateTeam, json, jsonBody, ListQuery, listOf, problemResponses, Team } from "../schemas";

const create = createRoute({
  method: "post",
  path: "/teams",
  tags: ["teams"],
  summary: "Create a team",
  middleware: [accountAuth("admin")] as const,
  request: { body: jsonBody(CreateTeam) },
  responses: { 201: json(Team, "The new team"), ...problemResponses },
});

const list = createRoute({
  method: "get",
  path: "/teams",
  tags: ["teams"],
  summary: "List teams",
  middleware: [accountAuth("admin", "finance")] as const,
  request: { query: ListQuery },
  responses: { 200: json(listOf(Team, "TeamList"), "A page of teams"), ...problemResponses },
});

export function teamRoutes() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(create, async (c) => {
    const team = await ledgerOf(c.env, c.get("accountId")).createTeam(c.req.valid("json").name);
    return c.json(team, 201);
  });
  app.openapi(list, async (c) => {
    const { limit, cursor } = c.req.valid("query");
    return c.json(await ledgerOf(c.env, c.get("accountId")).listTeams(limit, cursor ?? null), 200);
  });
  return app;
}
