import type { Command } from 'commander';
import { callAdmin } from './admin-client.js';
import { adminOptions } from './keys-command.js';
import { formatTable } from './print-table.js';

type Row = Record<string, unknown>;
const columns = ['group', 'currency', 'requests', 'errors', 'prompt_tokens', 'completion_tokens', 'cached_tokens', 'cache_write_tokens', 'cost', 'official_cost', 'savings', 'savings_percent'];

/**
 * `relay usage`: spend by day, model or key with the official-price cost and the savings beside it
 * (the seed's ROI table from real usage), as a table, `--json` or `--csv`.
 */
export function registerUsageCommand(program: Command): void {
  const usage = program
    .command('usage')
    .description('spend and savings by day, model or key (admin API)')
    .option('--group-by <day|model|key>', 'grouping', 'day')
    .option('--key-id <id>', 'only this key')
    .option('--account <id>', 'only this account')
    .option('--model <name>', 'only this model')
    .option('--from <date>', 'from this ISO date or date-time (inclusive)')
    .option('--to <date>', 'to this ISO date (inclusive) or date-time (exclusive)')
    .option('--csv', 'print CSV');
  const options = adminOptions(usage);
  usage.action(async (flags: { groupBy: string; keyId?: string; account?: string; model?: string; from?: string; to?: string; csv?: boolean }) => {
    const query = new URLSearchParams({ group_by: flags.groupBy });
    for (const [name, value] of Object.entries({ key: flags.keyId, account: flags.account, model: flags.model, from: flags.from, to: flags.to })) if (value !== undefined) query.set(name, value);
    if (flags.csv) {
      process.stdout.write((await callAdmin(`/admin/usage?${query}`, { ...options(), accept: 'text/csv' })).text);
      return;
    }
    const { body } = await callAdmin(`/admin/usage?${query}`, options());
    const report = body as { data: Row[]; totals: Row[] };
    if (options().json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else process.stdout.write(formatTable(columns, [...report.data, ...report.totals]));
  });
}
