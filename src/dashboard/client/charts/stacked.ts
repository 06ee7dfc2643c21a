/**
 * Spend per day as stacked bars. uPlot does not stack: each series is given the cumulative sum
 * of its layer and the layers below it, and the series are drawn top layer first, so each
 * lower layer paints over the bottom of the taller bar before it. The legend and tooltip show
 * each series' own (unstacked) value.
 */
import uPlot from "uplot";
import { credits } from "../format";
import type { StackLayer } from "../types";
import { AXIS, type ChartHandle, mountChart, utc } from "./resize";

/** `days` are UTC dates (YYYY-MM-DD); `layers` bottom first. */
export function stackedBars(
  container: HTMLElement,
  days: string[],
  layers: StackLayer[],
): ChartHandle {
  const bars = uPlot.paths.bars;
  if (!bars) throw new Error("uPlot has no bar paths");
  const xs = days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
  // Cumulative sums, bottom layer first: stacked[i][d] = layers[0..i] on day d.
  const stacked: number[][] = [];
  layers.forEach((layer, i) => {
    const below = stacked[i - 1];
    stacked.push(layer.values.map((v, d) => v + (below?.[d] ?? 0)));
  });
  // Top layer first: drawn first, so the layers below paint over its lower part.
  const order = layers.map((_, i) => layers.length - 1 - i);
  const series: uPlot.Series[] = [
    {
      label: "Day (UTC)",
      value: (_u, v) => (v == null ? "–" : new Date(v * 1000).toISOString().slice(0, 10)),
    },
    ...order.map((i) => {
      const layer = layers[i] as StackLayer;
      return {
        label: layer.label,
        stroke: layer.colour,
        fill: layer.colour,
        width: 0,
        points: { show: false },
        paths: bars({ size: [0.72, 64], gap: 1, align: 0 }),
        value: (_u: uPlot, _v: number, _s: number, idx: number | null) =>
          idx == null ? "–" : credits(layer.values[idx] ?? 0),
      } satisfies uPlot.Series;
    }),
  ];
  const data: uPlot.AlignedData = [xs, ...order.map((i) => stacked[i] ?? [])];
  const half = 43_200;
  return mountChart(
    container,
    {
      tzDate: utc,
      series,
      scales: {
        x: { time: true, range: (_u, min, max) => [min - half, max + half] },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 10] },
      },
      axes: [
        { ...AXIS, values: "{MMM} {D}" },
        {
          ...AXIS,
          size: 64,
          values: (_u, splits) => splits.map((v) => credits(v)),
        },
      ],
      legend: { live: true },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
    },
    data,
  );
}
