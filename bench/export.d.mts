/** Types of bench/export.mjs for the TypeScript tests that reuse its seeding statement. */
export function seedUsageSql(count: number): { sql: string; params: (string | number)[] };
