import type { FastifyInstance } from 'fastify';
import { RelayError } from '../../spec/relay-error.js';
import { isDateTime } from '../compile-request-validator.js';
import type { UsageRow } from '../../store/relay-store.js';
import type { RelayServices } from '../relay-services.js';

interface UsageQueryString {
  key?: string;
  account?: string;
  model?: string;
  from?: string;
  to?: string;
  group_by?: string;
}

const units = (micros: number) => micros / 1_000_000;

/** One report row: the store's sums, in units, with the savings against official prices (the seed's ROI). */
export function usageView(row: UsageRow) {
  const savings = row.officialCostMicros - row.costMicros;
  return {
    group: row.group,
    currency: row.currency,
    requests: row.requests,
    errors: row.errors,
    prompt_tokens: row.promptTokens,
    completion_tokens: row.completionTokens,
    cached_tokens: row.cachedTokens,
    cache_write_tokens: row.cacheWriteTokens,
    cost: units(row.costMicros),
    official_cost: units(row.officialCostMicros),
    savings: units(savings),
    savings_percent: row.officialCostMicros === 0 ? null : Math.round((savings / row.officialCostMicros) * 10_000) / 100,
  };
}

function parseTime(value: string | undefined, param: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  // A bare date means its start (from) or the start of the next day (to), in UTC.
  const time = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) + (param === 'to' ? 86_400_000 : 0) : Date.parse(value);
  if (Number.isNaN(time) || !namesRealDay(value)) {
    throw new RelayError(`Invalid value for '${param}': use an ISO date (2026-01-31) or date-time.`, { status: 400, type: 'invalid_request_error', code: 'invalid_request', param });
  }
  return time;
}

/** A date, and the hour of a date-time, as written: each must exist (Date.parse reads 2030-02-31 as March 3, T24 as the next day). */
const writtenDay = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}))?/;

function namesRealDay(value: string): boolean {
  const written = writtenDay.exec(value);
  return written === null || isDateTime(`${written[1]}-${written[2]}-${written[3]}T${written[4] ?? '00'}:00:00Z`);
}

const csvColumns = ['group', 'currency', 'requests', 'errors', 'prompt_tokens', 'completion_tokens', 'cached_tokens', 'cache_write_tokens', 'cost', 'official_cost', 'savings', 'savings_percent'] as const;

/**
 * The first characters that make a spreadsheet read a cell as a formula (OWASP's CSV injection
 * list: `=`, `+`, `-`, `@`, tab and carriage return; and NUL, which some strip before reading).
 */
const formulaStart = /^[=+\-@\t\r\0]/;

function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  // Quote what needs it, and defuse spreadsheet formulas in text cells (model names, key ids): a
  // number, negative savings among them, stays a number.
  const safe = typeof value === 'string' && formulaStart.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/**
 * `GET /admin/usage`: spend and tokens by day, model or key, filtered by key, account, model and time
 * range, with the official-price cost and the savings beside the relay's cost (the seed's ROI table
 * from real usage). JSON by default, CSV with `Accept: text/csv`.
 */
export function registerAdminUsage(app: FastifyInstance, services: RelayServices): void {
  app.get<{ Querystring: UsageQueryString }>('/admin/usage', async (request, reply) => {
    const query = request.query;
    const groupBy = query.group_by ?? 'day';
    if (groupBy !== 'day' && groupBy !== 'model' && groupBy !== 'key') {
      throw new RelayError(`Invalid value for 'group_by': use day, model or key.`, { status: 400, type: 'invalid_request_error', code: 'invalid_request', param: 'group_by' });
    }
    const from = parseTime(query.from, 'from');
    const to = parseTime(query.to, 'to');
    const rows = await services.store.ledger.usage({
      groupBy,
      ...(query.key ? { keyId: query.key } : {}),
      ...(query.account ? { accountId: query.account } : {}),
      ...(query.model ? { model: query.model } : {}),
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
    });
    const data = rows.map(usageView);
    if ((request.headers.accept ?? '').includes('text/csv')) {
      const lines = [csvColumns.join(','), ...data.map((row) => csvColumns.map((column) => csvCell(row[column])).join(','))];
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="usage-by-${groupBy}.csv"`)
        .send(`${lines.join('\r\n')}\r\n`);
    }
    const totals = new Map<string, UsageRow>();
    for (const row of rows) {
      const total = totals.get(row.currency) ?? { group: 'total', currency: row.currency, requests: 0, errors: 0, promptTokens: 0, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, costMicros: 0, officialCostMicros: 0 };
      total.requests += row.requests;
      total.errors += row.errors;
      total.promptTokens += row.promptTokens;
      total.completionTokens += row.completionTokens;
      total.cachedTokens += row.cachedTokens;
      total.cacheWriteTokens += row.cacheWriteTokens;
      total.costMicros += row.costMicros;
      total.officialCostMicros += row.officialCostMicros;
      totals.set(row.currency, total);
    }
    return { object: 'list', group_by: groupBy, data, totals: [...totals.values()].map(usageView) };
  });
}
