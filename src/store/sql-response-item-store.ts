import type { Kysely } from 'kysely';
import type { RelayDatabase } from './database-schema.js';
import type { ResponseItemRecord, ResponseItemStore, StoredResponseStore } from './relay-store.js';

/** Items of translated Responses API answers in SQL (SQLite or Postgres through Kysely). */
export function createSqlResponseItemStore(db: Kysely<RelayDatabase>): ResponseItemStore {
  return {
    async put(records) {
      if (records.length === 0) return;
      await db
        .insertInto('response_items')
        .values(records.map((record) => ({ id: record.id, principal_id: record.principalId, item: record.item, expires_at: record.expiresAt })))
        .onConflict((conflict) => conflict.column('id').doUpdateSet((update) => ({ principal_id: update.ref('excluded.principal_id'), item: update.ref('excluded.item'), expires_at: update.ref('excluded.expires_at') })))
        .execute();
    },

    async find(principalId, ids, now) {
      if (ids.length === 0) return [];
      const rows = await db.selectFrom('response_items').selectAll().where('id', 'in', [...ids]).where('principal_id', '=', principalId).where('expires_at', '>', now).execute();
      return rows.map((row) => ({ id: row.id, principalId: row.principal_id, item: row.item, expiresAt: Number(row.expires_at) }) satisfies ResponseItemRecord);
    },

    async prune(now) {
      await db.deleteFrom('response_items').where('expires_at', '<=', now).execute();
    },
  };
}

/** Who got which stored response, in SQL (SQLite or Postgres through Kysely). */
export function createSqlStoredResponseStore(db: Kysely<RelayDatabase>): StoredResponseStore {
  return {
    async put(records) {
      if (records.length === 0) return;
      await db
        .insertInto('stored_responses')
        .values(records.map((record) => ({ id: record.id, principal_id: record.principalId, provider: record.provider, expires_at: record.expiresAt })))
        .onConflict((conflict) => conflict.column('id').doNothing())
        .execute();
    },

    async find(ids, now) {
      if (ids.length === 0) return [];
      const rows = await db.selectFrom('stored_responses').selectAll().where('id', 'in', [...ids]).where('expires_at', '>', now).execute();
      return rows.map((row) => ({ id: row.id, principalId: row.principal_id, provider: row.provider, expiresAt: Number(row.expires_at) }));
    },

    async prune(now) {
      await db.deleteFrom('stored_responses').where('expires_at', '<=', now).execute();
    },
  };
}
