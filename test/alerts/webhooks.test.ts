/**
 * Webhook delivery of alerts (issue 6): queued in the debit's transaction, sent by the alarm,
 * signed per Standard Webhooks (checked with the reference verifier), retried with backoff while
 * the receiver is down, delivered once it is up, none lost, none sent twice once delivered.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import type { AccountLedger } from "../../src/ledger/object";
import { WEBHOOK_MAX_ATTEMPTS } from "../../src/webhooks/deliver";
import {
  bearer,
  call,
  jsonCall,
  ledger,
  type ProblemBody,
  setupAccount,
  spend,
  type TestAccount,
} from "../support/api";

interface Received {
  headers: Record<string, string>;
  body: string;
}
interface Delivery {
  id: string;
  alertId: string;
  state: string;
  attempts: number;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
}

let hooks = 0;
/** A receiver path of its own, and the webhook of `acct` pointed at it. */
async function hookFor(acct: TestAccount) {
  const name = `h${Date.now().toString(36)}${++hooks}`;
  const res = await jsonCall<{ url: string; secret: string }>("/v1/webhook", {
    method: "PUT",
    headers: bearer(acct.adminKey),
    json: { url: `https://hooks.test/in/${name}` },
  });
  expect(res.status).toBe(200);
  return { name, secret: res.body.secret };
}

async function received(name: string): Promise<Received[]> {
  const res = await env.WEBHOOK_RECEIVER.fetch(`https://hooks.test/__received?name=${name}`);
  return (await res.json()) as Received[];
}

async function receiverDown(name: string, mode: "status" | "refuse" | "slow" | "off") {
  await env.WEBHOOK_RECEIVER.fetch(`https://hooks.test/__down?name=${name}&mode=${mode}`, {
    method: "POST",
  });
}

/** Runs delivery rounds (as the alarm does) until every delivery is delivered. */
async function everyDelivered(acct: TestAccount) {
  for (let round = 0; round < 20; round++) {
    const log = await deliveries(acct);
    if (log.every((d) => d.state === "delivered")) return;
    await runInDurableObject(ledger(acct.id), (i: AccountLedger) => i.deliverWebhooks());
  }
  throw new Error("deliveries never completed");
}

async function deliveries(acct: TestAccount): Promise<Delivery[]> {
  const res = await jsonCall<{ data: Delivery[] }>("/v1/webhook/deliveries?limit=200", {
    headers: bearer(acct.financeKey),
  });
  expect(res.status).toBe(200);
  return res.body.data;
}

/** Moves the ledger's clock to `at` and runs its alarm (deliveries due by then go out). */
async function alarmAt(acct: TestAccount, at: number) {
  await runInDurableObject(ledger(acct.id), (instance: AccountLedger) => {
    instance.clock = () => at;
  });
  await runInDurableObject(ledger(acct.id), (instance: AccountLedger) =>
    instance.deliverWebhooks(),
  );
}

/** Spends the starter account's 500 credits at once: 50, 80, 100 % and depleted fire. */
const drainAll = (acct: TestAccount) => spend(acct.memberKey, "/v1/test/drain?credits=500");

describe("webhook delivery of alerts (SPEC §8)", () => {
  it("queues in the debit's transaction, sends from the alarm, signed for the reference verifier", async () => {
    const acct = await setupAccount({ plan: "starter" });
    const hook = await hookFor(acct);
    // The receiver is slow: the call that fires the alerts does not wait for it.
    await receiverDown(hook.name, "slow");
    const started = Date.now();
    expect((await drainAll(acct)).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1_500);
    await receiverDown(hook.name, "off");
    const queued = await deliveries(acct);
    expect(queued).toHaveLength(4);
    await everyDelivered(acct);
    const got = await received(hook.name);
    expect(got).toHaveLength(4);
    const verifier = new Webhook(hook.secret);
    const types: string[] = [];
    for (const r of got) {
      const payload = verifier.verify(r.body, r.headers) as { type: string; data: { id: string } };
      types.push(payload.type);
      expect(queued.map((d) => d.id)).toContain(r.headers["webhook-id"]);
      expect(queued.find((d) => d.id === r.headers["webhook-id"])?.alertId).toBe(payload.data.id);
      // Tampered: the verifier refuses it.
      expect(() => verifier.verify(r.body.replace("threshold", "thresh0ld"), r.headers)).toThrow();
    }
    expect(types.sort()).toEqual([
      "alert.depleted",
      "alert.threshold",
      "alert.threshold",
      "alert.threshold",
    ]);
    const done = await deliveries(acct);
    expect(done.every((d) => d.state === "delivered")).toBe(true);
    // Another alarm sends nothing again.
    await runInDurableObject(ledger(acct.id), (i: AccountLedger) => i.deliverWebhooks());
    expect(await received(hook.name)).toHaveLength(4);
  });

  it("retries with backoff while the receiver is down, then delivers each alert once", async () => {
    const acct = await setupAccount({ plan: "starter" });
    const hook = await hookFor(acct);
    await receiverDown(hook.name, "status");
    const t0 = Date.now();
    expect((await drainAll(acct)).status).toBe(200);
    // The alarm set by the call, or this one: either way one attempt, refused.
    await alarmAt(acct, t0 + 1_000);
    let log = await deliveries(acct);
    expect(log.every((d) => d.state === "pending" && d.attempts === 1)).toBe(true);
    expect(log.every((d) => d.lastStatus === 503 && d.lastError === "HTTP 503")).toBe(true);
    // Backoff: due again about 30 s after the attempt (with jitter, 24 to 36 s), not before.
    for (const d of log) {
      const wait = Date.parse(d.nextAttemptAt ?? "") - Date.parse(d.lastAttemptAt ?? "");
      expect(wait).toBeGreaterThanOrEqual(24_000);
      expect(wait).toBeLessThanOrEqual(36_000);
    }
    await alarmAt(acct, t0 + 10_000);
    expect((await deliveries(acct)).every((d) => d.attempts === 1)).toBe(true);

    await receiverDown(hook.name, "refuse");
    await alarmAt(acct, t0 + 40_000);
    log = await deliveries(acct);
    expect(log.every((d) => d.attempts === 2 && d.lastStatus === null)).toBe(true);
    expect(log.every((d) => d.lastError !== null && !d.lastError.includes(hook.secret))).toBe(true);

    await receiverDown(hook.name, "off");
    await alarmAt(acct, t0 + 200_000);
    log = await deliveries(acct);
    expect(log.every((d) => d.state === "delivered" && d.attempts === 3)).toBe(true);
    const got = await received(hook.name);
    expect(got).toHaveLength(4);
    expect(new Set(got.map((r) => r.headers["webhook-id"]))).toEqual(new Set(log.map((d) => d.id)));
    await alarmAt(acct, t0 + 10_000_000);
    expect(await received(hook.name)).toHaveLength(4);
  });

  it(`gives up after ${WEBHOOK_MAX_ATTEMPTS} attempts and says so in the log`, async () => {
    const acct = await setupAccount({ plan: "starter" });
    const hook = await hookFor(acct);
    await receiverDown(hook.name, "status");
    const t0 = Date.now();
    expect((await drainAll(acct)).status).toBe(200);
    for (let i = 1; i <= WEBHOOK_MAX_ATTEMPTS + 2; i++) await alarmAt(acct, t0 + i * 8 * 3_600_000);
    const log = await deliveries(acct);
    expect(log.every((d) => d.state === "failed" && d.attempts === WEBHOOK_MAX_ATTEMPTS)).toBe(
      true,
    );
    expect(log.every((d) => d.nextAttemptAt === null)).toBe(true);
    expect(await received(hook.name)).toEqual([]);
  });

  it("sends nothing without a webhook, and refuses bad URLs, bad secrets and wrong roles", async () => {
    const acct = await setupAccount({ plan: "starter" });
    expect((await drainAll(acct)).status).toBe(200);
    expect(await deliveries(acct)).toEqual([]);
    const unset = { status: 200, body: { url: null, secretPrefix: null, updatedAt: null } };
    const none = await jsonCall("/v1/webhook", { headers: bearer(acct.adminKey) });
    expect(none).toMatchObject(unset);

    const bad = [
      { url: "http://hooks.test/in/x" },
      { url: "https://127.0.0.1/in/x" },
      { url: "https://gateway.test/v1/balance" },
      { url: "https://user:pw@hooks.test/in/x" },
      { url: "not a url" },
      { url: "https://hooks.test/in/x", secret: "plain" },
      { url: "https://hooks.test/in/x", secret: "whsec_c2hvcnQ=" },
      { url: "https://hooks.test/in/x", extra: 1 },
    ];
    for (const json of bad) {
      const res = await jsonCall<ProblemBody>("/v1/webhook", {
        method: "PUT",
        headers: bearer(acct.adminKey),
        json,
      });
      expect(res.status, JSON.stringify(json)).toBe(400);
    }
    for (const key of [acct.financeKey, acct.memberKey]) {
      const res = await jsonCall("/v1/webhook", {
        method: "PUT",
        headers: bearer(key),
        json: { url: "https://hooks.test/in/x" },
      });
      expect(res.status).toBe(403);
    }
    expect(await jsonCall("/v1/webhook", { headers: bearer(acct.adminKey) })).toMatchObject(unset);

    const hook = await hookFor(acct);
    const shown = await jsonCall<{ url: string; secretPrefix: string }>("/v1/webhook", {
      headers: bearer(acct.financeKey),
    });
    expect(shown.body.url).toBe(`https://hooks.test/in/${hook.name}`);
    expect(JSON.stringify(shown.body)).not.toContain(hook.secret);
    const removed = await call("/v1/webhook", { method: "DELETE", headers: bearer(acct.adminKey) });
    expect(removed.status).toBe(204);
    expect(await jsonCall("/v1/webhook", { headers: bearer(acct.adminKey) })).toMatchObject(unset);
  });

  it("is described in the OpenAPI document: payload, headers and the Alert schema", async () => {
    const doc = (await (await call("/openapi.json")).json()) as {
      webhooks?: Record<string, { post?: { requestBody?: unknown; parameters?: unknown[] } }>;
      components: { schemas: Record<string, unknown> };
    };
    const post = doc.webhooks?.alert?.post;
    expect(post).toBeDefined();
    expect(JSON.stringify(post?.requestBody)).toContain("#/components/schemas/AlertDelivery");
    const headers = (post?.parameters ?? []) as { name: string; in: string }[];
    expect(
      headers
        .filter((h) => h.in === "header")
        .map((h) => h.name)
        .sort(),
    ).toEqual(["webhook-id", "webhook-signature", "webhook-timestamp"]);
    expect(doc.components.schemas.AlertDelivery).toBeDefined();
    expect(doc.components.schemas.Alert).toBeDefined();
  });
});
