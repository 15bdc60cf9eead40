import type { Kysely } from 'kysely';
import type { RelayDatabase } from './database-schema.js';
import type { DashboardSessionRecord, DashboardSessionStore } from './relay-store.js';

/** Dashboard sessions in SQL (SQLite or Postgres through Kysely). */
export function createSqlDashboardSessionStore(db: Kysely<RelayDatabase>): DashboardSessionStore {
  return {
    async create(record) {
      await db
        .insertInto('dashboard_sessions')
        .values({ id_sha256: record.idSha256, csrf_token: record.csrfToken, key_sha256: record.keySha256, expires_at: record.expiresAt, created_at: record.createdAt })
        .execute();
    },

    async find(idSha256, now) {
      const row = await db.selectFrom('dashboard_sessions').selectAll().where('id_sha256', '=', idSha256).where('expires_at', '>', now).executeTakeFirst();
      if (row === undefined) return undefined;
      return { idSha256: row.id_sha256, csrfToken: row.csrf_token, keySha256: row.key_sha256, expiresAt: Number(row.expires_at), createdAt: Number(row.created_at) } satisfies DashboardSessionRecord;
    },

    async delete(idSha256) {
      await db.deleteFrom('dashboard_sessions').where('id_sha256', '=', idSha256).execute();
    },

    async prune(now, keep) {
      await db.deleteFrom('dashboard_sessions').where('expires_at', '<=', now).execute();
      // The newest `keep` stay; the subquery's own table is named apart so both dialects read it alike.
      const newest = db.selectFrom('dashboard_sessions as newest').select('newest.id_sha256').orderBy('newest.created_at', 'desc').orderBy('newest.id_sha256', 'desc').limit(keep);
      await db.deleteFrom('dashboard_sessions').where('id_sha256', 'not in', newest).execute();
    },
  };
}
