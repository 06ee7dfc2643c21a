/** Credits are integers in 0..10^12 everywhere (SPEC §5): amounts, budgets, prices and holds. */
export const MAX_CREDITS = 1_000_000_000_000;
