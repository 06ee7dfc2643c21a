/**
 * The balance over the billing period: what was available at each day's end, a dashed
 * forecast from now to the projected depletion, and a marker at the period's end.
 */
import type uPlot from "uplot";
import { credits, dateTime } from "../format";
import type { BurnPoint } from "../types";
import { AXIS, type ChartHandle, mountChart, utc } from "./resize";

const BALANCE = "#1f5fa8";
const FORECAST = "#c2410c";
const MARKER = "#3d4451";

/** Draws a dashed vertical line at `at` (epoch ms) with a label. */
function marker(u: uPlot, at: number, label: string): void {
  const x = Math.round(u.valToPos(at / 1000, "x", true));
  const { top, height, left, width } = u.bbox;
  if (x < left - 1 || x > left + width + 1) return;
  const ctx = u.ctx;
  const ratio = window.devicePixelRatio || 1;
  ctx.save();
  ctx.strokeStyle = MARKER;
  ctx.lineWidth = ratio;
  ctx.setLineDash([4 * ratio, 4 * ratio]);
  ctx.beginPath();
  ctx.moveTo(x, top);
  ctx.lineTo(x, top + height);
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.fillStyle = MARKER;
  ctx.font = `${12 * ratio}px system-ui, sans-serif`;
  ctx.textAlign = "right";
  ctx.fillText(label, x - 4 * ratio, top + 14 * ratio);
  ctx.restore();
}

export function burndownChart(
  container: HTMLElement,
  points: BurnPoint[],
  periodEnd: number,
): ChartHandle {
  const xs = points.map((p) => p.at / 1000);
  const max = Math.max(1, ...points.map((p) => Math.max(p.balance ?? 0, p.forecast ?? 0)));
  const fmt = (_u: uPlot, v: number | null) => (v == null ? "–" : credits(Math.round(v)));
  return mountChart(
    container,
    {
      tzDate: utc,
      series: [
        { label: "Time (UTC)", value: (_u, v) => (v == null ? "–" : dateTime(v * 1000)) },
        {
          label: "Balance",
          stroke: BALANCE,
          width: 2,
          fill: "rgba(31, 95, 168, 0.08)",
          points: { show: true, size: 5, fill: BALANCE },
          value: fmt,
        },
        {
          label: "Forecast",
          stroke: FORECAST,
          width: 2,
          dash: [6, 4],
          points: { show: false },
          value: fmt,
        },
      ],
      scales: {
        x: { time: true, range: (_u, min, maxX) => [min, Math.max(maxX, periodEnd / 1000)] },
        y: { range: () => [0, max * 1.08] },
      },
      axes: [
        { ...AXIS, values: "{MMM} {D}" },
        { ...AXIS, size: 64, values: (_u, splits) => splits.map((v) => credits(v)) },
      ],
      hooks: { draw: [(u) => marker(u, periodEnd, "Period end")] },
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    },
    [xs, points.map((p) => p.balance), points.map((p) => p.forecast)],
  );
}
