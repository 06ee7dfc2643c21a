/**
 * The top members and actions by credits (`GET /v1/usage/summary?group_by=member|action`),
 * the recent denials with their reasons (`GET /v1/usage/events?outcome=denied`, newest first)
 * and the recent alerts (`GET /v1/alerts`, newest first).
 */
import type { Ranked } from "../derive";
import { empty, h, table } from "../dom";
import { credits, dateTime, decimals } from "../format";
import type { Alert, UsageEvent } from "../types";
import type { Panel } from "./shell";

export function renderTop(
  panel: Panel,
  rows: Ranked[],
  what: "member" | "action",
  testid: string,
  labelOf: (key: string) => string,
): void {
  if (rows.length === 0) {
    panel.body.replaceChildren(
      h(
        "div",
        { testid },
        empty(
          "No usage in this range yet. Calls through the gateway will show here within a minute.",
        ),
      ),
    );
    return;
  }
  const heading = what === "member" ? "Member" : "Action";
  panel.body.replaceChildren(
    table(
      `Top ${what}s by credits in the selected range`,
      [heading, "Credits", "Calls", "Denied"],
      rows.map((r) => [labelOf(r.key), credits(r.credits), credits(r.calls), credits(r.denials)]),
      { class: "data", testid },
    ),
  );
}

/** "seat_required" -> "Seat required", with the code itself below. */
function reasonCell(reason: string | null): HTMLElement {
  if (reason === null) return h("span", { text: "–" });
  const words = reason.replaceAll("_", " ");
  return h(
    "span",
    { class: "wrap" },
    words.charAt(0).toUpperCase() + words.slice(1),
    h("span", { class: "note", text: reason }),
  );
}

export function renderDenials(
  panel: Panel,
  events: UsageEvent[],
  memberName: (id: string | null) => string,
): void {
  if (events.length === 0) {
    panel.body.replaceChildren(
      h(
        "div",
        { testid: "recent-denials" },
        empty("No denials in this range. Refused calls and their reasons will show here."),
      ),
    );
    return;
  }
  panel.body.replaceChildren(
    table(
      "The newest denied calls in the selected range, newest first",
      ["Time (UTC)", "Member", "Action", "Reason", "Request id"],
      events.map((e) => [
        dateTime(e.occurredAt),
        memberName(e.memberId),
        e.action,
        reasonCell(e.reason),
        e.requestId,
      ]),
      { class: "data", testid: "recent-denials" },
    ),
  );
}

const ALERT_KINDS: Record<string, string> = {
  threshold: "Threshold reached",
  spike: "Spend spike",
  forecast: "Runs out before the period ends",
  depleted: "Credits depleted",
  denied_burst: "Burst of denials",
};

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d/;

function alertDetail(alert: Alert): string {
  const parts = Object.entries(alert.detail).map(([name, value]) => {
    const text =
      typeof value === "number"
        ? Number.isInteger(value)
          ? credits(value)
          : decimals(value)
        : value !== null && ISO_TIME.test(value)
          ? dateTime(value)
          : (value ?? "–");
    return `${name}: ${text}`;
  });
  if (alert.threshold !== null) parts.unshift(`threshold: ${alert.threshold}%`);
  return parts.join(", ");
}

export function renderAlerts(
  panel: Panel,
  alerts: Alert[],
  scopeName: (alert: Alert) => string,
): void {
  if (alerts.length === 0) {
    panel.body.replaceChildren(
      h(
        "div",
        { testid: "recent-alerts" },
        empty(
          "No alerts yet. Thresholds, spikes, forecasts and denial bursts will show here when they fire.",
        ),
      ),
    );
    return;
  }
  panel.body.replaceChildren(
    table(
      "The newest alerts, newest first",
      ["Fired (UTC)", "Alert", "Scope", "Detail"],
      alerts.map((a) => [
        dateTime(a.firedAt),
        ALERT_KINDS[a.kind] ?? a.kind,
        scopeName(a),
        h("span", { class: "wrap", text: alertDetail(a) }),
      ]),
      { class: "data", testid: "recent-alerts" },
    ),
  );
}
