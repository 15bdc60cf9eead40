import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { Redis } from 'ioredis';

/**
 * Postgres and Redis for the tests that need real services. With REQUIRE_SERVICES=1 (CI) a missing
 * service fails the test; otherwise the test is skipped with a line saying why.
 */
export async function reachable(): Promise<{ databaseUrl?: string; redisUrl?: string; why?: string }> {
  const databaseUrl = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  const problems: string[] = [];
  if (databaseUrl === undefined) problems.push('DATABASE_URL is not set');
  else {
    const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('select 1');
    } catch (error) {
      problems.push(`Postgres at DATABASE_URL is unreachable (${(error as Error).message})`);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  if (redisUrl === undefined) problems.push('REDIS_URL is not set');
  else {
    const redis = new Redis(redisUrl, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await redis.connect();
      await redis.ping();
    } catch (error) {
      problems.push(`Redis at REDIS_URL is unreachable (${(error as Error).message})`);
    } finally {
      redis.disconnect();
    }
  }
  if (problems.length > 0) {
    if (process.env.REQUIRE_SERVICES === '1') throw new Error(`REQUIRE_SERVICES=1 but ${problems.join('; ')}`);
    return { why: problems.join('; ') };
  }
  return { databaseUrl, redisUrl };
}

/** A fresh Postgres schema for one test run, and a connection URL whose search_path points at it. */
export async function freshSchema(databaseUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const schema = `relay_e2e_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query(`create schema ${schema}`);
  await client.end();
  const url = new URL(databaseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    async drop() {
      const dropper = new pg.Client({ connectionString: databaseUrl });
      await dropper.connect();
      await dropper.query(`drop schema if exists ${schema} cascade`);
      await dropper.end();
    },
  };
}

/** Whether a command is on the PATH (tests that start their own redis-server, or drive wrk and nginx). */
export function installed(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
