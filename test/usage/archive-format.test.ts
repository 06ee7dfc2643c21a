/**
 * The archive's object format (src/usage/archive-format.ts, issue 19): a day's rows become the
 * NDJSON export's own lines, gzipped, with a manifest; reading them back gives D1's rows exactly,
 * and anything that would not (or that changed in storage) is refused.
 */
import { describe, expect, it } from "vitest";
import {
  type DayManifest,
  decodeDay,
  encodeDay,
  gunzip,
  lineOfRow,
  partKeys,
} from "../../src/usage/archive-format";
import { EVENT_COLUMNS, type UsageEvent } from "../../src/usage/event";
import { eventObject, type RawEvent } from "../../src/usage/events";
import { syntheticEvent } from "./outcome-support";

const DAY = "2026-10-04";

/** A captured call of DAY (hour `i`), with what the export has to carry: JSON columns, tags. */
function event(i: number, overrides: Partial<UsageEvent> = {}): UsageEvent {
  return syntheticEvent("acct_a", {
    occurredAt: `${DAY}T0${i % 10}:00:00.000Z`,
    grants: JSON.stringify([{ grantId: "grant_1", amount: 10 }]),
    price: JSON.stringify({ unit: "record", credits: 10 }),
    tags: JSON.stringify({ campaign: "q4" }),
    recordKeys: JSON.stringify(["k1"]),
    ...overrides,
  });
}

const rowOf = (e: UsageEvent): RawEvent => EVENT_COLUMNS.map(([field]) => e[field]);
const SEQ = EVENT_COLUMNS.findIndex(([field]) => field === "seq");

const DAY_ROWS: RawEvent[] = [
  rowOf(event(1)),
  rowOf(event(2, { outcome: "voided", credits: 0, grants: "[]", reason: "upstream_status" })),
  rowOf(
    event(3, {
      outcome: "denied",
      credits: 0,
      heldCredits: 0,
      grants: "[]",
      price: null,
      teamId: null,
      purpose: 'a "quoted", comma\nand line',
      tags: null,
      recordKeys: null,
    }),
  ),
  rowOf(event(4, { purpose: "=SUM(A1) ünïcødé ✓", credits: 25, units: 3 })),
];

describe("an archived day", () => {
  it("holds the NDJSON export's lines and reads back as D1's rows, with a true manifest", async () => {
    const { body, manifest } = await encodeDay("acct_a", DAY, DAY_ROWS);
    const text = new TextDecoder().decode(await gunzip(body));
    expect(text).toBe(DAY_ROWS.map((r) => `${JSON.stringify(eventObject(r))}\n`).join(""));
    expect(DAY_ROWS.map(lineOfRow)).toEqual(text.trimEnd().split("\n"));
    expect(await decodeDay(body, manifest)).toEqual(DAY_ROWS);
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    expect(manifest).toEqual({
      version: 1,
      accountId: "acct_a",
      day: DAY,
      events: 4,
      credits: { captured: 35, voided: 0, denied: 0 },
      firstSeq: DAY_ROWS[0]?.[SEQ],
      lastSeq: DAY_ROWS[3]?.[SEQ],
      firstAt: `${DAY}T01:00:00.000Z`,
      lastAt: `${DAY}T04:00:00.000Z`,
      sha256: [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join(""),
      bytes: new TextEncoder().encode(text).byteLength,
      compressedBytes: body.byteLength,
    });
  });

  it("lives under Hive-style account and day partitions, a part named by its first seq and hash", () => {
    const sha256 = "0123456789abcdef".repeat(4);
    expect(partKeys("acct a/b", DAY, { firstSeq: 1234, sha256 })).toEqual({
      events:
        "usage/v1/account=acct%20a%2Fb/day=2026-10-04/part-0000000000001234-0123456789abcdef.ndjson.gz",
      manifest:
        "usage/v1/account=acct%20a%2Fb/day=2026-10-04/part-0000000000001234-0123456789abcdef.manifest.json",
    });
  });

  it("refuses rows that are out of order, of another day, or would not read back exactly", async () => {
    const [a, b] = DAY_ROWS as [RawEvent, RawEvent];
    await expect(encodeDay("acct_a", DAY, [b, a])).rejects.toThrow(/out of order/);
    await expect(
      encodeDay("acct_a", DAY, [rowOf(event(1, { occurredAt: "2026-10-05T00:00:00.000Z" }))]),
    ).rejects.toThrow(/not of 2026-10-04/);
    // JSON the ledger would not have written (spaces) would come back re-serialised.
    await expect(encodeDay("acct_a", DAY, [rowOf(event(1, { grants: "[ ]" }))])).rejects.toThrow(
      /would not read back/,
    );
    await expect(encodeDay("acct_a", DAY, [])).rejects.toThrow(/no events/);
  });

  it("is refused on reading when its bytes or its manifest changed", async () => {
    const { body, manifest } = await encodeDay("acct_a", DAY, DAY_ROWS);
    const other = await encodeDay("acct_a", DAY, DAY_ROWS.slice(0, 3));
    await expect(decodeDay(other.body, manifest)).rejects.toThrow(/SHA-256/);
    const lying = (m: Partial<DayManifest>) => ({ ...manifest, ...m });
    await expect(decodeDay(body, lying({ events: 5 }))).rejects.toThrow(/count/);
    await expect(
      decodeDay(body, lying({ credits: { captured: 36, voided: 0, denied: 0 } })),
    ).rejects.toThrow(/captured credits/);
    const broken = body.slice();
    broken[broken.length - 9] = (broken[broken.length - 9] ?? 0) ^ 0xff;
    await expect(decodeDay(broken, manifest)).rejects.toThrow();
  });
});
