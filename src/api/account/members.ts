/** Account API: members, each in one team with one seat kind. */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { Problem } from "../../lib/problem";
import { accountAuth } from "../auth";
import type { AppEnv } from "../context";
import {
  CreateMember,
  IdParam,
  json,
  jsonBody,
  ListQuery,
  listOf,
  Member,
  PatchMember,
  problemResponses,
} from "../schemas";
import { validationHook } from "../validation";

const create = createRoute({
  method: "post",
  path: "/members",
  operationId: "createMember",
  tags: ["members"],
  summary: "Create a member",
  middleware: [accountAuth("admin")] as const,
  request: { body: jsonBody(CreateMember) },
  responses: { 201: json(Member, "The new member"), ...problemResponses },
});

const list = createRoute({
  method: "get",
  path: "/members",
  operationId: "listMembers",
  tags: ["members"],
  summary: "List members",
  middleware: [accountAuth("admin", "finance")] as const,
  request: { query: ListQuery },
  responses: { 200: json(listOf(Member, "MemberList"), "A page of members"), ...problemResponses },
});

const read = createRoute({
  method: "get",
  path: "/members/{id}",
  operationId: "getMember",
  tags: ["members"],
  summary: "A member",
  middleware: [accountAuth("admin", "finance")] as const,
  request: { params: IdParam },
  responses: { 200: json(Member, "The member"), ...problemResponses },
});

const patch = createRoute({
  method: "patch",
  path: "/members/{id}",
  operationId: "updateMember",
  tags: ["members"],
  summary: "Change a member's team, seat, active state or budget (effective on the next request)",
  middleware: [accountAuth("admin")] as const,
  request: { params: IdParam, body: jsonBody(PatchMember) },
  responses: { 200: json(Member, "The member"), ...problemResponses },
});

const remove = createRoute({
  method: "delete",
  path: "/members/{id}",
  operationId: "deleteMember",
  tags: ["members"],
  summary: "Delete a member and revoke its keys (usage history stays)",
  middleware: [accountAuth("admin")] as const,
  request: { params: IdParam },
  responses: { 204: { description: "Deleted" }, ...problemResponses },
});

const missing = (id: string) => new Problem("not_found", `Member ${id} does not exist.`);

export function memberRoutes() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(create, async (c) => {
    const result = await c.var.ledger.createMember(c.req.valid("json"));
    if (!result.ok) throw Problem.from(result.problem);
    return c.json(result.value, 201);
  });
  app.openapi(list, async (c) => {
    const { limit, cursor } = c.req.valid("query");
    return c.json(await c.var.ledger.listMembers(limit, cursor ?? null), 200);
  });
  app.openapi(read, async (c) => {
    const { id } = c.req.valid("param");
    const member = await c.var.ledger.getMember(id);
    if (!member) throw missing(id);
    return c.json(member, 200);
  });
  app.openapi(patch, async (c) => {
    const { id } = c.req.valid("param");
    const result = await c.var.ledger.updateMember(id, c.req.valid("json"));
    if (!result) throw missing(id);
    if (!result.ok) throw Problem.from(result.problem);
    return c.json(result.value, 200);
  });
  app.openapi(remove, async (c) => {
    const { id } = c.req.valid("param");
    if (!(await c.var.ledger.deleteMember(id))) throw missing(id);
    return c.body(null, 204);
  });
  return app;
}
