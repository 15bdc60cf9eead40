import type { ApiKeyRecord, RelayStore } from '../store/relay-store.js';
import type { KeyStore } from './key-store.js';
import type { Principal } from './principal.js';

export interface StoredKeyCacheOptions {
  /** How often the store is asked for changed keys (default 500 ms, so a revocation reaches every replica within 1 s). */
  pollMs?: number;
  /** Told when a refresh fails (the cache keeps serving what it has). */
  onError?: (error: unknown) => void;
  /**
   * Every how many polls every key is read again instead of the changed ones (0: never). Default: 20
   * (every 10 s) on Postgres, where other replicas write keys; never on SQLite or in memory, where
   * every change is this process's own.
   */
  rereadEvery?: number;
}

/** What a stored key becomes on the request path. */
export function principalOf(record: ApiKeyRecord): Principal {
  return {
    id: record.id,
    name: record.name,
    isMaster: false,
    models: record.models ?? undefined,
    accountId: record.accountId ?? undefined,
    rpm: record.rpm ?? undefined,
    tpm: record.tpm ?? undefined,
    maxParallel: record.maxParallel ?? undefined,
    budget: record.budget ?? undefined,
    expiresAt: record.expiresAt ?? undefined,
  };
}

/**
 * The stored keys, held in memory so that authentication never waits for the database: loaded at
 * start, then refreshed by polling the store for keys changed since the last poll. Revoked keys
 * leave the cache; keys created, changed or revoked by this replica apply at once. Config and master
 * keys come first, from the static store it wraps.
 */
export class StoredKeyCache implements KeyStore {
  private readonly bySha256 = new Map<string, Principal>();
  private readonly shaById = new Map<string, string>();
  /** The `updated_at` of the version of each key applied last; Infinity once revoked, which is final. */
  private readonly versionById = new Map<string, number>();
  private cursor = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private polls = 0;

  constructor(
    private readonly store: RelayStore,
    private fallback: KeyStore,
    private readonly options: StoredKeyCacheOptions = {},
  ) {}

  async start(): Promise<void> {
    for (const record of await this.store.keys.list()) this.apply(record);
    this.timer = setInterval(() => void this.refresh(), this.options.pollMs ?? 500);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Swaps the master and config keys (config reload). */
  replaceStatic(fallback: KeyStore): void {
    this.fallback = fallback;
  }

  findBySha256(sha256: string): Principal | undefined {
    return this.fallback.findBySha256(sha256) ?? this.bySha256.get(sha256);
  }

  /** A stored key as it is now (changed since a request authenticated with it, say); undefined when revoked or not stored. */
  findById(id: string): Principal | undefined {
    const sha256 = this.shaById.get(id);
    return sha256 === undefined ? undefined : this.bySha256.get(sha256);
  }

  /**
   * Applies a record at once (after a change made by this replica). An older version than the one
   * applied is ignored: a poll that read the row before this replica's change committed (polls ask
   * again for the last 2 s) would otherwise undo the change until the next poll. A revocation is
   * final: it applies whatever its stamp — one made at another replica, racing this replica's change
   * of the key, may carry an older stamp (their clocks differ), and ignoring it would accept the
   * revoked key here for good — and no live version of the key applies after it.
   */
  apply(record: ApiKeyRecord): void {
    const applied = this.versionById.get(record.id);
    if (record.revokedAt === null && applied !== undefined && applied > record.updatedAt) return;
    this.versionById.set(record.id, record.revokedAt === null ? record.updatedAt : Number.POSITIVE_INFINITY);
    const previous = this.shaById.get(record.id);
    if (previous !== undefined) this.bySha256.delete(previous);
    if (record.revokedAt === null) {
      this.bySha256.set(record.sha256, principalOf(record));
      this.shaById.set(record.id, record.sha256);
    } else {
      this.shaById.delete(record.id);
    }
    this.cursor = Math.max(this.cursor, record.updatedAt);
  }

  /**
   * One poll. Asks from a little before the newest change seen: other replicas' clocks and commits
   * may lag. Every `rereadEvery` polls it reads every key instead (revoked ones too): a change whose
   * transaction committed more than those 2 s after its stamp (a write held up in a slow database,
   * beside a later one that committed first) is missed by the polls, and would otherwise stay
   * missed — for a revocation, the key accepted — until a restart.
   */
  async refresh(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const every = this.options.rereadEvery ?? (this.store.kind === 'postgres' ? 20 : 0);
      const reread = every > 0 && ++this.polls % every === 0;
      const records = reread ? await this.store.keys.list({ includeRevoked: true }) : await this.store.keys.changedSince(Math.max(0, this.cursor - 2_000));
      for (const record of records) this.apply(record);
    } catch (error) {
      this.options.onError?.(error);
    } finally {
      this.polling = false;
    }
  }
}
