import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { reachable, freshSchema } from './support/services.js';
import { freePort, spawnRelay, type SpawnedRelay } from './support/spawn-relay.js';

const master = 'sk-relay-replica-test-master-0123456789';
const services = await reachable();
if (services.why !== undefined) process.stdout.write(`replicas.e2e: skipped: ${services.why}\n`);

describe.skipIf(services.why !== undefined)('two relay replicas sharing Postgres and Redis', () => {
  const upstream = new MockOpenAIUpstream();
  let schema: Awaited<ReturnType<typeof freshSchema>>;
  let cwd: string;
  const running: SpawnedRelay[] = [];

  async function replica(): Promise<{ relay: SpawnedRelay; url: string }> {
    const port = await freePort();
    const relay = spawnRelay(['serve', '--drain-delay-ms', '100', '--grace-period-ms', '5000'], {
      cwd,
      env: { PORT: String(port), RELAY_MASTER_KEY: master, DATABASE_URL: schema.url, REDIS_URL: services.redisUrl ?? '', HOLYSHEEP_API_KEY: 'hs-key-0123456789', HOLYSHEEP_BASE_URL: upstream.url },
    });
    running.push(relay);
    await relay.waitForLog(/relay listening/);
    return { relay, url: `http://127.0.0.1:${port}` };
  }

  async function admin<T>(base: string, path: string, method: 'GET' | 'POST' | 'DELETE' = 'GET', body?: unknown): Promise<T> {
    const response = await request(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${master}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await response.body.json()) as T;
  }

  const ask = (base: string, key: string) =>
    new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4.1', max_tokens: 20, messages: [{ role: 'user', content: 'hello there' }] });

  beforeAll(async () => {
    await upstream.start();
    schema = await freshSchema(services.databaseUrl!);
    cwd = mkdtempSync(join(tmpdir(), 'relay-replicas-'));
    writeFileSync(join(cwd, 'relay.yaml'), 'ledger:\n  flushIntervalMs: 200\n');
  });
  afterAll(async () => {
    for (const relay of running) if (relay.child.exitCode === null) relay.child.kill('SIGKILL');
    await Promise.all(running.map((relay) => relay.exited));
    await upstream.stop();
    await schema.drop();
  });

  it('enforce one RPM limit together, and both refuse a revoked key within a second', async () => {
    const [a, b] = [await replica(), await replica()];
    const key = await admin<{ id: string; key: string }>(a.url, '/admin/keys', 'POST', { name: 'shared', rpm: 10 });
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, index) => ask(index % 2 === 0 ? a.url : b.url, key.key)));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(10);

    const other = await admin<{ id: string; key: string }>(a.url, '/admin/keys', 'POST', { name: 'to-revoke' });
    await expect.poll(async () => (await ask(b.url, other.key).then(() => 'ok', () => 'refused')), { timeout: 2000, interval: 100 }).toBe('ok');
    await admin(a.url, `/admin/keys/${other.id}`, 'DELETE');
    const revokedAt = Date.now();
    await expect.poll(async () => (await ask(b.url, other.key).then(() => 'ok', (error: { status?: number }) => String(error.status))), { timeout: 1000, interval: 50 }).toBe('401');
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    for (const relay of [a.relay, b.relay]) relay.child.kill('SIGTERM');
    await Promise.all([a.relay.exited, b.relay.exited]);
  });

  it('keeps one ledger row per answered request through SIGTERM, and loses at most the last batch interval on SIGKILL', async () => {
    const reporter = await replica();
    const key = await admin<{ id: string; key: string }>(reporter.url, '/admin/keys', 'POST', { name: 'ledger-check' });

    async function loadUntil(target: { relay: SpawnedRelay; url: string }, signal: 'SIGTERM' | 'SIGKILL'): Promise<{ answered: number; lastSecond: number }> {
      upstream.setStreamDefaults({ chunks: 5, delayMs: 5 });
      let answered = 0;
      const answeredAt: number[] = [];
      let stop = false;
      const workers = Array.from({ length: 8 }, async () => {
        while (!stop) {
          try {
            await ask(target.url, key.key);
            answered++;
            answeredAt.push(Date.now());
          } catch {
            return;
          }
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 700));
      const killedAt = Date.now();
      target.relay.child.kill(signal);
      stop = true;
      await Promise.all(workers);
      await target.relay.exited;
      return { answered, lastSecond: answeredAt.filter((time) => time > killedAt - 1000).length };
    }

    const ledgerRows = async () =>
      (await admin<{ data: Array<{ requests: number }> }>(reporter.url, `/admin/usage?group_by=key&key=${key.id}`)).data.reduce((sum, row) => sum + row.requests, 0);

    const graceful = await loadUntil(await replica(), 'SIGTERM');
    expect(graceful.answered).toBeGreaterThan(10);
    expect(await ledgerRows()).toBe(graceful.answered);

    const killed = await loadUntil(await replica(), 'SIGKILL');
    const rows = (await ledgerRows()) - graceful.answered;
    expect(rows).toBeLessThanOrEqual(killed.answered);
    expect(killed.answered - rows).toBeLessThanOrEqual(killed.lastSecond);
    reporter.relay.child.kill('SIGTERM');
    await reporter.relay.exited;
  });
});
