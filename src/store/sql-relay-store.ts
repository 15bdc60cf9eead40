import type { Kysely } from 'kysely';
import type { RelayDatabase } from './database-schema.js';
import type { AccountStore, ApiKeyStore, CanaryStore, DashboardSessionStore, LedgerStore, RelayStore, ResponseItemStore, StoredResponseStore } from './relay-store.js';
import { createSqlResponseItemStore, createSqlStoredResponseStore } from './sql-response-item-store.js';
import { createSqlDashboardSessionStore } from './sql-dashboard-session-store.js';
import { createSqlCanaryStore } from './sql-canary-store.js';
import { createSqlAccountStore } from './sql-account-store.js';
import { createSqlApiKeyStore } from './sql-api-key-store.js';
import { createSqlLedgerStore } from './sql-ledger-store.js';
import { createSqliteLedgerInsert } from './sqlite-ledger-insert.js';
import type { Database } from 'better-sqlite3';

/**
 * The store on SQLite or Postgres. Both run the same Kysely queries; the few places where the
 * dialects differ are written in SQL both understand (see `sql-ledger-store.ts`).
 */
export class SqlRelayStore implements RelayStore {
  readonly accounts: AccountStore;
  readonly keys: ApiKeyStore;
  readonly ledger: LedgerStore;
  readonly canaries: CanaryStore;
  readonly sessions: DashboardSessionStore;
  readonly responseItems: ResponseItemStore;
  readonly storedResponses: StoredResponseStore;
  private closing: Promise<void> | undefined;

  constructor(
    readonly kind: 'sqlite' | 'postgres',
    private readonly db: Kysely<RelayDatabase>,
    sqlite?: Database,
  ) {
    this.accounts = createSqlAccountStore(db);
    this.keys = createSqlApiKeyStore(db);
    this.ledger = createSqlLedgerStore(db, sqlite === undefined ? undefined : createSqliteLedgerInsert(sqlite));
    this.canaries = createSqlCanaryStore(db);
    this.sessions = createSqlDashboardSessionStore(db);
    this.responseItems = createSqlResponseItemStore(db);
    this.storedResponses = createSqlStoredResponseStore(db);
  }

  /** Safe to call more than once: `pg` refuses to end a pool twice. */
  close(): Promise<void> {
    this.closing ??= this.db.destroy();
    return this.closing;
  }
}
