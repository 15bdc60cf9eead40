import { compareText } from './compare-records.js';
import type { UsageRow } from './relay-store.js';

const millisecondsPerDay = 86_400_000;

/** The UTC date (`YYYY-MM-DD`) of the day with this index since the epoch. */
export function utcDayFromIndex(dayIndex: number): string {
  return new Date(dayIndex * millisecondsPerDay).toISOString().slice(0, 10);
}

/** The index since the epoch of the UTC day holding `epochMs`, as SQL's integer division computes it. */
export function utcDayIndex(epochMs: number): number {
  return Math.floor(epochMs / millisecondsPerDay);
}

/**
 * Orders rows by group, then currency, in code-unit order. Done in JavaScript rather than in SQL
 * because Postgres sorts text by the database's collation and SQLite by bytes.
 */
export function sortUsageRows(rows: UsageRow[]): UsageRow[] {
  return rows.sort((left, right) => compareText(left.group, right.group) || compareText(left.currency, right.currency));
}
