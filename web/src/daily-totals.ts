import type { UsageView } from './admin-types';

/** A period's usage as one value per day (days without traffic are zeros), ready for charts. */
export interface DailyTotals {
  days: string[];
  requests: number[];
  errors: number[];
  promptTokens: number[];
  completionTokens: number[];
  /** In `currency` only: amounts in different currencies do not add up. */
  cost: number[];
  savings: number[];
}

/** Every UTC day from `from` to `to` (`YYYY-MM-DD`, both included). */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let time = Date.parse(`${from}T00:00:00Z`); time <= Date.parse(`${to}T00:00:00Z`); time += 86_400_000) days.push(new Date(time).toISOString().slice(0, 10));
  return days;
}

/** `GET /admin/usage?group_by=day` rows (one per day and currency) → one value per day. */
export function dailyTotals(rows: UsageView[], days: string[], currency: string | undefined): DailyTotals {
  const index = new Map(days.map((day, position) => [day, position]));
  const zeros = () => days.map(() => 0);
  const totals: DailyTotals = { days, requests: zeros(), errors: zeros(), promptTokens: zeros(), completionTokens: zeros(), cost: zeros(), savings: zeros() };
  for (const row of rows) {
    const position = index.get(row.group);
    if (position === undefined) continue;
    totals.requests[position] = (totals.requests[position] ?? 0) + row.requests;
    totals.errors[position] = (totals.errors[position] ?? 0) + row.errors;
    totals.promptTokens[position] = (totals.promptTokens[position] ?? 0) + row.prompt_tokens;
    totals.completionTokens[position] = (totals.completionTokens[position] ?? 0) + row.completion_tokens;
    if (row.currency === currency) {
      totals.cost[position] = (totals.cost[position] ?? 0) + row.cost;
      totals.savings[position] = (totals.savings[position] ?? 0) + row.savings;
    }
  }
  return totals;
}
