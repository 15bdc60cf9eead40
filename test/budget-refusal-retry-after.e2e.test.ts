import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { RateLimitError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { adminJson, startLimitedRelay } from './support/limited-relay.js';
import type { StartedRelay } from './support/start-relay.js';

/**
 * docs/billing.md: "Refusals are 429 with retry-after (and retry-after-ms): rate_limit_exceeded
 * (RPM/TPM), parallel_limit_exceeded, budget_exceeded, insufficient_balance"; docs/errors.md,
 * budget_exceeded: "wait for the next period (retry-after)". A spent monthly budget refuses every
 * request until the month ends, whether or not the request gives max_tokens (the playbook's and the
 * README's client code give none): each refusal says when the next period starts.
 */
describe('a spent budget', () => {
  const upstream = new MockOpenAIUpstream();
  let relay: StartedRelay;

  beforeAll(async () => {
    await upstream.start();
    // gpt-4.1 at $100 000 per 1M tokens: a token costs $0.10.
    const yaml = 'billing:\n  prices:\n    gpt-4.1: { input: 100000, output: 100000, officialInput: 200000, officialOutput: 200000 }\nledger:\n  flushIntervalMs: 50\n';
    relay = await startLimitedRelay({ directory: mkdtempSync(join(tmpdir(), 'relay-budget-retry-')), yaml, limits: 'memory', upstreamUrl: upstream.url });
  });
  afterAll(async () => {
    await relay.close();
    await upstream.stop();
  });

  it('says when the next period starts, for a request without max_tokens as for one with it', async () => {
    const created = await adminJson<{ key: string }>(relay.url, '/admin/keys', 'POST', { name: 'monthly', budget: { amount: 1, currency: 'USD', period: 'monthly' } });
    const client = new OpenAI({ apiKey: created.key, baseURL: relay.baseURL, maxRetries: 0 });
    // The first answer (18 tokens, $1.80) spends the $1 budget.
    await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] });
    const refusal = async (body: Omit<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming, 'model' | 'messages'>) => {
      const error = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], ...body }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RateLimitError);
      const { code, headers } = error as RateLimitError;
      return { code, retryAfter: Number(headers?.get('retry-after')) };
    };
    const limited = await refusal({ max_tokens: 5 });
    expect(limited.code).toBe('budget_exceeded');
    expect(limited.retryAfter).toBeGreaterThan(0);
    const openEnded = await refusal({});
    expect(openEnded.code).toBe('budget_exceeded');
    expect(openEnded.retryAfter).toBeGreaterThan(0);
  });
});
