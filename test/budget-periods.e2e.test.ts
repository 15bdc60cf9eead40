import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI, { type APIError } from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { reachable } from './support/services.js';
import { freePort, spawnRelay, type SpawnedRelay } from './support/spawn-relay.js';

const services = await reachable();
if (services.redisUrl === undefined) process.stdout.write(`budget-periods.e2e: the Redis case is skipped: ${services.why}\n`);

const master = 'sk-relay-periods-master-0123456789';
const clock = fileURLToPath(new URL('./support/clock-starts-at.mjs', import.meta.url));
/** A year's last midnight (UTC): the day, the month and the year end together. */
const midnight = Date.UTC(2027, 0, 1);

describe('budget periods', () => {
  const upstream = new MockOpenAIUpstream();
  const running: SpawnedRelay[] = [];

  beforeAll(async () => {
    await upstream.start();
  });
  afterAll(async () => {
    for (const relay of running) if (relay.child.exitCode === null) relay.child.kill('SIGKILL');
    await Promise.all(running.map((relay) => relay.exited));
    await upstream.stop();
  });

  /** A relay whose clock reads 8 s before midnight when it starts. */
  async function relayBeforeMidnight(environment: Record<string, string>): Promise<string> {
    const directory = mkdtempSync(join(tmpdir(), 'relay-periods-'));
    // gpt-4.1 at $1000 per 1M tokens: a request answered with 11 + 7 tokens costs $0.018.
    writeFileSync(join(directory, 'relay.yaml'), 'billing:\n  prices:\n    gpt-4.1: { input: 1000, output: 1000, officialInput: 4000, officialOutput: 4000 }\nledger:\n  flushIntervalMs: 50\n');
    const port = await freePort();
    const relay = spawnRelay(['serve'], {
      cwd: directory,
      env: {
        PORT: String(port),
        RELAY_MASTER_KEY: master,
        HOLYSHEEP_API_KEY: 'hs-key-0123456789',
        HOLYSHEEP_BASE_URL: upstream.url,
        NODE_OPTIONS: `--import ${clock}`,
        TEST_CLOCK_STARTS_AT: String(midnight - 8_000),
        ...environment,
      },
    });
    running.push(relay);
    await relay.waitForLog(/relay listening/);
    return `http://127.0.0.1:${port}`;
  }

  async function admin<T>(base: string, path: string, body?: unknown): Promise<T> {
    const response = await request(`${base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${master}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await response.body.json()) as T;
  }

  async function ask(base: string, key: string): Promise<string> {
    try {
      const completion = await new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4.1', max_tokens: 20, messages: [{ role: 'user', content: 'Hello.' }] });
      return completion.choices[0]?.message.content ?? '';
    } catch (error) {
      return (error as APIError).code ?? String((error as APIError).status);
    }
  }

  type Day = { group: string; requests: number; cost: number };
  const days = async (base: string, keyId: string) => (await admin<{ data: Day[] }>(base, `/admin/usage?group_by=day&key=${keyId}`)).data;

  it.each([
    ['in memory', {}],
    ['in Redis', { REDIS_URL: services.redisUrl ?? '' }],
  ])('charge a request that ends after midnight to the day it ends in, where the ledger dates it (%s)', async (name, environment) => {
    if (name === 'in Redis' && services.redisUrl === undefined) return;
    const base = await relayBeforeMidnight(environment);
    const created = await admin<{ id: string; key: string }>(base, '/admin/keys', { name: 'daily', budget: { amount: 0.09, currency: 'USD', period: 'daily' } });
    for (let index = 0; index < 3; index++) expect(await ask(base, created.key)).toBe('echo: Hello.');

    // Admitted before midnight, answered after it: 48 chunks, 250 ms apart.
    upstream.next({ kind: 'stream', chunks: 48, delayMs: 250 });
    const stream = await new OpenAI({ apiKey: created.key, baseURL: `${base}/v1`, maxRetries: 0 }).chat.completions.create({
      model: 'gpt-4.1',
      max_tokens: 20,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Hello.' }],
    });
    for await (const _chunk of stream) {
      // read to the end
    }
    await expect.poll(async () => (await days(base, created.id)).map((day) => [day.group, day.requests])).toEqual([
      ['2026-12-31', 3],
      ['2027-01-01', 1],
    ]);

    // The new day's budget holds what that request cost: the requests that follow stop where the
    // day's spend in the ledger reaches the budget, not $0.09 later.
    for (let index = 0; index < 10 && (await ask(base, created.key)) !== 'budget_exceeded'; index++);
    await expect.poll(async () => (await days(base, created.id)).reduce((sum, day) => sum + day.requests, 0)).toBeGreaterThan(4);
    const newDay = (await days(base, created.id)).find((day) => day.group === '2027-01-01')!;
    expect(newDay.requests).toBeGreaterThan(1);
    expect(newDay.cost).toBeLessThanOrEqual(0.09);
  }, 60_000);
});
