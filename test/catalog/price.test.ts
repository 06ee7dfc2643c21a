import { describe, expect, it } from "vitest";
import {
  bundledCatalog,
  creditsFor,
  holdCredits,
  needsJsonBody,
  parseReportedUnits,
  unitsForRequest,
} from "../../src/catalog";

function demoAction(id: string) {
  const action = bundledCatalog.action(id);
  if (!action) throw new Error(`no demo action ${id}`);
  return action;
}

const company = demoAction("enrichment.company");
const intent = demoAction("prospecting.intent");
const generate = demoAction("ai.generate");
const agent = demoAction("ai.agent_conversation");
const smartProperty = demoAction("insights.smart_property");

const gw = "https://gw.test";
/** Response headers with the demo's metered header set, or not. */
const reported = (value: string | null) =>
  new Headers(value === null ? {} : { "X-Usage-Units": value });
const records = (n: number) => ({ records: Array.from({ length: n }, (_, i) => ({ id: i })) });

describe("unitsForRequest from the body", () => {
  it("counts the records", () => {
    expect(unitsForRequest(company.price, new URL(gw), records(3))).toEqual({ ok: true, units: 3 });
  });

  it("accepts exactly maxUnits records", () => {
    expect(unitsForRequest(company.price, new URL(gw), records(100))).toEqual({
      ok: true,
      units: 100,
    });
  });

  it.each([
    ["no records", records(0)],
    ["maxUnits + 1 records", records(101)],
    ["a non-array field", { records: { 0: "a", length: 1 } }],
    ["a string field", { records: "abc" }],
    ["a missing field", { other: [] }],
    ["an inherited field", Object.create({ records: [1] })],
    ["a top-level array", [1, 2]],
    ["null", null],
    ["a string body", "records"],
  ])("refuses %s", (_label, body) => {
    const result = unitsForRequest(company.price, new URL(gw), body);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.detail).toMatch(/records/);
  });

  it("says which actions need the JSON body", () => {
    expect(needsJsonBody(company)).toBe(true);
    expect(needsJsonBody(intent)).toBe(false);
    expect(needsJsonBody(generate)).toBe(false);
    expect(needsJsonBody(agent)).toBe(false);
  });
});

describe("unitsForRequest from the query", () => {
  const units = (query: string) =>
    unitsForRequest(intent.price, new URL(`${gw}/v1/prospecting/intent${query}`), null);

  it.each([
    ["?limit=1", 1],
    ["?limit=25", 25],
    ["?limit=100", 100],
    ["?topic=crm&limit=7", 7],
    ["?limit=%31%30", 10],
  ])("reads %s as %i units", (query, expected) => {
    expect(units(query)).toEqual({ ok: true, units: expected });
  });

  it.each([
    "",
    "?limit=",
    "?limit=0",
    "?limit=101",
    "?limit=1.5",
    "?limit=+3",
    "?limit=-3",
    "?limit=%2B3",
    "?limit=3e1",
    "?limit=0x10",
    "?limit=007",
    "?limit=%203",
    "?limit=99999999999999999999",
    "?limit=1&limit=100",
    "?limit=1&l%69mit=100",
    // A lookalike an upstream reading names case-insensitively could take instead (I7).
    "?limit=1&Limit=100",
    "?LIMIT=100&limit=1",
    "?limit=3&lImIt=100",
  ])("refuses %s", (query) => {
    const result = units(query);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.detail).toMatch(/limit/);
  });
});

describe("unitsForRequest for per-request and metered prices", () => {
  it("counts one unit per request", () => {
    expect(unitsForRequest(agent.price, new URL(gw), null)).toEqual({ ok: true, units: 1 });
    expect(unitsForRequest(smartProperty.price, new URL(gw), { anything: 1 })).toEqual({
      ok: true,
      units: 1,
    });
  });

  it("holds a metered action for its declared maximum", () => {
    expect(unitsForRequest(generate.price, new URL(gw), { prompt: "hi" })).toEqual({
      ok: true,
      units: 4000,
    });
  });
});

describe("creditsFor and holdCredits", () => {
  it("charges per record", () => {
    expect(creditsFor(company.price, 1)).toBe(10);
    expect(creditsFor(company.price, 100)).toBe(1000);
    expect(holdCredits(company.price, 3)).toBe(30);
    expect(creditsFor(demoAction("record_refresh.company").price, 500)).toBe(2500);
  });

  it("charges a flat price per request whatever the units", () => {
    expect(creditsFor(agent.price, 1)).toBe(100);
    expect(holdCredits(agent.price, 1)).toBe(100);
    expect(creditsFor(smartProperty.price, 1)).toBe(10);
  });

  it("rounds metered units up to whole blocks", () => {
    expect(creditsFor(generate.price, 0)).toBe(0);
    expect(creditsFor(generate.price, 1)).toBe(1);
    expect(creditsFor(generate.price, 100)).toBe(1);
    expect(creditsFor(generate.price, 101)).toBe(2);
    expect(creditsFor(generate.price, 4000)).toBe(40);
  });

  it("holds the metered maximum whatever the units", () => {
    expect(holdCredits(generate.price, 1)).toBe(40);
    expect(holdCredits(generate.price, 4000)).toBe(40);
  });

  it("refuses a unit count that is not a non-negative integer", () => {
    expect(() => creditsFor(company.price, -1)).toThrow(RangeError);
    expect(() => creditsFor(company.price, 1.5)).toThrow(RangeError);
    expect(() => creditsFor(company.price, Number.NaN)).toThrow(RangeError);
  });
});

describe("parseReportedUnits", () => {
  it.each([
    ["0", 0],
    ["1", 1],
    ["150", 150],
    ["007", 7],
    ["1000000000", 1_000_000_000],
  ])("reads %s as %i", (header, expected) => {
    expect(parseReportedUnits(generate.price, reported(header))).toBe(expected);
  });

  it.each([null, "", "-1", "1.5", "+1", "1 2", "1e3", "abc", "1000000001", "99999999999"])(
    "ignores %s",
    (header) => {
      expect(parseReportedUnits(generate.price, reported(header))).toBeNull();
    },
  );

  it("ignores the header for actions that are not metered", () => {
    expect(parseReportedUnits(company.price, reported("5"))).toBeNull();
    expect(parseReportedUnits(agent.price, reported("5"))).toBeNull();
  });

  it("reads the header the price names, not another", () => {
    const price = {
      credits: 1,
      per: 1,
      unit: { from: "response_header" as const, header: "X-Tokens-Used" },
      maxUnits: 10,
    };
    expect(parseReportedUnits(price, new Headers({ "x-tokens-used": "7" }))).toBe(7);
    expect(parseReportedUnits(price, reported("7"))).toBeNull();
  });
});
