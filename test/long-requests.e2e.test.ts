import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { reachable } from './support/services.js';
import type { StartedRelay } from './support/start-relay.js';
import { adminJson, startLimitedRelay } from './support/limited-relay.js';

/**
 * A request may last longer than a reservation lives (a stream is not cut by the request deadline,
 * and a long answer takes minutes): the relay renews its reservation while it runs, so the key's
 * parallel slot stays taken until it ends, and its settle charges the budget and the balance what
 * it cost, as the ledger does. The reservations here live 1.5 s instead of ten minutes.
 */

const services = await reachable();
if (services.redisUrl === undefined) process.stdout.write(`long-requests.e2e: the Redis cases are skipped: ${services.why}\n`);

/** gpt-4.1 at $1000 per 1M tokens: a token costs $0.001. */
const pricing = 'billing:\n  prices:\n    gpt-4.1: { input: 1000, output: 1000, officialInput: 4000, officialOutput: 4000 }\nledger:\n  flushIntervalMs: 50\n';
const reservationTtlMs = 1_500;

const upstream = new MockOpenAIUpstream();
let relay: StartedRelay | undefined;

beforeAll(async () => {
  await upstream.start();
});
afterAll(async () => {
  await upstream.stop();
});
afterEach(async () => {
  await relay?.close();
  relay = undefined;
  upstream.reset();
});

async function start(limitsStore: 'memory' | 'redis', longestRequestMs?: number): Promise<StartedRelay> {
  const directory = mkdtempSync(join(tmpdir(), 'relay-long-requests-'));
  const started = await startLimitedRelay({ directory, yaml: pricing, limits: limitsStore, redisUrl: services.redisUrl, upstreamUrl: upstream.url, reservationTtlMs, longestRequestMs });
  relay = started;
  return started;
}

const admin = <T = Record<string, unknown>>(path: string, method: 'GET' | 'POST' = 'GET', body?: unknown): Promise<T> => adminJson<T>(relay!.url, path, method, body);

function chat(key: string, body: Record<string, unknown>) {
  return request(`${relay!.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'Hello.' }], ...body }),
  });
}

/** The answer's status and, for a refusal, its code. */
async function ask(key: string, maxTokens: number): Promise<{ status: number; code: string | undefined }> {
  const response = await chat(key, { max_tokens: maxTokens });
  const answer = (await response.body.json()) as { error?: { code: string } };
  return { status: response.statusCode, code: answer.error?.code };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(['memory', 'redis'] as const)('requests longer than a reservation lives, with the %s store', (limitsStore) => {
  it.skipIf(limitsStore === 'redis' && services.redisUrl === undefined)(
    'keep their parallel slot until they end, and are charged to the budget and the balance what they cost',
    async () => {
      await start(limitsStore);
      const account = await admin<{ id: string }>('/admin/accounts', 'POST', { name: 'long-streams', currency: 'USD' });
      await admin(`/admin/accounts/${account.id}/topup`, 'POST', { amount: 1, currency: 'USD' });
      const { key } = await admin<{ key: string; id: string }>('/admin/keys', 'POST', {
        name: 'one-at-a-time',
        account: account.id,
        max_parallel: 1,
        budget: { amount: 1, currency: 'USD', period: 'monthly' },
      });

      // A stream of 6 words, 0.6 s apart: more than two lifetimes of a reservation. It reserves
      // its worst case (600 tokens and the prompt, ~$0.60) of the $1 budget and the $1 balance.
      upstream.next({ kind: 'stream', chunks: 6, delayMs: 600 });
      const streaming = await chat(key, { max_tokens: 600, stream: true, stream_options: { include_usage: true } });
      expect(streaming.statusCode).toBe(200);
      const streamed = streaming.body.text();

      // Past the first reservation's lifetime, the stream still holds the key's only slot.
      await sleep(reservationTtlMs * 1.5);
      expect(await ask(key, 20)).toEqual({ status: 429, code: 'parallel_limit_exceeded' });
      expect(upstream.requests).toHaveLength(1);

      const text = await streamed;
      expect(text).toContain('word5');
      expect(text).toContain('"completion_tokens":6');
      // The ledger: 9 + 6 tokens, $0.015.
      await expect.poll(async () => (await admin<{ data: Array<{ requests: number }> }>(`/admin/usage?group_by=key`)).data[0]?.requests).toBe(1);
      const spent = (await admin<{ data: Array<{ cost: number }> }>(`/admin/usage?group_by=key`)).data[0]!.cost;
      expect(Math.round(spent * 1e6)).toBe(15_000);

      // The budget and the balance were charged that, not the stream's worst case: $0.985 is left of
      // each, room for a request whose worst case is ~$0.91 (there would be ~$0.39 otherwise).
      expect(await ask(key, 900)).toEqual({ status: 200, code: undefined });
    },
  );
});

describe('a request still in flight after the longest a request may run (a day; 3 s here)', () => {
  it('is renewed no more: its key\'s parallel slot frees as that of a relay that died', async () => {
    await start('memory', 3_000);
    const { key } = await admin<{ key: string }>('/admin/keys', 'POST', { name: 'stuck', max_parallel: 1 });
    // A stream of 7.2 s: renewed until it is 3 s old, its reservation then expires 1.5 s after the last renewal.
    upstream.next({ kind: 'stream', chunks: 12, delayMs: 600 });
    const started = Date.now();
    const streaming = await chat(key, { max_tokens: 600, stream: true });
    expect(streaming.statusCode).toBe(200);
    const streamed = streaming.body.text();
    await sleep(reservationTtlMs * 1.5);
    expect(await ask(key, 20)).toEqual({ status: 429, code: 'parallel_limit_exceeded' });
    await sleep(started + 5_600 - Date.now());
    expect(await ask(key, 20)).toEqual({ status: 200, code: undefined });
    expect(await streamed).toContain('word11');
  });
});
