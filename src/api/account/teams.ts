/** Account API: teams and their rules. */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { Problem } from "../../lib/problem";
import { accountAuth } from "../auth";
import type { AppEnv } from "../context";
import {
  CreateTeam,
  conflictResponse,
  IdParam,
  json,
  jsonBody,
  ListQuery,
  listOf,
  PatchTeam,
  problemResponses,
  Team,
  TeamDetail,
  TeamRules,
} from "../schemas";
import { validationHook } from "../validation";

const readers = accountAuth("admin", "finance");
const admins = accountAuth("admin");

const create = createRoute({
  method: "post",
  path: "/teams",
  operationId: "createTeam",
  tags: ["teams"],
  summary: "Create a team",
  middleware: [admins] as const,
  request: { body: jsonBody(CreateTeam) },
  responses: { 201: json(Team, "The new team"), ...problemResponses },
});

const list = createRoute({
  method: "get",
  path: "/teams",
  operationId: "listTeams",
  tags: ["teams"],
  summary: "List teams",
  middleware: [readers] as const,
  request: { query: ListQuery },
  responses: { 200: json(listOf(Team, "TeamList"), "A page of teams"), ...problemResponses },
});

const read = createRoute({
  method: "get",
  path: "/teams/{id}",
  operationId: "getTeam",
  tags: ["teams"],
  summary: "A team with its rules and this period's spend",
  middleware: [readers] as const,
  request: { params: IdParam },
  responses: { 200: json(TeamDetail, "The team"), ...problemResponses },
});

const patch = createRoute({
  method: "patch",
  path: "/teams/{id}",
  operationId: "updateTeam",
  tags: ["teams"],
  summary: "Rename a team",
  middleware: [admins] as const,
  request: { params: IdParam, body: jsonBody(PatchTeam) },
  responses: { 200: json(Team, "The team"), ...problemResponses },
});

const remove = createRoute({
  method: "delete",
  path: "/teams/{id}",
  operationId: "deleteTeam",
  tags: ["teams"],
  summary: "Delete a team that has no members (409 otherwise)",
  middleware: [admins] as const,
  request: { params: IdParam },
  responses: {
    204: { description: "Deleted" },
    409: conflictResponse("The team still has members (`conflict`)"),
    ...problemResponses,
  },
});

const readRules = createRoute({
  method: "get",
  path: "/teams/{id}/rules",
  operationId: "getTeamRules",
  tags: ["rules"],
  summary: "A team's rules",
  middleware: [readers] as const,
  request: { params: IdParam },
  responses: { 200: json(TeamRules, "The rules"), ...problemResponses },
});

const putRules = createRoute({
  method: "put",
  path: "/teams/{id}/rules",
  operationId: "replaceTeamRules",
  tags: ["rules"],
  summary: "Replace a team's rules (effective on the next request)",
  middleware: [admins] as const,
  request: { params: IdParam, body: jsonBody(TeamRules) },
  responses: { 200: json(TeamRules, "The rules"), ...problemResponses },
});

const missing = (id: string) => new Problem("not_found", `Team ${id} does not exist.`);

export function teamRoutes() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(create, async (c) => {
    const team = await c.var.ledger.createTeam(c.req.valid("json").name);
    return c.json(team, 201);
  });
  app.openapi(list, async (c) => {
    const { limit, cursor } = c.req.valid("query");
    return c.json(await c.var.ledger.listTeams(limit, cursor ?? null), 200);
  });
  app.openapi(read, async (c) => {
    const { id } = c.req.valid("param");
    const team = await c.var.ledger.getTeam(id);
    if (!team) throw missing(id);
    return c.json(team, 200);
  });
  app.openapi(patch, async (c) => {
    const { id } = c.req.valid("param");
    const team = await c.var.ledger.renameTeam(id, c.req.valid("json").name);
    if (!team) throw missing(id);
    return c.json(team, 200);
  });
  app.openapi(remove, async (c) => {
    const { id } = c.req.valid("param");
    const result = await c.var.ledger.deleteTeam(id);
    if (!result) throw missing(id);
    if (!result.ok) throw Problem.from(result.problem);
    return c.body(null, 204);
  });
  app.openapi(readRules, async (c) => {
    const { id } = c.req.valid("param");
    const rules = await c.var.ledger.getTeamRules(id);
    if (!rules) throw missing(id);
    return c.json(rules, 200);
  });
  app.openapi(putRules, async (c) => {
    const { id } = c.req.valid("param");
    const rules = await c.var.ledger.setTeamRules(id, c.req.valid("json"));
    if (!rules) throw missing(id);
    return c.json(rules, 200);
  });
  return app;
}
