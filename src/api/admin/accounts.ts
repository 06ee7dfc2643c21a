/** Operator: create, list, read and change accounts. D1 holds the directory; the ledger enforces. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { eq, gt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Catalog } from "../../catalog";
import { accounts } from "../../db/schema";
import { ledgerClient } from "../../ledger/client";
import { randomToken } from "../../lib/ids";
import { Problem } from "../../lib/problem";
import type { AppEnv } from "../context";
import {
  Account,
  CreateAccount,
  conflictResponse,
  IdParam,
  json,
  jsonBody,
  ListQuery,
  listOf,
  PatchAccount,
  problemResponses,
  SetAddOns,
} from "../schemas";
import { validationHook } from "../validation";

/** The directory's view of an account: what D1 holds, without the ledger's policy. */
const AccountSummary = Account.omit({ policy: true, overagePolicy: true, addOns: true }).openapi(
  "AccountSummary",
);

const AccountDetail = Account.extend({
  outbox: z.object({
    pending: z.number().int(),
    flushedEvents: z.number().int(),
    flushWrites: z.number().int(),
    failures: z.number().int(),
    lastError: z.string().nullable(),
    oldestPendingAt: z.string().nullable(),
  }),
}).openapi("AccountDetail");

const create = createRoute({
  method: "post",
  path: "/accounts",
  operationId: "createAccount",
  tags: ["operator"],
  summary: "Create an account",
  request: { body: jsonBody(CreateAccount) },
  responses: {
    201: json(Account, "The new account"),
    409: conflictResponse("The account exists already (`conflict`)"),
    ...problemResponses,
  },
});

const list = createRoute({
  method: "get",
  path: "/accounts",
  operationId: "listAccounts",
  tags: ["operator"],
  summary: "List accounts",
  request: { query: ListQuery },
  responses: {
    200: json(listOf(AccountSummary, "AccountList"), "A page of accounts"),
    ...problemResponses,
  },
});

const read = createRoute({
  method: "get",
  path: "/accounts/{id}",
  operationId: "getAccount",
  tags: ["operator"],
  summary: "Read an account, with its outbox state",
  request: { params: IdParam },
  responses: { 200: json(AccountDetail, "The account"), ...problemResponses },
});

const patch = createRoute({
  method: "patch",
  path: "/accounts/{id}",
  operationId: "updateAccount",
  tags: ["operator"],
  summary: "Change an account's name, plan or policy (effective on the next request)",
  request: { params: IdParam, body: jsonBody(PatchAccount) },
  responses: { 200: json(Account, "The account"), ...problemResponses },
});

const putAddOns = createRoute({
  method: "put",
  path: "/accounts/{id}/add-ons",
  operationId: "setAccountAddOns",
  tags: ["operator"],
  summary:
    "Replace the recurring add-ons an account holds (more: credited at once; fewer: from the next period)",
  request: { params: IdParam, body: jsonBody(SetAddOns) },
  responses: { 200: json(Account, "The account"), ...problemResponses },
});

/** Throws 404 unless the directory lists the account. */
export async function requireAccount(env: Env, id: string) {
  const row = await drizzle(env.DB).select().from(accounts).where(eq(accounts.id, id)).get();
  if (!row) throw new Problem("not_found", `Account ${id} does not exist.`);
  return row;
}

export function accountAdminRoutes(catalog: Catalog) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.openapi(create, async (c) => {
    const input = c.req.valid("json");
    const id = input.id ?? `acct-${randomToken(12)}`;
    const db = drizzle(c.env.DB);
    if (await db.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, id)).get()) {
      throw new Problem("conflict", `Account ${id} already exists.`);
    }
    const anchor = input.billingAnchorDay ?? new Date().getUTCDate();
    // The ledger first: if D1 fails after it, retrying the same creation is harmless.
    const account = await ledgerClient(c.env, id).createAccount({
      id,
      name: input.name,
      plan: input.plan,
      billingAnchorDay: anchor,
    });
    if (
      account.name !== input.name ||
      account.plan !== input.plan ||
      account.billingAnchorDay !== anchor
    ) {
      throw new Problem("conflict", `Account ${id} already exists with other settings.`);
    }
    await db.insert(accounts).values({
      id,
      name: account.name,
      plan: account.plan,
      billingAnchorDay: account.billingAnchorDay,
      createdAt: account.createdAt,
      updatedAt: account.updatedAt,
    });
    c.get("log").account = id;
    return c.json(account, 201);
  });

  app.openapi(list, async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const db = drizzle(c.env.DB);
    const rows = await db
      .select()
      .from(accounts)
      .where(cursor ? gt(accounts.id, cursor) : undefined)
      .orderBy(accounts.id)
      .limit(limit + 1)
      .all();
    const page = rows.slice(0, limit);
    const now = new Date().toISOString();
    const data = page.map(({ pendingPlan, pendingFrom, ...row }) => {
      // A smaller plan takes over at the period's end, whether or not the ledger rolled yet.
      if (pendingPlan === null || pendingFrom === null) return { ...row, pendingPlan: null };
      if (pendingFrom <= now) return { ...row, plan: pendingPlan, pendingPlan: null };
      return { ...row, pendingPlan: { plan: pendingPlan, from: pendingFrom } };
    });
    return c.json(
      { data, nextCursor: rows.length > limit ? (page[page.length - 1]?.id ?? null) : null },
      200,
    );
  });

  app.openapi(read, async (c) => {
    const { id } = c.req.valid("param");
    await requireAccount(c.env, id);
    const ledger = ledgerClient(c.env, id);
    const [account, stats] = await Promise.all([ledger.getAccount(), ledger.outboxStats()]);
    if (!account) throw new Problem("not_found", `Account ${id} has no ledger.`);
    return c.json(
      {
        ...account,
        outbox: {
          pending: stats.pending,
          flushedEvents: stats.flushedEvents,
          flushWrites: stats.flushWrites,
          failures: stats.failures,
          lastError: stats.lastError,
          oldestPendingAt:
            stats.oldestPendingAt === null ? null : new Date(stats.oldestPendingAt).toISOString(),
        },
      },
      200,
    );
  });

  app.openapi(patch, async (c) => {
    const { id } = c.req.valid("param");
    const input = c.req.valid("json");
    await requireAccount(c.env, id);
    const { name, plan, ...policy } = input;
    const unknown = Object.keys(policy.actionCaps ?? {}).filter((a) => !catalog.action(a));
    if (unknown.length > 0) {
      throw new Problem(
        "validation_failed",
        `actionCaps names unknown actions: ${unknown.join(", ")}.`,
        {
          field: "actionCaps",
        },
      );
    }
    const account = await ledgerClient(c.env, id).updateAccount({
      name,
      plan,
      policy: Object.keys(policy).length > 0 ? policy : undefined,
    });
    if (!account) throw new Problem("not_found", `Account ${id} has no ledger.`);
    await drizzle(c.env.DB)
      .update(accounts)
      .set({
        name: account.name,
        plan: account.plan,
        pendingPlan: account.pendingPlan?.plan ?? null,
        pendingFrom: account.pendingPlan?.from ?? null,
        updatedAt: account.updatedAt,
      })
      .where(eq(accounts.id, id));
    return c.json(account, 200);
  });

  app.openapi(putAddOns, async (c) => {
    const { id } = c.req.valid("param");
    await requireAccount(c.env, id);
    const account = await ledgerClient(c.env, id).setAddOns(c.req.valid("json").addOns);
    if (!account) throw new Problem("not_found", `Account ${id} has no ledger.`);
    return c.json(account, 200);
  });

  return app;
}
