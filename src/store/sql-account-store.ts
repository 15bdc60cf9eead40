import { type Kysely } from 'kysely';
import type { RelayDatabase } from './database-schema.js';
import { rethrowConstraintViolation } from './database-errors.js';
import { buildAccount } from './build-records.js';
import { byCreation } from './compare-records.js';
import { newId } from './new-id.js';
import { RelayStoreError } from './relay-store-error.js';
import type { Account, AccountStore, BalanceTransaction, CreateAccountInput, CreditChange } from './relay-store.js';
import { accountFromRow, accountToRow } from './sql-row-mapping.js';
import { checkInteger } from './validate-store-input.js';

/** Accounts and their balance transactions in SQL (SQLite or Postgres through Kysely). */
export function createSqlAccountStore(db: Kysely<RelayDatabase>): AccountStore {
  return {
    async create(input: CreateAccountInput): Promise<Account> {
      const account = buildAccount(input);
      try {
        await db.transaction().execute(async (transaction) => {
          await transaction.insertInto('accounts').values(accountToRow(account)).execute();
          if (account.balanceMicros !== 0) {
            await transaction
              .insertInto('balance_transactions')
              .values({
                id: newId('btx'),
                account_id: account.id,
                delta_micros: account.balanceMicros,
                balance_after_micros: account.balanceMicros,
                note: 'opening balance',
                created_at: account.createdAt,
              })
              .execute();
            if (input.creditChangeId !== undefined) {
              await transaction
                .insertInto('credit_changes')
                .values({ id: input.creditChangeId, account_id: account.id, delta_micros: account.balanceMicros, created_at: account.createdAt })
                .execute();
            }
          }
        });
      } catch (error) {
        rethrowConstraintViolation(error, { conflict: `account ${account.id} already exists` });
      }
      return structuredClone(account);
    },

    async get(id: string): Promise<Account | undefined> {
      const row = await db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : accountFromRow(row);
    },

    async list(): Promise<Account[]> {
      const rows = await db.selectFrom('accounts').selectAll().execute();
      return rows.map(accountFromRow).sort(byCreation);
    },

    async adjustBalance(id: string, deltaMicros: number, note: string, creditChangeId?: string): Promise<Account> {
      checkInteger(deltaMicros, 'deltaMicros');
      return db.transaction().execute(async (transaction) => {
        // One statement reads and writes the balance, so concurrent adjustments never lose one another.
        const row = await transaction
          .updateTable('accounts')
          .set((expression) => ({ balance_micros: expression('balance_micros', '+', deltaMicros) }))
          .where('id', '=', id)
          .returningAll()
          .executeTakeFirst();
        if (row === undefined) throw new RelayStoreError('RELAY_STORE_NOT_FOUND', `no account ${id}`);
        const account = accountFromRow(row);
        const now = Date.now();
        await transaction
          .insertInto('balance_transactions')
          .values({ id: newId('btx'), account_id: id, delta_micros: deltaMicros, balance_after_micros: account.balanceMicros, note, created_at: now })
          .execute();
        if (creditChangeId !== undefined) {
          await transaction.insertInto('credit_changes').values({ id: creditChangeId, account_id: id, delta_micros: deltaMicros, created_at: now }).execute();
        }
        return account;
      });
    },

    async transactions(accountId: string, limit: number): Promise<BalanceTransaction[]> {
      const rows = await db
        .selectFrom('balance_transactions')
        .selectAll()
        .where('account_id', '=', accountId)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map((row) => ({
        id: row.id,
        accountId: row.account_id,
        deltaMicros: Number(row.delta_micros),
        balanceAfterMicros: Number(row.balance_after_micros),
        note: row.note,
        createdAt: Number(row.created_at),
      }));
    },

    async balancesWithWaitingChanges(): Promise<Array<{ account: Account; waitingMicros: number }>> {
      // One snapshot: a change committed between two separate reads would count in one and not the other.
      return db
        .transaction()
        .setIsolationLevel('repeatable read')
        .execute(async (transaction) => {
          const accounts = (await transaction.selectFrom('accounts').selectAll().execute()).map(accountFromRow).sort(byCreation);
          const waiting = await transaction
            .selectFrom('credit_changes')
            .select(['account_id', (expression) => expression.fn.sum<number | string>('delta_micros').as('waiting')])
            .groupBy('account_id')
            .execute();
          const waitingByAccount = new Map(waiting.map((row) => [row.account_id, Number(row.waiting)]));
          return accounts.map((account) => ({ account, waitingMicros: waitingByAccount.get(account.id) ?? 0 }));
        });
    },

    async creditChanges(): Promise<CreditChange[]> {
      const rows = await db.selectFrom('credit_changes').selectAll().orderBy('created_at').orderBy('id').execute();
      return rows.map((row) => ({ id: row.id, accountId: row.account_id, deltaMicros: Number(row.delta_micros), createdAt: Number(row.created_at) }));
    },

    async forgetCreditChanges(ids: readonly string[]): Promise<void> {
      if (ids.length > 0) await db.deleteFrom('credit_changes').where('id', 'in', [...ids]).execute();
    },
  };
}
