import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { MemoryLimitStore } from '../../src/limits/memory-limit-store.js';
import { RedisLimitStore } from '../../src/limits/redis-limit-store.js';
import { ResilientLimitStore } from '../../src/limits/resilient-limit-store.js';
import { openStore } from '../../src/store/open-store.js';
import { masterKey, startRelay, type StartedRelay } from './start-relay.js';

export interface LimitedRelayOptions {
  /** Where `relay.yaml` (from `yaml`) and the SQLite store go. */
  directory: string;
  yaml: string;
  /** Counters in this process, or in Redis under a key prefix of their own (fail-closed). */
  limits: 'memory' | 'redis';
  redisUrl?: string;
  /** The relay's upstream: HolySheep at this URL. */
  upstreamUrl: string;
  /** How long a reservation lives unrenewed (the stores' default when absent). */
  reservationTtlMs?: number;
  /** How long a request's reservation is renewed at most (a day when absent). */
  longestRequestMs?: number;
}

/** A relay in this process on its own SQLite store, metering into its ledger, with limits in memory or in Redis. */
export async function startLimitedRelay(options: LimitedRelayOptions): Promise<StartedRelay> {
  const { directory, reservationTtlMs } = options;
  writeFileSync(join(directory, 'relay.yaml'), options.yaml);
  const store = await openStore({ sqlitePath: join(directory, 'data', 'relay.db') });
  const limits =
    options.limits === 'redis'
      ? new ResilientLimitStore({ primary: new RedisLimitStore({ redis: options.redisUrl!, keyPrefix: `relay:test:${randomUUID()}:`, reservationTtlMs }), policy: 'fail-closed' })
      : reservationTtlMs === undefined
        ? undefined
        : new MemoryLimitStore({ reservationTtlMs });
  return startRelay({ HOLYSHEEP_API_KEY: 'hs-upstream-key-0123456789', HOLYSHEEP_BASE_URL: options.upstreamUrl, MAX_RETRIES: '0' }, directory, {
    store,
    limits,
    longestRequestMs: options.longestRequestMs,
  });
}

/** A JSON call to a relay's admin API with the master key: the answer's body. */
export async function adminJson<T>(relayUrl: string, path: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE' = 'GET', body?: unknown): Promise<T> {
  const response = await request(`${relayUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${masterKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return (await response.body.json()) as T;
}
