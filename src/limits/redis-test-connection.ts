import { Redis } from 'ioredis';

/**
 * How tests reach Redis: `REDIS_URL` when it answers. When it is unset or does not answer, tests
 * that need it are skipped with a printed reason, or fail when `REQUIRE_SERVICES=1` (CI with
 * services must not pass by skipping).
 */
export interface RedisTestConnection {
  url: string | undefined;
  /** Why Redis tests cannot run, when they cannot. */
  unavailableBecause: string | undefined;
  required: boolean;
}

export async function connectRedisForTests(): Promise<RedisTestConnection> {
  const url = process.env.REDIS_URL;
  const required = process.env.REQUIRE_SERVICES === '1';
  if (url === undefined || url === '') return { url: undefined, unavailableBecause: 'REDIS_URL is not set', required };
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return { url, unavailableBecause: undefined, required };
  } catch (error) {
    return { url: undefined, unavailableBecause: `Redis at ${url} did not answer: ${(error as Error).message}`, required };
  } finally {
    client.disconnect();
  }
}

/** Deletes every key under `prefix` (a test run's own prefix, never a shared one). */
export async function deleteKeysUnder(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
