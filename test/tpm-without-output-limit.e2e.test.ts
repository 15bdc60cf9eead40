import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { RateLimitError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { adminJson, startLimitedRelay } from './support/limited-relay.js';
import type { StartedRelay } from './support/start-relay.js';

/**
 * The playbook's and the README's client code send no max_tokens. For such a request the relay
 * itself counts billing.defaultMaxTokens (4096) output tokens in the key's TPM window. A key whose
 * TPM limit is below that (a browser page's key, a small tenant's) must still get its short
 * answers: the relay should send the request with the output limit its window still allows (as it
 * does for a budget, naming it in x-relay-max-tokens), not refuse "Hello" for good with
 * x-should-retry: false and a message asking to lower a max_tokens the client never sent.
 */
describe('a TPM-limited key and a request without max_tokens', () => {
  const upstream = new MockOpenAIUpstream();
  let relay: StartedRelay;

  beforeAll(async () => {
    await upstream.start();
    relay = await startLimitedRelay({ directory: mkdtempSync(join(tmpdir(), 'relay-tpm-')), yaml: '{}\n', limits: 'memory', upstreamUrl: upstream.url });
  });
  afterAll(async () => {
    await relay.close();
    await upstream.stop();
  });

  it('answers a short chat request of a key limited to 2000 tokens a minute', async () => {
    const created = await adminJson<{ key: string }>(relay.url, '/admin/keys', 'POST', { name: 'small-tenant', tpm: 2_000 });
    const client = new OpenAI({ apiKey: created.key, baseURL: relay.baseURL, maxRetries: 0 });
    const outcome = await client.chat.completions
      .create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'Hello' }] })
      .withResponse()
      .then(
        ({ data, response }) => ({ status: 200, content: data.choices[0]?.message.content, sentLimit: Number(response.headers.get('x-relay-max-tokens') ?? 'NaN') }),
        (error: unknown) => ({ status: (error as { status?: number }).status, content: (error as Error).message, sentLimit: NaN }),
      );
    expect(outcome).toMatchObject({ status: 200, content: 'echo: Hello' });
    // A limit the relay chose for the request, if any, fits the key's window.
    if (!Number.isNaN(outcome.sentLimit)) expect(outcome.sentLimit).toBeLessThanOrEqual(2_000);
    expect(upstream.requests).toHaveLength(1);
  });

  it('refuses for good only a prompt that alone is more than the key\'s limit, and asks to shorten it', async () => {
    const created = await adminJson<{ key: string }>(relay.url, '/admin/keys', 'POST', { name: 'small-tenant-long-prompt', tpm: 2_000 });
    const client = new OpenAI({ apiKey: created.key, baseURL: relay.baseURL, maxRetries: 0 });
    // 7 000 bytes: estimated at more than 2 000 tokens.
    const error = (await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'word '.repeat(1_400) }] }).catch((caught: unknown) => caught)) as RateLimitError;
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.code).toBe('rate_limit_exceeded');
    expect(error.headers?.get('x-should-retry')).toBe('false');
    expect(error.message).toMatch(/shorten the prompt/);
    expect(error.message).not.toMatch(/max_tokens/);
    expect(upstream.requests).toHaveLength(1);
  });
});
