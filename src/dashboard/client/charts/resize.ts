/** uPlot charts that follow their container's width (ResizeObserver) and clean up after. */
import uPlot from "uplot";

export { OTHER_COLOUR, PALETTE } from "./palette";

export interface ChartHandle {
  destroy(): void;
}

/** The chart height for a container width: shorter on a phone. */
function heightFor(width: number): number {
  return Math.round(Math.max(200, Math.min(320, width * 0.45)));
}

/**
 * Draws a uPlot chart into `container`, sized to its width, and resizes it with the container.
 * The returned handle stops observing and destroys the chart.
 */
export function mountChart(
  container: HTMLElement,
  options: Omit<uPlot.Options, "width" | "height">,
  data: uPlot.AlignedData,
): ChartHandle {
  const width = Math.max(280, Math.floor(container.clientWidth));
  const chart = new uPlot({ ...options, width, height: heightFor(width) }, data, container);
  let last = width;
  const observer = new ResizeObserver((entries) => {
    const entry = entries[0];
    if (!entry) return;
    const next = Math.max(280, Math.floor(entry.contentRect.width));
    if (next === last) return;
    last = next;
    chart.setSize({ width: next, height: heightFor(next) });
  });
  observer.observe(container);
  return {
    destroy() {
      observer.disconnect();
      chart.destroy();
    },
  };
}

/** Axis text and grid colours, readable on white. */
export const AXIS = { stroke: "#3d4451", grid: { stroke: "#e3e6ea", width: 1 } };

/** Times on the charts are UTC, whatever the browser's zone. */
export function utc(ts: number): Date {
  return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC");
}
