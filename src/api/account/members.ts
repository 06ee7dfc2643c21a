/** Account API: members, each in one team with one seat kind. */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../lib/env";
import { ledgerOf } from "../../lib/env";
import { Problem } from "../../lib/problem";
import { validationHook } from "../../lib/validation";
import { accountAuth } from "../auth";
import {
  CreateMember,
  json,
  jsonBody,
  ListQuery,
  listOf,
  Member,
  problemResponses,
} from "../schemas";

const create = createRoute({
  method: "post",
  path: "/members",
  tags: ["members"],
  summary: "Create a member",
  middleware: [accountAuth("admin")] as const,
  request: { body: jsonBody(CreateMember) },
  responses: { 201: json(Member, "The new member"), ...problemResponses },
});

const list = createRoute({
  method: "get",
  path: "/members",
  tags: ["members"],
  summary: "List members",
  middleware: [accountAuth("admin", "finance")] as const,
  request: { query: ListQuery },
  responses: { 200: json(listOf(Member, "MemberList"), "A page of members"), ...problemResponses },
});

export function memberRoutes() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(create, async (c) => {
    const result = await ledgerOf(c.env, c.get("accountId")).createMember(c.req.valid("json"));
    if (!result.ok) throw Problem.from(result.problem);
    return c.json(result.value, 201);
  });
  app.openapi(list, async (c) => {
    const { limit, cursor } = c.req.valid("query");
    return c.json(
      await ledgerOf(c.env, c.get("accountId")).listMembers(limit, cursor ?? null),
      200,
    );
  });
  return app;
}
