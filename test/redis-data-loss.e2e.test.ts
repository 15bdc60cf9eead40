import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import OpenAI, { APIError } from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { installed, reachable } from './support/services.js';
import { startPrivateRedis } from './support/private-redis.js';
import { freePort, spawnRelay, type SpawnedRelay } from './support/spawn-relay.js';

const master = 'sk-relay-redis-loss-master-0123456789';
const services = await reachable();
if (services.why !== undefined) process.stdout.write(`redis-data-loss.e2e: skipped: ${services.why}\n`);

/**
 * A Redis that restarts without its data (no persistence, or a new pod) loses every balance and
 * budget counter: balances would read 0 and refuse every prepaid request, budgets would start the
 * period over. The relay notices the loss and loads them again from the database.
 */
describe.skipIf(services.why !== undefined)('limits in a Redis that loses its data', () => {
  const upstream = new MockOpenAIUpstream();
  // A database of this Redis of its own, emptied by the test as a restart without persistence would.
  const redisUrl = `${(services.redisUrl ?? '').replace(/\/\d*$/, '')}/11`;
  let redis: Redis;
  let relay: SpawnedRelay;
  let url: string;

  beforeAll(async () => {
    await upstream.start();
    redis = new Redis(redisUrl);
    await redis.flushdb();
    const cwd = mkdtempSync(join(tmpdir(), 'relay-redis-loss-'));
    // gpt-4.1 at $1000 per 1M tokens: the mock's 11 + 7 tokens cost $0.018 a request; a request's worst case (20 output tokens) ~$0.035.
    writeFileSync(
      join(cwd, 'relay.yaml'),
      'billing:\n  prices:\n    gpt-4.1: { input: 1000, output: 1000, officialInput: 4000, officialOutput: 4000 }\n  signupCredit: { amount: 0.1, currency: USD }\nledger:\n  flushIntervalMs: 100\n',
    );
    const port = await freePort();
    relay = spawnRelay(['serve', '--drain-delay-ms', '0'], {
      cwd,
      env: { PORT: String(port), RELAY_MASTER_KEY: master, REDIS_URL: redisUrl, HOLYSHEEP_API_KEY: 'hs-key-0123456789', HOLYSHEEP_BASE_URL: upstream.url },
    });
    await relay.waitForLog(/relay listening/);
    url = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    relay.child.kill('SIGTERM');
    await relay.exited;
    await redis.flushdb();
    redis.disconnect();
    await upstream.stop();
  });

  const admin = async <T>(path: string, body: unknown): Promise<T> => {
    const response = await request(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${master}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return (await response.body.json()) as T;
  };
  const ask = (key: string) =>
    new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0 }).chat.completions
      .create({ model: 'gpt-4.1', max_tokens: 20, messages: [{ role: 'user', content: 'Please answer this question in a few words.' }] })
      .then(() => 'ok', (error: APIError) => String(error.code));

  it('loads balances and budget spend again from the database', async () => {
    const account = await admin<{ id: string }>('/admin/accounts', { name: 'prepaid' });
    const prepaid = await admin<{ key: string }>('/admin/keys', { name: 'prepaid', account: account.id });
    // $0.08 a day: three requests ($0.054), and not a fourth one's worst case.
    const budgeted = await admin<{ key: string }>('/admin/keys', { name: 'budgeted', budget: { amount: 0.08, currency: 'USD', period: 'daily' } });
    expect([await ask(budgeted.key), await ask(budgeted.key), await ask(budgeted.key), await ask(budgeted.key)]).toEqual(['ok', 'ok', 'ok', 'budget_exceeded']);
    // $0.1 - 2 × $0.018 = $0.064 left.
    expect([await ask(prepaid.key), await ask(prepaid.key)]).toEqual(['ok', 'ok']);
    await new Promise((resolve) => setTimeout(resolve, 500)); // the ledger's flush

    await redis.flushdb();
    await relay.waitForLog(/limit counters were missing from Redis/);
    // The budget's spend is back: still exceeded. The balance is back: two more requests ($0.028 left), then not a third.
    expect(await ask(budgeted.key)).toBe('budget_exceeded');
    expect([await ask(prepaid.key), await ask(prepaid.key), await ask(prepaid.key)]).toEqual(['ok', 'ok', 'insufficient_balance']);
  });

  it('counts a top-up made before the relay noticed the loss once, on top of the balance it had', async () => {
    const account = await admin<{ id: string }>('/admin/accounts', { name: 'topped-in-the-gap' });
    const prepaid = await admin<{ key: string }>('/admin/keys', { name: 'topped-in-the-gap', account: account.id });
    expect(await ask(prepaid.key)).toBe('ok');
    await new Promise((resolve) => setTimeout(resolve, 500)); // the ledger's flush: $0.082 left
    const restores = () => relay.stdout().match(/limit counters were missing from Redis/g)?.length ?? 0;
    const before = restores();

    await redis.flushdb();
    // Within the 2 s before the relay's next look at Redis: the top-up reaches a Redis without the balance.
    const toppedUp = await admin<{ balance: number }>(`/admin/accounts/${account.id}/topup`, { amount: 0.05 });
    expect(toppedUp.balance).toBeCloseTo(0.132, 9);
    await expect.poll(restores, { timeout: 5000, interval: 50 }).toBe(before + 1);
    await relay.waitForLog(/balance changes that waited for Redis are counted there now|limit counters were missing from Redis/);
    // $0.132: six requests of $0.018 above a worst case of ~$0.035, not a seventh.
    const answers = [];
    for (let index = 0; index < 7; index++) answers.push(await ask(prepaid.key));
    expect(answers).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'insufficient_balance']);
  });
});

const redisServerMissing = installed('redis-server') ? undefined : 'redis-server is not installed';
if (redisServerMissing !== undefined && process.env.REQUIRE_SERVICES !== '1') process.stdout.write(`redis-data-loss.e2e: Redis restart case skipped: ${redisServerMissing}\n`);

function newDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'relay-redis-restart-'));
  writeFileSync(
    join(directory, 'relay.yaml'),
    'billing:\n  prices:\n    gpt-4.1: { input: 1000, output: 1000, officialInput: 4000, officialOutput: 4000 }\n  signupCredit: { amount: 0.1, currency: USD }\nledger:\n  flushIntervalMs: 100\n',
  );
  return directory;
}

/** A Redis of the test's own, without persistence: killed and started again, it comes back empty. */
describe.skipIf(redisServerMissing !== undefined && process.env.REQUIRE_SERVICES !== '1')('a relay whose Redis restarts empty', () => {
  const upstream = new MockOpenAIUpstream();
  const running: SpawnedRelay[] = [];
  let redisServer: ChildProcess | undefined;
  let redisPort: number;
  let cwd: string;

  async function startRedis(): Promise<void> {
    if (redisServerMissing !== undefined) throw new Error(`${redisServerMissing} (REQUIRE_SERVICES=1)`);
    redisServer = await startPrivateRedis(redisPort);
  }

  async function startRelay(directory = cwd, viaPort = redisPort): Promise<{ relay: SpawnedRelay; url: string }> {
    const port = await freePort();
    const relay = spawnRelay(['serve', '--drain-delay-ms', '0'], {
      cwd: directory,
      env: { PORT: String(port), RELAY_MASTER_KEY: master, REDIS_URL: `redis://127.0.0.1:${viaPort}`, HOLYSHEEP_API_KEY: 'hs-key-0123456789', HOLYSHEEP_BASE_URL: upstream.url },
    });
    running.push(relay);
    await relay.waitForLog(/relay listening/);
    return { relay, url: `http://127.0.0.1:${port}` };
  }

  beforeAll(async () => {
    await upstream.start();
    redisPort = await freePort();
    cwd = newDirectory();
  });
  afterAll(async () => {
    for (const relay of running) if (relay.child.exitCode === null) relay.child.kill('SIGKILL');
    await Promise.all(running.map((relay) => relay.exited));
    redisServer?.kill('SIGKILL');
    await upstream.stop();
  });

  /** An account opened with the sign-up credit ($0.1), a key charged to it, and a request with that key ('ok' or the error code). */
  async function prepaidAccount(url: string) {
    const post = async (path: string, body: unknown) => {
      const response = await request(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${master}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.statusCode, body: (await response.body.json()) as { id: string; key: string; balance: number } };
    };
    const account = (await post('/admin/accounts', { name: 'prepaid' })).body;
    const key = (await post('/admin/keys', { name: 'prepaid', account: account.id })).body;
    const ask = () =>
      new OpenAI({ apiKey: key.key, baseURL: `${url}/v1`, maxRetries: 0 }).chat.completions
        .create({ model: 'gpt-4.1', max_tokens: 20, messages: [{ role: 'user', content: 'Please answer this question in a few words.' }] })
        .then(() => 'ok', (error: APIError) => String(error.code));
    return { post, account, ask };
  }

  it('starts while Redis is down, refuses limited requests meanwhile, and has the balances back once Redis is up again, empty', async () => {
    await startRedis();
    const { relay, url } = await startRelay();
    const { ask } = await prepaidAccount(url);
    // $0.1 - $0.018 = $0.082 left after this one: three more requests ($0.064, $0.046, $0.028), not a fourth (a worst case of ~$0.035).
    expect(await ask()).toBe('ok');
    await new Promise((resolve) => setTimeout(resolve, 500)); // the ledger's flush

    redisServer!.kill('SIGKILL');
    await relay.waitForLog(/Redis is unreachable/);
    expect(await ask()).toBe('limits_unavailable');
    // A replica started meanwhile starts and is ready: limits.onBackendFailure decides its limited requests.
    const second = await startRelay();
    const ready = await request(`${second.url}/ready`);
    await ready.body.dump();
    expect(ready.statusCode).toBe(200);

    await startRedis();
    await expect.poll(() => ask(), { timeout: 10_000, interval: 200 }).toBe('ok');
    expect([await ask(), await ask(), await ask()]).toEqual(['ok', 'ok', 'insufficient_balance']);
    expect(relay.stdout().concat(second.relay.stdout())).toMatch(/limit counters were missing from Redis/);
  });

  it('takes a top-up while Redis does not answer, and counts it once when Redis answers again', async () => {
    if (redisServer?.exitCode !== null) await startRedis();
    const { relay, url } = await startRelay(newDirectory());
    const { post, account, ask } = await prepaidAccount(url);
    expect(await ask()).toBe('ok');
    await new Promise((resolve) => setTimeout(resolve, 500)); // the ledger's flush

    // Stopped, not gone: the relay's calls time out, and the one that carried the top-up may yet reach Redis.
    redisServer!.kill('SIGSTOP');
    const toppedUp = await post(`/admin/accounts/${account.id}/topup`, { amount: 0.05 });
    expect(toppedUp.status).toBe(200);
    expect(toppedUp.body.balance).toBeCloseTo(0.132, 9);
    await relay.waitForLog(/balance changed in the database; Redis is unreachable/);
    const waiting = async () => {
      const text = await (await request(`${url}/metrics`)).body.text();
      return Number(/^relay_credit_changes_waiting (\S+)$/m.exec(text)?.[1]);
    };
    await expect.poll(waiting, { timeout: 6000, interval: 200 }).toBe(1);
    redisServer!.kill('SIGCONT');
    // The top-up that timed out reaches Redis now, and the relay hands it over again: it counts once.
    await relay.waitForLog(/balance changes that waited for Redis are counted there now/);
    expect(await waiting()).toBe(0);

    // $0.132 is six requests of $0.018 above a worst case of ~$0.035 ($0.114 … $0.024), and not a seventh.
    expect(await ask()).toBe('ok');
    const rest = [];
    for (let index = 0; index < 6; index++) rest.push(await ask());
    expect(rest).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'insufficient_balance']);
  });

  it('keeps a top-up Redis never received in the database, and another replica counts it after the first one died', async () => {
    if (redisServer?.exitCode !== null) await startRedis();
    // Between the relay and Redis: a proxy that can swallow what the relay sends, as a broken network would.
    let swallowing = false;
    const proxy = createServer((client: Socket) => {
      const server = connect(redisPort, '127.0.0.1');
      client.on('data', (bytes) => {
        if (!swallowing) server.write(bytes);
      });
      server.pipe(client);
      for (const socket of [client, server]) socket.on('error', () => {});
      client.on('close', () => server.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyPort = (proxy.address() as { port: number }).port;
    try {
      const directory = newDirectory();
      const first = await startRelay(directory, proxyPort);
      const { post, account, ask } = await prepaidAccount(first.url);
      expect(await ask()).toBe('ok');
      await new Promise((resolve) => setTimeout(resolve, 500)); // the ledger's flush

      swallowing = true;
      const toppedUp = await post(`/admin/accounts/${account.id}/topup`, { amount: 0.05 });
      expect(toppedUp.status).toBe(200);
      await first.relay.waitForLog(/balance changed in the database; Redis is unreachable/);
      first.relay.child.kill('SIGKILL');
      await first.relay.exited;
      swallowing = false;

      // The same database, another replica: it finds the change waiting, and counts it.
      const second = await startRelay(directory, proxyPort);
      await second.relay.waitForLog(/balance changes that waited for Redis are counted there now/);
      const created = await request(`${second.url}/admin/keys`, { method: 'POST', headers: { authorization: `Bearer ${master}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'again', account: account.id }) });
      const { key } = (await created.body.json()) as { key: string };
      const askSecond = () =>
        new OpenAI({ apiKey: key, baseURL: `${second.url}/v1`, maxRetries: 0 }).chat.completions
          .create({ model: 'gpt-4.1', max_tokens: 20, messages: [{ role: 'user', content: 'Please answer this question in a few words.' }] })
          .then(() => 'ok', (error: APIError) => String(error.code));
      // $0.132: six requests, not a seventh.
      const answers = [];
      for (let index = 0; index < 7; index++) answers.push(await askSecond());
      expect(answers).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'insufficient_balance']);
    } finally {
      proxy.close();
    }
  });
});

