import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { type APIError } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminJson } from './support/limited-relay.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { streamGpt41 } from './support/stream-gpt41.js';
import { freshSchema, installed, reachable } from './support/services.js';
import { startPrivateRedis } from './support/private-redis.js';
import { freePort, spawnRelay, type SpawnedRelay } from './support/spawn-relay.js';
import { masterKey } from './support/start-relay.js';

const services = await reachable();
const missing = services.why ?? (installed('redis-server') ? undefined : 'redis-server is not installed');
if (missing !== undefined) process.stdout.write(`replica-redis-return.e2e: skipped: ${missing}\n`);

/** gpt-4.1 at $1000 per 1M tokens. */
const yaml = 'billing:\n  prices:\n    gpt-4.1: { input: 1000, output: 1000, officialInput: 4000, officialOutput: 4000 }\nledger:\n  flushIntervalMs: 100\n';

describe.skipIf(missing !== undefined)('replicas whose Redis goes away while requests end, and comes back empty', () => {
  const upstream = new MockOpenAIUpstream();
  const running: SpawnedRelay[] = [];
  let schema: Awaited<ReturnType<typeof freshSchema>>;
  let redisServer: ChildProcess | undefined;
  let redisPort: number;

  async function replica(config = yaml): Promise<{ relay: SpawnedRelay; url: string }> {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-redis-return-'));
    writeFileSync(join(cwd, 'relay.yaml'), config);
    const port = await freePort();
    const relay = spawnRelay(['serve', '--drain-delay-ms', '0', '--grace-period-ms', '3000'], {
      cwd,
      env: { PORT: String(port), RELAY_MASTER_KEY: masterKey, DATABASE_URL: schema.url, REDIS_URL: `redis://127.0.0.1:${redisPort}`, HOLYSHEEP_API_KEY: 'hs-key-0123456789', HOLYSHEEP_BASE_URL: upstream.url },
    });
    running.push(relay);
    await relay.waitForLog(/relay listening/);
    return { relay, url: `http://127.0.0.1:${port}` };
  }

  async function restartRedisEmpty(): Promise<void> {
    redisServer!.kill('SIGKILL');
    await new Promise((resolve) => redisServer!.once('exit', resolve));
  }

  const admin = adminJson;

  const stream = streamGpt41;

  /** Two fail-open replicas, and the key of an account holding $1 that each has served once. */
  async function failOpenAccount(name: string) {
    if (redisServer?.exitCode !== null) redisServer = await startPrivateRedis(redisPort);
    const failOpen = `${yaml}limits:\n  onBackendFailure: fail-open\n  replicas: 2\n`;
    const [a, b] = [await replica(failOpen), await replica(failOpen)];
    const account = await admin<{ id: string }>(a.url, '/admin/accounts', 'POST', { name });
    await admin(a.url, `/admin/accounts/${account.id}/topup`, 'POST', { amount: 1 });
    const key = await admin<{ id: string; key: string }>(a.url, '/admin/keys', 'POST', { name, account: account.id });
    await new Promise((resolve) => setTimeout(resolve, 1000)); // both replicas know the key
    // 'Hello.' estimates 6 prompt tokens: a request reserves $0.001 × (6 + max_tokens) and costs $0.018.
    const ask = (base: string, maxTokens = 20) =>
      new OpenAI({ apiKey: key.key, baseURL: `${base}/v1`, maxRetries: 0 }).chat.completions
        .create({ model: 'gpt-4.1', max_tokens: maxTokens, messages: [{ role: 'user', content: 'Hello.' }] })
        .then(() => 'ok', (error: APIError) => String(error.code ?? error.status));
    // Each replica sees the balance ($1, $0.018 a request).
    expect([await ask(a.url), await ask(b.url)]).toEqual(['ok', 'ok']);
    return { a, b, account, ask };
  }

  beforeAll(async () => {
    await upstream.start();
    schema = await freshSchema(services.databaseUrl!);
    redisPort = await freePort();
    redisServer = await startPrivateRedis(redisPort);
  });
  // Each test has its replicas to itself: one left from an earlier test would load the counters again in their place.
  afterEach(async () => {
    for (const relay of running) if (relay.child.exitCode === null) relay.child.kill('SIGKILL');
    await Promise.all(running.map((relay) => relay.exited));
  });
  afterAll(async () => {
    redisServer?.kill('SIGKILL');
    await upstream.stop();
    await schema?.drop();
  });

  it('serve prepaid requests again within seconds of Redis coming back empty, though requests ended while it was away', { timeout: 120_000 }, async () => {
    const [a, b] = [await replica(), await replica()];
    const account = await admin<{ id: string }>(a.url, '/admin/accounts', 'POST', { name: 'prepaid' });
    await admin(a.url, `/admin/accounts/${account.id}/topup`, 'POST', { amount: 1 });
    const key = await admin<{ id: string; key: string }>(a.url, '/admin/keys', 'POST', { name: 'prepaid', account: account.id });
    await new Promise((resolve) => setTimeout(resolve, 1000)); // both replicas know the key

    // One stream at each replica (30 words, 100 ms apart); Redis goes away while they run, and they end meanwhile.
    upstream.setStreamDefaults({ chunks: 30, delayMs: 100 });
    const before = upstream.requests.length;
    const streams = [stream(a.url, key.key), stream(b.url, key.key)];
    await expect.poll(() => upstream.requests.length - before, { timeout: 5000, interval: 20 }).toBe(2);
    redisServer!.kill('SIGKILL');
    await new Promise((resolve) => redisServer!.once('exit', resolve));
    expect(await Promise.all(streams)).toEqual(['ok', 'ok']);
    upstream.setStreamDefaults({ chunks: 5, delayMs: 0 });
    await a.relay.waitForLog(/Redis is unreachable/);
    await b.relay.waitForLog(/Redis is unreachable/);

    // Redis comes back without its data (no persistence): the relays load the balances again (docs: within 2 s).
    redisServer = await startPrivateRedis(redisPort);
    // A client with a 10 s timeout: an answer within it, at either replica.
    const ask = (base: string) =>
      new OpenAI({ apiKey: key.key, baseURL: `${base}/v1`, maxRetries: 0, timeout: 10_000 }).chat.completions
        .create({ model: 'gpt-4.1', max_tokens: 20, messages: [{ role: 'user', content: 'Hello.' }] })
        .then(() => 'ok', (error: APIError) => String(error.code ?? error.constructor.name));
    await expect.poll(() => ask(a.url), { timeout: 12_000, interval: 500 }).toBe('ok');
    expect(await ask(b.url)).toBe('ok');
  });

  it('keep an account its balance when Redis comes back empty after replicas served it from their shares (fail-open)', { timeout: 60_000 }, async () => {
    const { a, b, account, ask } = await failOpenAccount('prepaid-fail-open');

    // Redis goes away: each replica serves the account from its share of the balance it saw.
    await restartRedisEmpty();
    await a.relay.waitForLog(/Redis is unreachable/);
    await b.relay.waitForLog(/Redis is unreachable/);
    expect([await ask(a.url), await ask(b.url)]).toEqual(['ok', 'ok']);

    // Redis comes back without its data: the relays load the balances again from the database, which has what they spent.
    redisServer = await startPrivateRedis(redisPort);
    await a.relay.waitForLog(/Redis is reachable again/);
    await b.relay.waitForLog(/Redis is reachable again/);
    const restored = () => [a, b].some((replica) => /limit counters were missing from Redis/.test(replica.relay.stdout()));
    await expect.poll(restored, { timeout: 10_000, interval: 100 }).toBe(true);
    // $1 - 4 × $0.018 = $0.928 left, in the database and for admission.
    await expect.poll(async () => (await admin<{ balance: number }>(a.url, `/admin/accounts/${account.id}`)).balance, { timeout: 5000, interval: 100 }).toBeCloseTo(0.928, 9);
    await new Promise((resolve) => setTimeout(resolve, 2500)); // every replica's next look at the counters
    expect([await ask(a.url), await ask(b.url)]).toEqual(['ok', 'ok']);
  });

  it('charge an account once what replicas served it from their shares while Redis did not answer, when it answers again with its data (fail-open)', { timeout: 60_000 }, async () => {
    const { a, b, account, ask } = await failOpenAccount('prepaid-frozen');

    // Redis stops answering (its data stays): each replica serves the account from its share.
    redisServer!.kill('SIGSTOP');
    try {
      await a.relay.waitForLog(/Redis is unreachable/);
      await b.relay.waitForLog(/Redis is unreachable/);
      expect([await ask(a.url), await ask(b.url)]).toEqual(['ok', 'ok']);
      // $1 - 4 × $0.018 in the database, which has the two answered meanwhile.
      await expect.poll(async () => (await admin<{ balance: number }>(a.url, `/admin/accounts/${account.id}`)).balance, { timeout: 5000, interval: 100 }).toBeCloseTo(0.928, 9);
    } finally {
      redisServer!.kill('SIGCONT');
    }
    await a.relay.waitForLog(/Redis is reachable again/);
    await b.relay.waitForLog(/Redis is reachable again/);
    const counted = () => [a, b].some((replica) => /balance changes that waited for Redis are counted there now/.test(replica.relay.stdout()));
    await expect.poll(counted, { timeout: 10_000, interval: 100 }).toBe(true);
    // Redis holds $0.928 as well, not the $0.964 it had nor $0.892: a request reserving $0.929 is
    // refused, one reserving $0.928 admitted.
    expect(await ask(a.url, 923)).toBe('insufficient_balance');
    expect(await ask(b.url, 922)).toBe('ok');
  });
});
