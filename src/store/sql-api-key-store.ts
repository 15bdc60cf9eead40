import { sql, type Kysely, type RawBuilder } from 'kysely';
import { byCreation, byUpdate } from './compare-records.js';
import type { RelayDatabase } from './database-schema.js';
import { rethrowConstraintViolation } from './database-errors.js';
import { buildApiKeyRecord } from './build-records.js';
import type { ApiKeyPatch, ApiKeyRecord, ApiKeyStore, CreateApiKeyInput, SpendInCurrency } from './relay-store.js';
import { spendByCurrencySince } from './sql-ledger-store.js';
import { apiKeyFromRow, apiKeyPatchToColumns, apiKeyToRow } from './sql-row-mapping.js';
import { checkInteger, checkKeyFields, checkSha256 } from './validate-store-input.js';

/**
 * The `updated_at` of a key written now: the clock, or one more than the latest stamp in the table
 * when the clock has not passed it (two changes in one millisecond, or a writer whose clock is
 * behind another's). So on one SQLite file, where writes are serial, every change gets a stamp
 * greater than all earlier ones, and a poller asking `changedSince(latest seen)` misses nothing.
 * Computed inside the statement so concurrent writers do not read stale values; CASE and CAST
 * read the same on SQLite and Postgres, and `updated_at` is indexed, so MAX is one index probe.
 */
function nextUpdatedAt(): RawBuilder<number> {
  const now = Date.now();
  return sql<number>`(select case when max(updated_at) >= cast(${now} as bigint) then max(updated_at) + 1 else cast(${now} as bigint) end from api_keys)`;
}

/**
 * The `updated_at` of a change to a stored key: as {@link nextUpdatedAt}, and above the row's own
 * stamp. On Postgres an UPDATE that waited for another transaction's lock on the row is run again
 * on the row that transaction wrote, but the table's MAX, a subquery that names no column of the
 * row, is not read again: a stamp from it alone could be older than the one the other change just
 * wrote — a revocation would carry an older stamp than the change it followed. The row's own stamp
 * is read again. On SQLite, where writes are serial, the MAX is never below it.
 */
function nextRowUpdatedAt(): RawBuilder<number> {
  const next = nextUpdatedAt();
  return sql<number>`case when api_keys.updated_at >= ${next} then api_keys.updated_at + 1 else ${next} end`;
}

/** Changes a stored key (`ApiKeyStore.update`), on the database or in a transaction. */
async function updateKey(db: Kysely<RelayDatabase>, id: string, patch: ApiKeyPatch): Promise<ApiKeyRecord | undefined> {
  checkKeyFields(patch);
  try {
    const row = await db
      .updateTable('api_keys')
      .set({ ...apiKeyPatchToColumns(patch), updated_at: nextRowUpdatedAt() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : apiKeyFromRow(row);
  } catch (error) {
    rethrowConstraintViolation(error, { conflict: `key ${id} conflicts with another key`, missingReference: `no account ${String(patch.accountId)}` });
  }
}

/** API keys in SQL (SQLite or Postgres through Kysely). */
export function createSqlApiKeyStore(db: Kysely<RelayDatabase>): ApiKeyStore {
  const get = async (id: string): Promise<ApiKeyRecord | undefined> => {
    const row = await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : apiKeyFromRow(row);
  };

  return {
    async create(input: CreateApiKeyInput): Promise<ApiKeyRecord> {
      const record = buildApiKeyRecord(input);
      try {
        const row = await db
          .insertInto('api_keys')
          .values({ ...apiKeyToRow(record), updated_at: nextUpdatedAt() })
          .returningAll()
          .executeTakeFirstOrThrow();
        return apiKeyFromRow(row);
      } catch (error) {
        rethrowConstraintViolation(error, {
          conflict: `a key with id ${record.id} or the same secret already exists`,
          missingReference: `no account ${String(record.accountId)}`,
        });
      }
    },

    get,

    async findBySha256(sha256: string): Promise<ApiKeyRecord | undefined> {
      const row = await db.selectFrom('api_keys').selectAll().where('sha256', '=', sha256).executeTakeFirst();
      return row === undefined ? undefined : apiKeyFromRow(row);
    },

    async list(options = {}): Promise<ApiKeyRecord[]> {
      let query = db.selectFrom('api_keys').selectAll();
      if (options.includeRevoked !== true) query = query.where('revoked_at', 'is', null);
      return (await query.execute()).map(apiKeyFromRow).sort(byCreation);
    },

    update(id: string, patch: ApiKeyPatch): Promise<ApiKeyRecord | undefined> {
      return updateKey(db, id, patch);
    },

    async updateCountingSpend(id: string, patch: ApiKeyPatch, since: number): Promise<{ key: ApiKeyRecord; spent: SpendInCurrency[] } | undefined> {
      // The update first: its lock on the key's row orders the ledger writes that read the key's
      // budget (`insertBatch`) against this transaction, whose read of the ledger comes after it.
      return db.transaction().execute(async (transaction) => {
        const key = await updateKey(transaction, id, patch);
        return key === undefined ? undefined : { key, spent: await spendByCurrencySince(transaction, id, since) };
      });
    },

    async rotate(id: string, newSha256: string, newPrefix: string): Promise<ApiKeyRecord | undefined> {
      checkSha256(newSha256);
      try {
        const row = await db
          .updateTable('api_keys')
          .set({ sha256: newSha256, prefix: newPrefix, updated_at: nextRowUpdatedAt() })
          .where('id', '=', id)
          .where('revoked_at', 'is', null)
          .returningAll()
          .executeTakeFirst();
        // Nothing updated: the key is unknown or revoked, and stays as it was.
        return row === undefined ? get(id) : apiKeyFromRow(row);
      } catch (error) {
        rethrowConstraintViolation(error, { conflict: 'another key has the same secret' });
      }
    },

    async revoke(id: string, at?: number): Promise<ApiKeyRecord | undefined> {
      const revokedAt = checkInteger(at ?? Date.now(), 'revokedAt', { min: 0 });
      const row = await db
        .updateTable('api_keys')
        .set({ revoked_at: revokedAt, updated_at: nextRowUpdatedAt() })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      // Nothing updated: the key is unknown or was already revoked, and stays as it was.
      return row === undefined ? get(id) : apiKeyFromRow(row);
    },

    async changedSince(updatedAtExclusive: number): Promise<ApiKeyRecord[]> {
      const rows = await db.selectFrom('api_keys').selectAll().where('updated_at', '>', updatedAtExclusive).execute();
      return rows.map(apiKeyFromRow).sort(byUpdate);
    },
  };
}
