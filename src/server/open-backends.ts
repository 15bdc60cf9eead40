import { join } from 'node:path';
import type { Logger } from 'pino';
import type { RelayConfig } from '../config/relay-config.js';
import type { LimitStore } from '../limits/limit-store.js';
import { MemoryLimitStore } from '../limits/memory-limit-store.js';
import { ResilientLimitStore } from '../limits/resilient-limit-store.js';
import { openStore } from '../store/open-store.js';
import type { RelayStore } from '../store/relay-store.js';

/**
 * The relay's state behind its interfaces: the store (SQLite file `<data dir>/relay.db` by default,
 * Postgres with DATABASE_URL) with its migrations applied, and the admission counters (in memory, or
 * shared in Redis with REDIS_URL, behind the configured policy for when Redis cannot be reached).
 */
export async function openBackends(config: RelayConfig, logger: Logger): Promise<{ store: RelayStore; limits: LimitStore }> {
  const store = await openStore({
    databaseUrl: config.databaseUrl,
    sqlitePath: join(config.dataDir, 'relay.db'),
    queryTimeoutMs: config.databaseQueryTimeoutMs,
    onNewerMigrations: (migrations) =>
      logger.warn({ migrations }, 'the database has migrations of a newer release: running on it as it is (migrations only add; finish the upgrade or roll it back)'),
  });
  if (config.redisUrl === undefined) return { store, limits: new MemoryLimitStore() };
  // Loaded only when configured: ioredis is a fifth of the start-up time of a relay that does not use it.
  const { RedisLimitStore } = await import('../limits/redis-limit-store.js');
  const limits = new ResilientLimitStore({
    primary: new RedisLimitStore({ redis: config.redisUrl }),
    policy: config.limits.onBackendFailure,
    replicas: config.limits.replicas,
    onDegradedChange: (degraded, cause) => {
      if (degraded) {
        logger.error(
          { policy: config.limits.onBackendFailure, replicas: config.limits.replicas, detail: String(cause) },
          config.limits.onBackendFailure === 'fail-closed'
            ? 'Redis is unreachable: limited requests are refused until it is back (limits.onBackendFailure: fail-closed)'
            : "Redis is unreachable: enforcing this replica's share of every limit in memory (limits.onBackendFailure: fail-open)",
        );
      } else {
        logger.info('Redis is reachable again: limits are shared again');
      }
    },
  });
  return { store, limits };
}
