import { useMemo, useState } from 'preact/hooks';
import { useAdminApi } from '../admin-api-context';
import type { UsageReport } from '../admin-types';
import { StatusLine } from '../components/status-line';
import { TimeSeriesChart, type ChartSeries } from '../components/time-series-chart';
import { dailyTotals, daysBetween } from '../daily-totals';
import { formatCompact, formatCount, formatMoney, formatPercent, utcDate } from '../format-values';
import { useAdminData } from '../use-admin-data';

const periods = [
  { days: 7, label: 'Last 7 days' },
  { days: 30, label: 'Last 30 days' },
  { days: 90, label: 'Last 90 days' },
];

/** Requests, errors, tokens, spend and savings for a period, from `GET /admin/usage?group_by=day`. */
export function OverviewPage() {
  const api = useAdminApi();
  const [periodDays, setPeriodDays] = useState(7);
  const [chosenCurrency, setChosenCurrency] = useState<string | undefined>(undefined);
  const from = utcDate(periodDays - 1);
  const to = utcDate(0);
  const report = useAdminData(() => api.get<UsageReport>(`/admin/usage?group_by=day&from=${from}&to=${to}`), `${from}/${to}`, 30_000);

  const totals = report.data?.totals ?? [];
  const currencies = totals.map((total) => total.currency);
  const currency = chosenCurrency !== undefined && currencies.includes(chosenCurrency as never) ? chosenCurrency : (currencies[0] ?? 'USD');
  const requests = totals.reduce((sum, total) => sum + total.requests, 0);
  const errors = totals.reduce((sum, total) => sum + total.errors, 0);
  const tokens = totals.reduce((sum, total) => sum + total.prompt_tokens + total.completion_tokens, 0);

  const daily = useMemo(() => dailyTotals(report.data?.data ?? [], daysBetween(from, to), currency), [report.data, from, to, currency]);
  const moneyFormat = useMemo(() => (value: number) => formatMoney(value, currency), [currency]);
  const trafficSeries = useMemo<ChartSeries[]>(
    () => [
      { label: 'Requests', values: daily.requests, colour: 'first' },
      { label: 'Errors', values: daily.errors, colour: 'danger' },
    ],
    [daily],
  );
  const tokenSeries = useMemo<ChartSeries[]>(
    () => [
      { label: 'Prompt tokens', values: daily.promptTokens, colour: 'first' },
      { label: 'Completion tokens', values: daily.completionTokens, colour: 'second' },
    ],
    [daily],
  );
  const moneySeries = useMemo<ChartSeries[]>(
    () => [
      { label: `Spend (${currency})`, values: daily.cost, colour: 'first' },
      { label: `Savings (${currency})`, values: daily.savings, colour: 'third' },
    ],
    [daily, currency],
  );

  return (
    <>
      <form class="toolbar" onSubmit={(event) => event.preventDefault()}>
        <div class="field">
          <label for="overview-period">Period</label>
          <select id="overview-period" value={periodDays} onChange={(event) => setPeriodDays(Number(event.currentTarget.value))}>
            {periods.map((period) => (
              <option key={period.days} value={period.days}>
                {period.label}
              </option>
            ))}
          </select>
        </div>
        {currencies.length > 1 && (
          <div class="field">
            <label for="overview-currency">Currency</label>
            <select id="overview-currency" value={currency} onChange={(event) => setChosenCurrency(event.currentTarget.value)}>
              {currencies.map((code) => (
                <option key={code}>{code}</option>
              ))}
            </select>
          </div>
        )}
        <button type="button" class="secondary" onClick={() => void report.reload()}>
          Refresh
        </button>
      </form>
      <p class="muted">
        {from} to {to} (UTC days). Requests that reached routing; refusals before it (bad key, limits) are not in the ledger.
      </p>
      <StatusLine loading={report.loading} error={report.error} hasData={report.data !== undefined} />
      <dl class="tiles" aria-label="Totals for the period">
        <div class="tile">
          <dt>Requests</dt>
          <dd data-testid="total-requests">{formatCount(requests)}</dd>
        </div>
        <div class="tile">
          <dt>Errors</dt>
          <dd data-testid="total-errors">
            {formatCount(errors)} <small>{requests === 0 ? '' : formatPercent((errors / requests) * 100)}</small>
          </dd>
        </div>
        <div class="tile">
          <dt>Tokens</dt>
          <dd>{formatCompact(tokens)}</dd>
        </div>
        <div class="tile">
          <dt>Spend</dt>
          <dd>{totals.length === 0 ? formatMoney(0, 'USD') : totals.map((total) => <span key={total.currency}>{formatMoney(total.cost, total.currency)}</span>)}</dd>
        </div>
        <div class="tile">
          <dt>Savings vs. official prices</dt>
          <dd>
            {totals.length === 0
              ? '—'
              : totals.map((total) => (
                  <span key={total.currency}>
                    {formatMoney(total.savings, total.currency)} <small>{formatPercent(total.savings_percent)}</small>
                  </span>
                ))}
          </dd>
        </div>
      </dl>
      <div class="charts">
        <TimeSeriesChart title="Requests and errors per day" days={daily.days} series={trafficSeries} format={formatCompact} integer />
        <TimeSeriesChart title="Tokens per day" days={daily.days} series={tokenSeries} format={formatCompact} integer />
        <TimeSeriesChart title={`Spend and savings per day (${currency})`} days={daily.days} series={moneySeries} format={moneyFormat} />
      </div>
    </>
  );
}
