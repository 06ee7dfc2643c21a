/**
 * Exports of the selected range and filters as CSV or NDJSON. The file is fetched with the key
 * in the Authorization header (a link with the key in its URL would leak it into history and
 * logs), turned into a Blob and saved through an `<a download>` with an object URL.
 */
import type { Api } from "./api";
import { h } from "./dom";
import { type Filters, type Range, rangeSlug, usageParams } from "./state";

interface ExportUi {
  exportCsv: HTMLButtonElement;
  exportNdjson: HTMLButtonElement;
  exportStatus: HTMLElement;
}

const ACCEPT = { csv: "text/csv", ndjson: "application/x-ndjson" } as const;

export function exportName(format: "csv" | "ndjson", range: Range): string {
  return `creditgate-usage-${rangeSlug(range)}.${format}`;
}

export async function downloadExport(
  api: Api,
  format: "csv" | "ndjson",
  range: Range,
  filters: Filters,
  ui: ExportUi,
): Promise<void> {
  const buttons = [ui.exportCsv, ui.exportNdjson];
  for (const b of buttons) b.disabled = true;
  ui.exportStatus.textContent = `Preparing the ${format.toUpperCase()} export…`;
  try {
    const blob = await api.blob(
      "/v1/usage/events",
      { format, ...usageParams(range, filters) },
      ACCEPT[format],
    );
    const url = URL.createObjectURL(blob);
    const name = exportName(format, range);
    const link = h("a", { attrs: { href: url, download: name }, class: "visually-hidden" });
    document.body.append(link);
    link.click();
    link.remove();
    // Give the browser time to start saving before the URL goes away.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    ui.exportStatus.textContent = `Saved ${name}.`;
  } catch (error) {
    ui.exportStatus.textContent = "";
    throw error;
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}
