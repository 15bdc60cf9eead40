import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { RelayDatabase } from './database-schema.js';
import { isTransientConflict } from './database-errors.js';
import { newId } from './new-id.js';
import { prepareLedgerBatch } from './prepare-ledger-batch.js';
import type { BudgetedRecord, Currency, LedgerRecord, LedgerStore, SpendInCurrency, UsageQuery, UsageRow } from './relay-store.js';
import { apiKeyFromRow, ledgerRecordToRow } from './sql-row-mapping.js';
import type { SqliteLedgerInsert } from './sqlite-ledger-insert.js';
import { sortUsageRows, utcDayFromIndex } from './usage-rows.js';

/**
 * Rows per INSERT statement: 15 parameters a row stays far below SQLite's 32 766 and Postgres's
 * 65 535 bound parameters per statement.
 */
const rowsPerStatement = 500;

/** How often a batch is retried after losing a race (deadlock, busy database) before giving up. */
const transientRetries = 3;

/**
 * A SUM or COUNT as a 64-bit integer: Postgres returns SUM(bigint) as NUMERIC, which `pg` hands
 * over as a string, while BIGINT comes back as a number (see `create-database.ts`).
 */
function total(expression: RawBuilder<unknown>): RawBuilder<number> {
  return sql<number>`cast(coalesce(${expression}, 0) as bigint)`;
}

/** A key's ledger spend since `since` (inclusive), per currency: on the database or in a transaction. */
export async function spendByCurrencySince(db: Kysely<RelayDatabase>, keyId: string, since: number): Promise<SpendInCurrency[]> {
  const rows = await db
    .selectFrom('ledger_entries')
    .select(['currency', total(sql`sum(cost_micros)`).as('spent')])
    .where('key_id', '=', keyId)
    .where('created_at', '>=', since)
    .groupBy('currency')
    .execute();
  return rows.map((row) => ({ currency: row.currency as Currency, micros: Number(row.spent) }));
}

/**
 * The ledger in SQL (SQLite or Postgres through Kysely); `sqliteInsert`, SQLite's own batch insert,
 * says the database is SQLite.
 */
export function createSqlLedgerStore(db: Kysely<RelayDatabase>, sqliteInsert?: SqliteLedgerInsert): LedgerStore {
  return {
    async insertBatch(records: LedgerRecord[], onBudgeted?: (records: BudgetedRecord[]) => void): Promise<number> {
      const batch = prepareLedgerBatch(records);
      if (batch.length === 0) return 0;
      const budgeted = onBudgeted === undefined ? undefined : ([] as BudgetedRecord[]);
      let inserted = sqliteInsert?.(batch, budgeted);
      for (let attempt = 0; inserted === undefined; attempt += 1) {
        try {
          // Keys' rows locked on Postgres only: SQLite runs one write at a time.
          inserted = await insertAndDebit(db, batch, budgeted, sqliteInsert === undefined);
        } catch (error) {
          // The whole transaction rolled back, so running it again cannot charge twice.
          if (attempt >= transientRetries || !isTransientConflict(error)) throw error;
          budgeted?.splice(0);
        }
      }
      if (budgeted !== undefined && budgeted.length > 0) onBudgeted?.(budgeted);
      return inserted;
    },

    async usage(query: UsageQuery): Promise<UsageRow[]> {
      // Literal SQL (no bound parameters) so Postgres sees the same expression in SELECT and GROUP BY.
      const group =
        query.groupBy === 'day'
          ? sql<string | number>`created_at / 86400000`
          : query.groupBy === 'model'
            ? sql<string | number>`model`
            : sql<string | number>`coalesce(key_id, '')`;
      let select = db
        .selectFrom('ledger_entries')
        .select([
          group.as('group_key'),
          'currency',
          total(sql`count(*)`).as('requests'),
          total(sql`sum(case when status >= 400 or error_code is not null then 1 else 0 end)`).as('errors'),
          total(sql`sum(prompt_tokens)`).as('prompt_tokens'),
          total(sql`sum(completion_tokens)`).as('completion_tokens'),
          total(sql`sum(cached_tokens)`).as('cached_tokens'),
          total(sql`sum(cache_write_tokens)`).as('cache_write_tokens'),
          total(sql`sum(cost_micros)`).as('cost_micros'),
          total(sql`sum(official_cost_micros)`).as('official_cost_micros'),
        ])
        .groupBy([group, 'currency']);
      if (query.keyId !== undefined) select = select.where('key_id', '=', query.keyId);
      if (query.accountId !== undefined) select = select.where('account_id', '=', query.accountId);
      if (query.model !== undefined) select = select.where('model', '=', query.model);
      if (query.from !== undefined) select = select.where('created_at', '>=', query.from);
      if (query.to !== undefined) select = select.where('created_at', '<', query.to);
      const rows = await select.execute();
      return sortUsageRows(
        rows.map((row) => ({
          group: query.groupBy === 'day' ? utcDayFromIndex(Number(row.group_key)) : String(row.group_key),
          currency: row.currency as Currency,
          requests: Number(row.requests),
          errors: Number(row.errors),
          promptTokens: Number(row.prompt_tokens),
          completionTokens: Number(row.completion_tokens),
          cachedTokens: Number(row.cached_tokens),
          cacheWriteTokens: Number(row.cache_write_tokens),
          costMicros: Number(row.cost_micros),
          officialCostMicros: Number(row.official_cost_micros),
        })),
      );
    },

    async spendSince(keyId: string, since: number, currency: Currency): Promise<number> {
      const row = await db
        .selectFrom('ledger_entries')
        .select(total(sql`sum(cost_micros)`).as('spent'))
        .where('key_id', '=', keyId)
        .where('created_at', '>=', since)
        .where('currency', '=', currency)
        .executeTakeFirstOrThrow();
      return Number(row.spent);
    },

    async count(): Promise<number> {
      const row = await db.selectFrom('ledger_entries').select(total(sql`count(*)`).as('rows')).executeTakeFirstOrThrow();
      return Number(row.rows);
    },
  };
}

/**
 * Inserts the rows not yet present and debits the accounts of those inserted, in one transaction.
 * ON CONFLICT DO NOTHING makes a concurrent writer of the same `request_id` wait for ours and then
 * skip the row, and RETURNING tells exactly which rows this transaction wrote, so only those are
 * charged (and only their debits drawn in memory become credit changes). Accounts are updated in
 * id order, one statement each, so two batches lock them in the same order. With `budgeted`, the
 * inserted records whose budget period is known get their keys' budgets, read in the transaction
 * (`lockKeys`: under a shared lock of the keys' rows, which a key's change holds exclusively until
 * it commits, its read of the ledger included).
 */
async function insertAndDebit(db: Kysely<RelayDatabase>, batch: readonly LedgerRecord[], budgeted: BudgetedRecord[] | undefined, lockKeys: boolean): Promise<number> {
  const drawnInMemory = new Set(batch.filter((record) => record.drawnInMemory === true).map((record) => record.requestId));
  const byRequestId = budgeted === undefined ? undefined : new Map(batch.map((record) => [record.requestId, record]));
  return db.transaction().execute(async (transaction) => {
    let inserted = 0;
    const debits = new Map<string, number>();
    const unshared = new Map<string, number>();
    const written: LedgerRecord[] = [];
    for (let start = 0; start < batch.length; start += rowsPerStatement) {
      const rows = await transaction
        .insertInto('ledger_entries')
        .values(batch.slice(start, start + rowsPerStatement).map(ledgerRecordToRow))
        .onConflict((conflict) => conflict.column('request_id').doNothing())
        .returning(['request_id', 'account_id', 'cost_micros'])
        .execute();
      inserted += rows.length;
      for (const row of rows) {
        const record = byRequestId?.get(row.request_id);
        if (record?.budgetPeriod !== undefined && record.keyId !== null) written.push(record);
        if (row.account_id === null) continue;
        debits.set(row.account_id, (debits.get(row.account_id) ?? 0) + Number(row.cost_micros));
        if (drawnInMemory.has(row.request_id)) unshared.set(row.account_id, (unshared.get(row.account_id) ?? 0) + Number(row.cost_micros));
      }
    }
    const now = Date.now();
    for (const [accountId, amount] of unshared) {
      if (amount !== 0) await transaction.insertInto('credit_changes').values({ id: newId('cc'), account_id: accountId, delta_micros: -amount, created_at: now }).execute();
    }
    for (const accountId of [...debits.keys()].sort()) {
      const amount = debits.get(accountId) ?? 0;
      if (amount === 0) continue;
      await transaction
        .updateTable('accounts')
        .set((expression) => ({ balance_micros: expression('balance_micros', '-', amount) }))
        .where('id', '=', accountId)
        .execute();
    }
    if (budgeted !== undefined && written.length > 0) {
      const keyIds = [...new Set(written.map((record) => record.keyId as string))].sort();
      let query = transaction.selectFrom('api_keys').selectAll().where('id', 'in', keyIds).orderBy('id');
      if (lockKeys) query = query.forShare();
      const budgets = new Map((await query.execute()).map((row) => [row.id, apiKeyFromRow(row).budget]));
      for (const record of written) {
        const budget = budgets.get(record.keyId as string);
        if (budget !== undefined && budget !== null) budgeted.push({ record, budget });
      }
    }
    return inserted;
  });
}
