import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { RateLimitError } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { adminJson, startLimitedRelay } from './support/limited-relay.js';
import { reachable } from './support/services.js';
import type { StartedRelay } from './support/start-relay.js';

const services = await reachable();
if (services.redisUrl === undefined) process.stdout.write(`budget-refusal-retry-after.e2e: the Redis cases are skipped: ${services.why}\n`);

/**
 * docs/billing.md: "Refusals are 429 with retry-after (and retry-after-ms): rate_limit_exceeded
 * (RPM/TPM), parallel_limit_exceeded, budget_exceeded, insufficient_balance"; docs/errors.md,
 * budget_exceeded: "wait for the next period (retry-after)". A spent monthly budget refuses every
 * request until the month ends, whether or not the request gives max_tokens (the playbook's and the
 * README's client code give none): each refusal says when the next period starts. A spent balance
 * does not refill with time: its refusal says not to retry, and gives no time.
 */
describe.each(['memory', 'redis'] as const)('a spent budget or balance, limits in %s', (limitsStore) => {
  const skip = limitsStore === 'redis' && services.redisUrl === undefined;
  const upstream = new MockOpenAIUpstream();
  let relay: StartedRelay;

  beforeAll(async () => {
    await upstream.start();
  });
  afterAll(async () => {
    await upstream.stop();
  });
  afterEach(async () => {
    await relay?.close();
    upstream.reset();
  });

  async function start(): Promise<void> {
    // gpt-4.1 at $100 000 per 1M tokens: a token costs $0.10.
    const yaml = 'billing:\n  prices:\n    gpt-4.1: { input: 100000, output: 100000, officialInput: 200000, officialOutput: 200000 }\nledger:\n  flushIntervalMs: 50\n';
    relay = await startLimitedRelay({ directory: mkdtempSync(join(tmpdir(), 'relay-budget-retry-')), yaml, limits: limitsStore, redisUrl: services.redisUrl, upstreamUrl: upstream.url });
  }

  const refusal = async (client: OpenAI, body: Omit<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming, 'model' | 'messages'>) => {
    const error = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], ...body }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitError);
    const { code, headers } = error as RateLimitError;
    const retryAfter = headers?.get('retry-after');
    return { code, retryAfter: retryAfter == null ? undefined : Number(retryAfter), shouldRetry: headers?.get('x-should-retry') };
  };

  it.skipIf(skip)('says when the next period starts, for a request without max_tokens as for one with it', async () => {
    await start();
    const created = await adminJson<{ key: string }>(relay.url, '/admin/keys', 'POST', { name: 'monthly', budget: { amount: 1, currency: 'USD', period: 'monthly' } });
    const client = new OpenAI({ apiKey: created.key, baseURL: relay.baseURL, maxRetries: 0 });
    // The first answer (18 tokens, $1.80) spends the $1 budget.
    await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] });
    const limited = await refusal(client, { max_tokens: 5 });
    expect(limited.code).toBe('budget_exceeded');
    expect(limited.retryAfter).toBeGreaterThan(0);
    const openEnded = await refusal(client, {});
    expect(openEnded.code).toBe('budget_exceeded');
    expect(openEnded.retryAfter).toBeGreaterThan(0);
  });

  it.skipIf(skip)('tells the SDKs not to retry a spent balance, with no time to wait for', async () => {
    await start();
    const account = await adminJson<{ id: string }>(relay.url, '/admin/accounts', 'POST', { name: 'prepaid', currency: 'USD' });
    await adminJson(relay.url, `/admin/accounts/${account.id}/topup`, 'POST', { amount: 1 });
    const created = await adminJson<{ key: string }>(relay.url, '/admin/keys', 'POST', { name: 'prepaid', account: account.id });
    const client = new OpenAI({ apiKey: created.key, baseURL: relay.baseURL, maxRetries: 0 });
    // The first answer (18 tokens, $1.80) spends the $1 balance.
    await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] });
    for (const body of [{ max_tokens: 5 }, {}]) {
      const refused = await refusal(client, body);
      expect(refused).toEqual({ code: 'insufficient_balance', retryAfter: undefined, shouldRetry: 'false' });
    }
  });
});
