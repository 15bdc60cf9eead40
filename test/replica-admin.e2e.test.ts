import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { type APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminJson } from './support/limited-relay.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { streamGpt41 } from './support/stream-gpt41.js';
import { freshSchema, reachable } from './support/services.js';
import { freePort, spawnRelay, type SpawnedRelay } from './support/spawn-relay.js';
import { masterKey } from './support/start-relay.js';

const services = await reachable();
if (services.why !== undefined) process.stdout.write(`replica-admin.e2e: skipped: ${services.why}\n`);

/** gpt-4.1 at $1000 per 1M tokens: a JSON answer of the mock (11 + 7 tokens) costs $0.018. */
const prices = 'billing:\n  prices:\n    gpt-4.1: { input: 1000, output: 1000, officialInput: 4000, officialOutput: 4000 }\n';

describe.skipIf(services.why !== undefined)('replicas sharing Postgres and Redis: admin changes and limits', () => {
  const upstream = new MockOpenAIUpstream();
  // A Redis database of this file's own.
  const redisUrl = `${(services.redisUrl ?? '').replace(/\/\d*$/, '')}/14`;
  let schema: Awaited<ReturnType<typeof freshSchema>>;
  const running: SpawnedRelay[] = [];

  async function replica(yaml: string, env: Record<string, string> = {}): Promise<{ relay: SpawnedRelay; url: string }> {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-replica-admin-'));
    writeFileSync(join(cwd, 'relay.yaml'), yaml);
    const port = await freePort();
    const relay = spawnRelay(['serve', '--drain-delay-ms', '0', '--grace-period-ms', '3000'], {
      cwd,
      env: { PORT: String(port), RELAY_MASTER_KEY: masterKey, DATABASE_URL: schema.url, REDIS_URL: redisUrl, HOLYSHEEP_API_KEY: 'hs-key-0123456789', HOLYSHEEP_BASE_URL: upstream.url, MAX_RETRIES: '0', ...env },
    });
    running.push(relay);
    await relay.waitForLog(/relay listening/);
    return { relay, url: `http://127.0.0.1:${port}` };
  }

  const admin = adminJson;

  const ask = (base: string, key: string, maxTokens = 20) =>
    new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 }).chat.completions
      .create({ model: 'gpt-4.1', max_tokens: maxTokens, messages: [{ role: 'user', content: 'Hello.' }] })
      .then(() => 'ok', (error: APIError) => String(error.code ?? error.status));

  const stream = streamGpt41;

  type Usage = { data: Array<{ requests: number; cost: number }> };
  const ledgerCost = async (base: string, keyId: string) => (await admin<Usage>(base, `/admin/usage?group_by=key&key=${keyId}`)).data.reduce((sum, row) => sum + Math.round(row.cost * 1e6), 0);
  const ledgerRequests = async (base: string, keyId: string) => (await admin<Usage>(base, `/admin/usage?group_by=key&key=${keyId}`)).data.reduce((sum, row) => sum + row.requests, 0);
  const known = (base: string, key: string) => fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${key}` } }).then((response) => response.status);

  beforeAll(async () => {
    await upstream.start();
    schema = await freshSchema(services.databaseUrl!);
  });
  afterAll(async () => {
    for (const relay of running) if (relay.child.exitCode === null) relay.child.kill('SIGKILL');
    await Promise.all(running.map((relay) => relay.exited));
    await upstream.stop();
    await schema?.drop();
  });

  it('rotate a key at one replica: the other refuses the old secret and takes the new one within a second', async () => {
    const [a, b] = [await replica(prices), await replica(prices)];
    const key = await admin<{ id: string; key: string }>(a.url, '/admin/keys', 'POST', { name: 'rotated' });
    await expect.poll(() => known(b.url, key.key), { timeout: 3000, interval: 400 }).toBe(200);
    const rotated = await admin<{ key: string }>(a.url, `/admin/keys/${key.id}/rotate`, 'POST');
    await expect.poll(() => known(b.url, rotated.key), { timeout: 1500, interval: 100 }).toBe(200);
    expect(await known(b.url, key.key)).toBe(401);
    expect(await ask(b.url, rotated.key)).toBe('ok');
  });

  it('follow a max_parallel and an rpm changed at another replica, and hold max_parallel together', async () => {
    const [a, b] = [await replica(prices), await replica(prices)];
    const key = await admin<{ id: string; key: string }>(a.url, '/admin/keys', 'POST', { name: 'parallel', max_parallel: 10 });
    await expect.poll(() => known(b.url, key.key), { timeout: 3000, interval: 400 }).toBe(200);
    await admin(a.url, `/admin/keys/${key.id}`, 'PATCH', { max_parallel: 3 });
    await new Promise((resolve) => setTimeout(resolve, 1200));
    upstream.setStreamDefaults({ chunks: 20, delayMs: 100 });
    try {
      const before = upstream.requests.length;
      const streams = Array.from({ length: 10 }, (_, index) => stream(index % 2 === 0 ? a.url : b.url, key.key));
      const results = await Promise.all(streams);
      expect(results.filter((result) => result === 'ok')).toHaveLength(3);
      expect(results.filter((result) => result !== 'ok')).toEqual(Array(7).fill('parallel_limit_exceeded'));
      expect(upstream.requests.length - before).toBe(3);
    } finally {
      upstream.setStreamDefaults({ chunks: 5, delayMs: 0 });
    }
    await admin(b.url, `/admin/keys/${key.id}`, 'PATCH', { max_parallel: null, rpm: 4 });
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const answers = await Promise.all(Array.from({ length: 8 }, (_, index) => ask(index % 2 === 0 ? a.url : b.url, key.key)));
    expect(answers.filter((answer) => answer === 'ok')).toHaveLength(4);
  });

  it('hold one TPM limit together', async () => {
    const [a, b] = [await replica(`${prices}ledger:\n  flushIntervalMs: 100\n`), await replica(`${prices}ledger:\n  flushIntervalMs: 100\n`)];
    // 'Hello.' estimates 6 prompt tokens; with max_tokens 20, a request reserves 26 and settles at the 18 it used.
    const key = await admin<{ id: string; key: string }>(a.url, '/admin/keys', 'POST', { name: 'tpm', tpm: 62 });
    await expect.poll(() => known(b.url, key.key), { timeout: 3000, interval: 400 }).toBe(200);
    // 62 tokens a minute: three requests (18, 36, then 36 + 26 = 62), not a fourth (54 + 26).
    const answers: string[] = [];
    for (let index = 0; index < 5; index++) {
      // The answers before have settled (a request's ledger record follows its settle, which follows its answer).
      const answered = answers.filter((answer) => answer === 'ok').length;
      await expect.poll(() => ledgerRequests(a.url, key.id), { timeout: 5000, interval: 50 }).toBe(answered);
      answers.push(await ask(index % 2 === 0 ? a.url : b.url, key.key));
    }
    expect(answers).toEqual(['ok', 'ok', 'ok', 'rate_limit_exceeded', 'rate_limit_exceeded']);
  });

  it('let 40 parallel requests split over two replicas spend a balance that covers 10, and the ledger matches the balance', async () => {
    const [a, b] = [await replica(`${prices}ledger:\n  flushIntervalMs: 100\n`), await replica(`${prices}ledger:\n  flushIntervalMs: 100\n`)];
    const account = await admin<{ id: string }>(a.url, '/admin/accounts', 'POST', { name: 'prepaid' });
    // A request costs $0.018 and reserves $0.026 (6 + 20 tokens).
    await admin(b.url, `/admin/accounts/${account.id}/topup`, 'POST', { amount: 0.18 });
    const key = await admin<{ id: string; key: string }>(b.url, '/admin/keys', 'POST', { name: 'prepaid', account: account.id });
    await expect.poll(() => known(a.url, key.key), { timeout: 3000, interval: 400 }).toBe(200);
    const answers = await Promise.all(Array.from({ length: 40 }, (_, index) => ask(index % 2 === 0 ? a.url : b.url, key.key)));
    const ok = answers.filter((answer) => answer === 'ok').length;
    expect(ok).toBeGreaterThanOrEqual(6);
    expect(ok).toBeLessThanOrEqual(10);
    await expect.poll(() => ledgerRequests(a.url, key.id), { timeout: 5000, interval: 100 }).toBe(ok);
    const spent = await ledgerCost(b.url, key.id);
    expect(spent).toBe(ok * 18_000);
    await expect.poll(async () => Math.round((await admin<{ balance: number }>(b.url, `/admin/accounts/${account.id}`)).balance * 1e6), { timeout: 3000, interval: 100 }).toBe(180_000 - spent);
  });

  it('let 40 parallel requests split over two replicas spend no more than a daily budget in another currency', async () => {
    const [a, b] = [await replica(`${prices}ledger:\n  flushIntervalMs: 100\n`), await replica(`${prices}ledger:\n  flushIntervalMs: 100\n`)];
    // €0.1656 = $0.18 at 0.92 EUR a dollar: a request costs $0.018 and reserves $0.026.
    const key = await admin<{ id: string; key: string }>(a.url, '/admin/keys', 'POST', { name: 'budget-eur', budget: { amount: 0.1656, currency: 'EUR', period: 'daily' } });
    await expect.poll(() => known(b.url, key.key), { timeout: 3000, interval: 400 }).toBe(200);
    const answers = await Promise.all(Array.from({ length: 40 }, (_, index) => ask(index % 2 === 0 ? a.url : b.url, key.key)));
    const ok = answers.filter((answer) => answer === 'ok').length;
    expect(answers.filter((answer) => answer !== 'ok').every((answer) => answer === 'budget_exceeded')).toBe(true);
    expect(ok).toBeLessThanOrEqual(10);
    await expect.poll(() => ledgerRequests(a.url, key.id), { timeout: 5000, interval: 100 }).toBe(ok);
    // The ledger counts in the budget's currency: €0.01656 a request.
    expect(await ledgerCost(b.url, key.id)).toBe(ok * 16_560);
    // What is left ($0.18 - ok × $0.018) admits requests one by one at either replica until it is spent.
    const more: string[] = [];
    for (let index = 0; index < 11 - ok; index++) more.push(await ask(index % 2 === 0 ? b.url : a.url, key.key));
    expect(more.filter((answer) => answer === 'ok').length + ok).toBeLessThanOrEqual(10);
    expect(more.at(-1)).toBe('budget_exceeded');
  });

  it("count in a budget set at one replica what the key spent this period at another, also what was not in the ledger yet", async () => {
    // b writes its ledger every 5 s: what it answered in the last seconds is not in the database yet.
    const a = await replica(`${prices}ledger:\n  flushIntervalMs: 100\n`);
    const b = await replica(`${prices}ledger:\n  flushIntervalMs: 5000\n`);
    const key = await admin<{ id: string; key: string }>(a.url, '/admin/keys', 'POST', { name: 'budget-later' });
    await expect.poll(() => known(b.url, key.key), { timeout: 3000, interval: 400 }).toBe(200);
    // Five requests at b, $0.018 each: $0.09 spent today.
    for (let index = 0; index < 5; index++) expect(await ask(b.url, key.key)).toBe('ok');
    // A daily budget of $0.10 set at a: $0.01 left, less than a request's worst case ($0.026).
    await admin(a.url, `/admin/keys/${key.id}`, 'PATCH', { budget: { amount: 0.1, currency: 'USD', period: 'daily' } });
    // Once b's records are in the ledger too, the key has spent $0.09 of its $0.10 today.
    await expect.poll(() => ledgerRequests(a.url, key.id), { timeout: 10_000, interval: 200 }).toBe(5);
    expect(await ledgerCost(a.url, key.id)).toBe(90_000);
    expect(await ask(a.url, key.key)).toBe('budget_exceeded');
    expect(await ask(b.url, key.key)).toBe('budget_exceeded');
  });
});
