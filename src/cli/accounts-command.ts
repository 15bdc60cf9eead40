import { InvalidArgumentError, type Command } from 'commander';
import { callAdmin } from './admin-client.js';
import { adminOptions } from './keys-command.js';
import { formatTable } from './print-table.js';

type Row = Record<string, unknown>;
const columns = ['id', 'name', 'currency', 'balance', 'created_at'];
const historyColumns = ['created_at', 'amount', 'balance_after', 'currency', 'note', 'id'];

/** A list prints as a JSON array, even of one account (scripts iterate it); one account as an object. */
function print(rows: Row[] | Row, json: boolean | undefined): void {
  if (json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else process.stdout.write(formatTable(columns, Array.isArray(rows) ? rows : [rows]));
}

function amount(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new InvalidArgumentError('expected a positive amount');
  return parsed;
}

/** `relay accounts create|list|show|history|topup`: accounts own keys and a balance. */
export function registerAccountsCommand(program: Command): void {
  const accounts = program.command('accounts').description('create, list and top up accounts of a running relay (admin API)');
  const options = adminOptions(accounts);

  accounts
    .command('create')
    .argument('<name>')
    .option('--currency <code>', 'USD, CNY or EUR', 'USD')
    .description('create an account (it starts with the configured signup credit)')
    .action(async (name: string, flags: { currency: string }) => {
      print((await callAdmin('/admin/accounts', { ...options(), method: 'POST', body: { name, currency: flags.currency.toUpperCase() } })).body as Row, options().json);
    });
  accounts.command('list').action(async () => print(((await callAdmin('/admin/accounts', options())).body as { data: Row[] }).data, options().json));
  accounts
    .command('show')
    .argument('<id>')
    .action(async (id: string) => print((await callAdmin(`/admin/accounts/${encodeURIComponent(id)}`, options())).body as Row, options().json));
  accounts
    .command('history')
    .argument('<id>')
    .option('--limit <n>', 'how many, newest first (default 50, at most 500)')
    .description('balance changes other than usage: opening balance, top-ups, corrections')
    .action(async (id: string, flags: { limit?: string }) => {
      const query = flags.limit === undefined ? '' : `?limit=${encodeURIComponent(flags.limit)}`;
      const rows = ((await callAdmin(`/admin/accounts/${encodeURIComponent(id)}/transactions${query}`, options())).body as { data: Row[] }).data;
      // A list, even of one.
      if (options().json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else process.stdout.write(formatTable(historyColumns, rows));
    });
  accounts
    .command('topup')
    .argument('<id>')
    .argument('<amount>', 'amount in units, e.g. 25.50', amount)
    .option('--currency <code>', "currency of the amount (default: the account's)")
    .option('--note <text>', 'why, for the balance history')
    .action(async (id: string, value: number, flags: { currency?: string; note?: string }) => {
      const body = { amount: value, currency: flags.currency?.toUpperCase(), note: flags.note };
      print((await callAdmin(`/admin/accounts/${encodeURIComponent(id)}/topup`, { ...options(), method: 'POST', body })).body as Row, options().json);
    });
}
