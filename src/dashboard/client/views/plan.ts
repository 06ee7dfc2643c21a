/**
 * The plan panel: the account's plan and what it issues, the add-ons it holds, and the price
 * changes to come (GET /v1/catalog and GET /v1/account), so a person sees what will cost what.
 */
import { h } from "../dom";
import { day, credits as formatInt } from "../format";
import type { Account, AccountCatalog, CatalogPrice } from "../types";
import type { Panel } from "./shell";

export function priceText(price: CatalogPrice): string {
  if (!("unit" in price) || !price.unit) return `${formatInt(price.credits)} per call`;
  const per = price.per && price.per !== 1 ? `${formatInt(price.per)} units` : "unit";
  return `${formatInt(price.credits)} per ${per}`;
}

export function renderPlan(panel: Panel, account: Account, catalog: AccountCatalog): void {
  const { plan } = catalog;
  const lines: HTMLElement[] = [
    h("p", {
      testid: "plan-name",
      text: `${plan.name} (${plan.id}): ${formatInt(plan.includedCredits)} credits every period, ${catalog.included.length} action${catalog.included.length === 1 ? "" : "s"} included.`,
    }),
  ];
  if (account.pendingPlan) {
    lines.push(
      h("p", {
        text: `Moves to ${account.pendingPlan.plan} on ${day(account.pendingPlan.from)}.`,
      }),
    );
  }
  const addOns = account.addOns ?? [];
  lines.push(
    h("p", {
      testid: "plan-add-ons",
      text:
        addOns.length > 0
          ? `Add-ons: ${addOns.map((a) => `${a.id} × ${a.quantity}`).join(", ")}.`
          : "No add-ons.",
    }),
  );
  const changes = catalog.included.flatMap((a) =>
    a.priceChanges.map((c) => ({ action: a.id, from: c.from, now: a.price, next: c.price })),
  );
  if (changes.length === 0) {
    lines.push(h("p", { class: "hint", text: "No price changes scheduled." }));
  } else {
    lines.push(
      h(
        "ul",
        { testid: "price-changes", attrs: { "aria-label": "Scheduled price changes" } },
        ...changes.map((c) =>
          h("li", {
            text: `${c.action}: ${priceText(c.now)} now, ${priceText(c.next)} from ${day(c.from)}`,
          }),
        ),
      ),
    );
  }
  panel.body.replaceChildren(...lines);
}
