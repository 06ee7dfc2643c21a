/** Series colours, in a module of their own: pure code (derive.ts) imports them without uPlot. */

/** Colours with at least 3:1 contrast against the white chart background (WCAG 1.4.11). */
export const PALETTE = [
  "#1f5fa8",
  "#c2410c",
  "#15803d",
  "#7e22ce",
  "#b91c1c",
  "#0f766e",
  "#a16207",
  "#be185d",
];

export const OTHER_COLOUR = "#57606a";
