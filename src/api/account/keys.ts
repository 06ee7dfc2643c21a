/** Account API: keys. Admins create and revoke; secrets are shown once. */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { Problem } from "../../lib/problem";
import { accountAuth } from "../auth";
import type { AppEnv } from "../context";
import { issueKey } from "../keys-service";
import {
  CreatedKey,
  CreateKey,
  IdParam,
  json,
  jsonBody,
  Key,
  ListQuery,
  listOf,
  problemResponses,
} from "../schemas";
import { validationHook } from "../validation";

const create = createRoute({
  method: "post",
  path: "/keys",
  operationId: "createKey",
  tags: ["keys"],
  summary: "Create a key",
  middleware: [accountAuth("admin")] as const,
  request: { body: jsonBody(CreateKey) },
  responses: {
    201: json(CreatedKey, "The key; its secret is shown only here"),
    ...problemResponses,
  },
});

const list = createRoute({
  method: "get",
  path: "/keys",
  operationId: "listKeys",
  tags: ["keys"],
  summary: "List keys (never their secrets)",
  middleware: [accountAuth("admin")] as const,
  request: { query: ListQuery },
  responses: { 200: json(listOf(Key, "KeyList"), "A page of keys"), ...problemResponses },
});

const revoke = createRoute({
  method: "delete",
  path: "/keys/{id}",
  operationId: "revokeKey",
  tags: ["keys"],
  summary: "Revoke a key (effective on the next request)",
  middleware: [accountAuth("admin")] as const,
  request: { params: IdParam },
  responses: { 200: json(Key, "The revoked key"), ...problemResponses },
});

export function keyRoutes() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(create, async (c) =>
    c.json(await issueKey(c.env, c.get("accountId"), c.req.valid("json")), 201),
  );
  app.openapi(list, async (c) => {
    const { limit, cursor } = c.req.valid("query");
    return c.json(await c.var.ledger.listKeys(limit, cursor ?? null), 200);
  });
  app.openapi(revoke, async (c) => {
    const { id } = c.req.valid("param");
    const key = await c.var.ledger.revokeKey(id);
    if (!key) throw new Problem("not_found", `Key ${id} does not exist.`);
    return c.json(key, 200);
  });
  return app;
}
