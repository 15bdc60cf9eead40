import { useMemo, useState } from 'preact/hooks';
import { useAdminApi } from '../admin-api-context';
import type { KeyView, ListOf, UsageReport, UsageView } from '../admin-types';
import { useAnnouncer } from '../announcer';
import { StatusLine } from '../components/status-line';
import { formatCount, formatMoney, formatPercent, utcDate } from '../format-values';
import { useAdminData } from '../use-admin-data';

interface UsageFilter {
  groupBy: 'day' | 'model' | 'key';
  key: string;
  model: string;
  from: string;
  to: string;
}

function queryOf(filter: UsageFilter): string {
  const query = new URLSearchParams({ group_by: filter.groupBy });
  if (filter.key !== '') query.set('key', filter.key);
  if (filter.model.trim() !== '') query.set('model', filter.model.trim());
  if (filter.from !== '') query.set('from', filter.from);
  if (filter.to !== '') query.set('to', filter.to);
  return query.toString();
}

/** Hands text to the browser as a file download, without a round trip through a URL that could be logged. */
function download(text: string, filename: string): void {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

function UsageRow(props: { row: UsageView; label: string }) {
  const row = props.row;
  return (
    <tr>
      <th scope="row">{props.label}</th>
      <td>{row.currency}</td>
      <td class="number">{formatCount(row.requests)}</td>
      <td class="number">{formatCount(row.errors)}</td>
      <td class="number">{formatCount(row.prompt_tokens)}</td>
      <td class="number">{formatCount(row.completion_tokens)}</td>
      <td class="number">{formatCount(row.cached_tokens)}</td>
      <td class="number">{formatCount(row.cache_write_tokens)}</td>
      <td class="number">{formatMoney(row.cost, row.currency)}</td>
      <td class="number">{formatMoney(row.official_cost, row.currency)}</td>
      <td class="number">{formatMoney(row.savings, row.currency)}</td>
      <td class="number">{formatPercent(row.savings_percent)}</td>
    </tr>
  );
}

/** Spend and tokens by key, model or day, filtered, with CSV export, from `GET /admin/usage`. */
export function UsagePage() {
  const api = useAdminApi();
  const announce = useAnnouncer();
  const [draft, setDraft] = useState<UsageFilter>({ groupBy: 'key', key: '', model: '', from: utcDate(29), to: utcDate(0) });
  const [filter, setFilter] = useState<UsageFilter>(draft);
  const report = useAdminData(() => api.get<UsageReport>(`/admin/usage?${queryOf(filter)}`), queryOf(filter));
  const keys = useAdminData(() => api.get<ListOf<KeyView>>('/admin/keys?include_revoked=true'), 'keys');
  const keyNames = useMemo(() => new Map((keys.data?.data ?? []).map((key) => [key.id, key.name])), [keys.data]);
  const labelOf = (group: string) => {
    if (filter.groupBy !== 'key') return group;
    if (group === '') return '(no key)';
    const name = keyNames.get(group);
    return name === undefined ? group : `${name} (${group})`;
  };
  const set = (name: keyof UsageFilter) => (event: Event) => setDraft({ ...draft, [name]: (event.currentTarget as HTMLInputElement).value });

  const exportCsv = async () => {
    try {
      download(await api.csv(`/admin/usage?${queryOf(filter)}`), `usage-by-${filter.groupBy}.csv`);
      announce('CSV exported.');
    } catch (error) {
      announce(`Export failed: ${(error as Error).message}`);
    }
  };

  return (
    <>
      <form
        class="card filters"
        aria-label="Usage filters"
        onSubmit={(event) => {
          event.preventDefault();
          setFilter(draft);
        }}
      >
        <div class="form-grid">
          <div class="field">
            <label for="usage-group">Group by</label>
            <select id="usage-group" value={draft.groupBy} onChange={set('groupBy')}>
              <option value="key">Key</option>
              <option value="model">Model</option>
              <option value="day">Day</option>
            </select>
          </div>
          <div class="field">
            <label for="usage-key">Key</label>
            <select id="usage-key" value={draft.key} onChange={set('key')}>
              <option value="">All keys</option>
              {(keys.data?.data ?? []).map((key) => (
                <option key={key.id} value={key.id}>
                  {key.name}
                  {key.revoked_at === null ? '' : ' (revoked)'}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="usage-model">Model</label>
            <input id="usage-model" placeholder="all models" value={draft.model} onInput={set('model')} />
          </div>
          <div class="field">
            <label for="usage-from">From (UTC day)</label>
            <input id="usage-from" type="date" value={draft.from} onInput={set('from')} />
          </div>
          <div class="field">
            <label for="usage-to">To (UTC day, included)</label>
            <input id="usage-to" type="date" value={draft.to} onInput={set('to')} />
          </div>
        </div>
        <div class="button-row">
          <button type="submit">Apply</button>
          <button type="button" class="secondary" onClick={exportCsv}>
            Export CSV
          </button>
        </div>
      </form>
      <section class="card" aria-labelledby="usage-title">
        <h2 id="usage-title">Usage by {filter.groupBy}</h2>
        <StatusLine loading={report.loading} error={report.error} hasData={report.data !== undefined} />
        {report.data !== undefined && report.data.data.length === 0 && <p class="muted">No requests match these filters.</p>}
        {report.data !== undefined && report.data.data.length > 0 && (
          <div class="table-scroll" tabIndex={0} role="region" aria-labelledby="usage-title">
            <table class="usage-table">
              <thead>
                <tr>
                  <th scope="col">{filter.groupBy === 'day' ? 'Day (UTC)' : filter.groupBy === 'model' ? 'Model' : 'Key'}</th>
                  <th scope="col">Currency</th>
                  <th scope="col">Requests</th>
                  <th scope="col">Errors</th>
                  <th scope="col">Prompt tokens</th>
                  <th scope="col">Completion tokens</th>
                  <th scope="col">Cached tokens</th>
                  <th scope="col">Cache writes</th>
                  <th scope="col">Cost</th>
                  <th scope="col">Official cost</th>
                  <th scope="col">Savings</th>
                  <th scope="col">Savings %</th>
                </tr>
              </thead>
              <tbody>
                {report.data.data.map((row) => (
                  <UsageRow key={`${row.group}/${row.currency}`} row={row} label={labelOf(row.group)} />
                ))}
              </tbody>
              <tfoot>
                {report.data.totals.map((row) => (
                  <UsageRow key={`total/${row.currency}`} row={row} label="Total" />
                ))}
              </tfoot>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
