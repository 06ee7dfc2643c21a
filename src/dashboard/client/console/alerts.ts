/**
 * Alerts (issue 17): the alert settings (thresholds, spike, forecast, depletion, denial bursts),
 * the webhook with its signing secret shown once, and the delivery log, through
 * `/v1/alerts/settings`, `/v1/webhook` and `/v1/webhook/deliveries`.
 */
import { empty, h, table } from "../dom";
import { dateTime } from "../format";
import type { AlertSettings, Webhook, WebhookDelivery } from "../types";
import type { ConsoleContext } from "./context";
import { checkbox, fieldset, form, input, numberOf } from "./forms";
import { secretField } from "./keys";

/** "50, 80, 100" as numbers; a part that is not a number stays NaN, for the API to refuse. */
function thresholdsOf(text: string): number[] {
  return text
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "")
    .map(Number);
}

function settingsForm(ctx: ConsoleContext, s: AlertSettings): HTMLElement {
  const thresholds = input("Thresholds (% of credits used)", {
    name: "thresholds",
    value: s.thresholds.join(", "),
    hint: "Comma-separated percentages of a period's credits, e.g. 50, 80, 100; empty: none.",
  });
  const spike = checkbox("Spike alerts", "spike", s.spike.enabled);
  const factor = input("Spike factor", {
    name: "factor",
    type: "number",
    min: 1.5,
    max: 100,
    step: "0.1",
    value: String(s.spike.factor),
    hint: "An hour's spend this many times the usual hour's.",
  });
  const floor = input("Spike floor (credits)", {
    name: "floorCredits",
    type: "number",
    min: 0,
    step: "1",
    value: String(s.spike.floorCredits),
    hint: "Hours under this many credits never count as a spike.",
  });
  const forecast = checkbox("Forecast alerts", "forecast", s.forecast.enabled);
  const depleted = checkbox("Depletion alerts", "depleted", s.depleted.enabled);
  const burst = checkbox("Denial-burst alerts", "deniedBurst", s.deniedBurst.enabled);
  const burstCount = input("Denials in a burst", {
    name: "count",
    type: "number",
    min: 2,
    step: "1",
    value: String(s.deniedBurst.count),
  });
  const burstWindow = input("Burst window (minutes)", {
    name: "windowMinutes",
    type: "number",
    min: 1,
    max: 1440,
    step: "1",
    value: String(s.deniedBurst.windowMinutes),
  });
  return form({
    label: "Alert settings",
    submit: "Save alert settings",
    fields: [
      thresholds.field,
      fieldset("Spikes", spike.field, factor.field, floor.field),
      fieldset("Forecast and depletion", forecast.field, depleted.field),
      fieldset("Denial bursts", burst.field, burstCount.field, burstWindow.field),
    ],
    send: async () => {
      const body: AlertSettings = {
        thresholds: thresholdsOf(thresholds.control.value),
        spike: {
          enabled: spike.control.checked,
          factor: numberOf(factor.control) ?? Number.NaN,
          floorCredits: numberOf(floor.control) ?? Number.NaN,
        },
        forecast: { enabled: forecast.control.checked },
        depleted: { enabled: depleted.control.checked },
        deniedBurst: {
          enabled: burst.control.checked,
          count: numberOf(burstCount.control) ?? Number.NaN,
          windowMinutes: numberOf(burstWindow.control) ?? Number.NaN,
        },
      };
      await ctx.api.write<AlertSettings>("PUT", "/v1/alerts/settings", body);
      return "Alert settings saved: they apply from the next call on.";
    },
  }).form;
}

function settingsText(s: AlertSettings): HTMLElement {
  const on = (b: boolean) => (b ? "on" : "off");
  const lines = [
    `Thresholds: ${s.thresholds.length ? s.thresholds.map((t) => `${t}%`).join(", ") : "none"}`,
    `Spikes: ${on(s.spike.enabled)} (factor ${s.spike.factor}, floor ${s.spike.floorCredits} credits)`,
    `Forecast: ${on(s.forecast.enabled)}; depletion: ${on(s.depleted.enabled)}`,
    `Denial bursts: ${on(s.deniedBurst.enabled)} (${s.deniedBurst.count} in ${s.deniedBurst.windowMinutes} minutes)`,
  ];
  return h("ul", { class: "rules" }, ...lines.map((text) => h("li", { text })));
}

function webhookForm(ctx: ConsoleContext, hook: Webhook): HTMLElement {
  const url = input("Webhook URL", {
    name: "url",
    type: "url",
    value: hook.url ?? "",
    hint: "An https URL; each alert is POSTed to it, signed (Standard Webhooks).",
  });
  const secretBox = h("div");
  const built = form({
    label: "Webhook",
    submit: "Save webhook",
    fields: [url.field],
    send: async () => {
      const saved = await ctx.api.write<{ url: string; secret: string }>("PUT", "/v1/webhook", {
        url: url.control.value,
      });
      secretBox.replaceChildren(saved ? secretField("Signing secret", saved.secret) : "");
      return "Webhook saved, with a new signing secret.";
    },
  });
  return h("div", {}, built.form, secretBox);
}

function deliveriesTable(deliveries: WebhookDelivery[]): Node {
  if (deliveries.length === 0) return empty("No deliveries yet.");
  return table(
    "Webhook deliveries, newest first",
    ["Created", "Type", "State", "Attempts", "Last status", "Last error"],
    deliveries.map((d) => [
      dateTime(d.createdAt),
      d.type,
      d.state,
      String(d.attempts),
      d.lastStatus === null ? "–" : String(d.lastStatus),
      d.lastError ?? "–",
    ]),
    { class: "data", testid: "console-deliveries" },
  );
}

export function renderAlertSettings(
  ctx: ConsoleContext,
  settings: AlertSettings,
  hook: Webhook,
  deliveries: WebhookDelivery[],
): Node[] {
  const hookText = hook.url
    ? `Alerts are sent to ${hook.url} (secret ${hook.secretPrefix ?? "…"}…).`
    : "No webhook is set: alerts are kept here only.";
  return [
    h("h3", { text: "Alert settings" }),
    ctx.admin ? settingsForm(ctx, settings) : settingsText(settings),
    h("h3", { text: "Webhook" }),
    h("p", { text: hookText }),
    ctx.admin ? webhookForm(ctx, hook) : null,
    h("h3", { text: "Deliveries" }),
    deliveriesTable(deliveries),
  ].filter((n): n is HTMLElement => n !== null);
}
