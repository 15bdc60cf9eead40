import { InvalidArgumentError, type Command } from 'commander';
import { callAdmin, type AdminClientOptions } from './admin-client.js';
import { formatTable } from './print-table.js';

type Row = Record<string, unknown>;

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return parsed;
}

/** `--budget 10:USD:monthly` → the admin API's budget object. */
function budget(value: string): { amount: number; currency: string; period: string } {
  const [amount, currency = 'USD', period = 'monthly'] = value.split(':');
  if (amount === undefined || !Number.isFinite(Number(amount))) throw new InvalidArgumentError('expected AMOUNT[:CURRENCY[:PERIOD]], e.g. 10:USD:monthly');
  return { amount: Number(amount), currency: currency.toUpperCase(), period };
}

const keyColumns = ['id', 'name', 'prefix', 'account', 'models', 'rpm', 'tpm', 'max_parallel', 'budget', 'expires_at', 'revoked_at'];

/** Adds the options every admin command shares and returns a reader for them. */
export function adminOptions(command: Command): () => AdminClientOptions & { json?: boolean } {
  command.option('--url <url>', 'relay base URL, as clients use it or without /v1 (default RELAY_URL or http://127.0.0.1:$PORT)').option('--key <key>', 'master key (default RELAY_MASTER_KEY, else the key a relay generated in its data directory: RELAY_DATA_DIR, ./data)').option('--json', 'print JSON');
  return () => command.opts<AdminClientOptions & { json?: boolean }>();
}

/** A list prints as a JSON array, even of one key (scripts iterate it); one key (`show`, `update`…) as an object. */
function printKeys(rows: Row[] | Row, json: boolean | undefined): void {
  if (json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else if (!Array.isArray(rows)) printKeys([rows], json);
  else process.stdout.write(formatTable(keyColumns, rows.map((row) => ({ ...row, budget: row.budget === null ? null : `${(row.budget as Row).amount} ${(row.budget as Row).currency}/${(row.budget as Row).period}` }))));
}

/** `relay keys create|update|list|show|revoke|rotate`: the admin API's keys, from a terminal. */
export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description('create and manage client keys of a running relay (admin API)');
  const options = adminOptions(keys);

  keys
    .command('create')
    .argument('<name>')
    .description('create a key; its secret is printed once')
    .option('--account <id>', 'account that pays for it')
    .option('--models <globs>', 'comma-separated models or globs it may use', (value: string) => value.split(',').map((model) => model.trim()))
    .option('--rpm <n>', 'requests per minute', positiveInteger)
    .option('--tpm <n>', 'tokens per minute', positiveInteger)
    .option('--max-parallel <n>', 'requests in flight at once', positiveInteger)
    .option('--budget <amount:currency:period>', 'spend limit, e.g. 10:USD:monthly (daily, monthly or total)', budget)
    .option('--expires-at <date>', 'ISO date-time after which it is refused')
    .action(async (name: string, flags: { account?: string; models?: string[]; rpm?: number; tpm?: number; maxParallel?: number; budget?: Row; expiresAt?: string }) => {
      const { body } = await callAdmin('/admin/keys', {
        ...options(),
        method: 'POST',
        body: { name, account: flags.account, models: flags.models, rpm: flags.rpm, tpm: flags.tpm, max_parallel: flags.maxParallel, budget: flags.budget, expires_at: flags.expiresAt },
      });
      const created = body as Row;
      if (options().json) process.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
      else process.stdout.write(`created ${created.id} (${created.name})\nkey: ${created.key}\nStore it now: the relay keeps only its hash and cannot show it again.\n`);
    });

  const update = keys
    .command('update')
    .argument('<id>')
    .description("change a key's settings in place (its secret stays); --no-<setting> clears one")
    .option('--name <name>', 'new name')
    .option('--account <id>', 'account that pays for it')
    .option('--no-account', 'charge no account (only metered)')
    .option('--models <globs>', 'comma-separated models or globs it may use', (value: string) => value.split(',').map((model) => model.trim()))
    .option('--no-models', 'allow every model')
    .option('--rpm <n>', 'requests per minute', positiveInteger)
    .option('--no-rpm', 'no requests-per-minute limit')
    .option('--tpm <n>', 'tokens per minute', positiveInteger)
    .option('--no-tpm', 'no tokens-per-minute limit')
    .option('--max-parallel <n>', 'requests in flight at once', positiveInteger)
    .option('--no-max-parallel', 'no limit on requests in flight')
    .option('--budget <amount:currency:period>', 'spend limit, e.g. 10:USD:monthly (daily, monthly or total)', budget)
    .option('--no-budget', 'no spend limit')
    .option('--expires-at <date>', 'ISO date-time after which it is refused')
    .option('--no-expires-at', 'never expires');
  update.action(async (id: string) => {
    // Commander gives `false` for --no-<setting>: the admin API's `null` (clear). Absent stays as it is.
    const flags = update.opts<Record<string, unknown>>();
    const fields: Array<[string, string]> = [['name', 'name'], ['account', 'account'], ['models', 'models'], ['rpm', 'rpm'], ['tpm', 'tpm'], ['maxParallel', 'max_parallel'], ['budget', 'budget'], ['expiresAt', 'expires_at']];
    const body: Row = {};
    for (const [flag, field] of fields) {
      const value = flags[flag];
      if (value === undefined || value === true) continue;
      body[field] = value === false ? null : value;
    }
    if (Object.keys(body).length === 0) throw new Error(`nothing to change: give at least one setting (relay keys update --help lists them)`);
    printKeys((await callAdmin(`/admin/keys/${encodeURIComponent(id)}`, { ...options(), method: 'PATCH', body })).body as Row, options().json);
  });

  keys
    .command('list')
    .option('--all', 'include revoked keys')
    .description('every key (never the secrets)')
    .action(async (flags: { all?: boolean }) => {
      const { body } = await callAdmin(`/admin/keys${flags.all ? '?include_revoked=true' : ''}`, options());
      printKeys((body as { data: Row[] }).data, options().json);
    });

  keys
    .command('show')
    .argument('<id>')
    .action(async (id: string) => printKeys((await callAdmin(`/admin/keys/${encodeURIComponent(id)}`, options())).body as Row, options().json));

  keys
    .command('revoke')
    .argument('<id>')
    .description('refuse the key from now on (every replica within a second)')
    .action(async (id: string) => printKeys((await callAdmin(`/admin/keys/${encodeURIComponent(id)}`, { ...options(), method: 'DELETE' })).body as Row, options().json));

  keys
    .command('rotate')
    .argument('<id>')
    .description('replace the secret; the old one stops working at once')
    .action(async (id: string) => {
      const rotated = (await callAdmin(`/admin/keys/${encodeURIComponent(id)}/rotate`, { ...options(), method: 'POST' })).body as Row;
      if (options().json) process.stdout.write(`${JSON.stringify(rotated, null, 2)}\n`);
      else process.stdout.write(`rotated ${rotated.id} (${rotated.name})\nkey: ${rotated.key}\nStore it now: the relay keeps only its hash and cannot show it again.\n`);
    });
}
