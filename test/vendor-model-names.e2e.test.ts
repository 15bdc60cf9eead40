import Anthropic from '@anthropic-ai/sdk';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { BadRequestError } from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open-store.js';
import { adminJson } from './support/limited-relay.js';
import { MockAnthropicUpstream } from './support/mock-anthropic-upstream.js';
import { MockGeminiUpstream } from './support/mock-gemini-upstream.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { startRelay, type StartedRelay } from './support/start-relay.js';

/**
 * Clients name models as the vendors' own APIs do: Claude Code and the Anthropic SDK send
 * `claude-sonnet-4-5` or its dated snapshot `claude-sonnet-4-5-20250929`, OpenAI's users dated
 * snapshots such as `gpt-4.1-2025-04-14`. The relay serves such names by their vendor's prefix, and
 * prices them as the catalog model they name (`claude-sonnet-4.5`, `gpt-4.1`).
 *
 * Prices (config on top of the built-in official ones):
 * - claude-sonnet-4.5: $3 input, $15 output, $0.30 cached, writes at Anthropic's 1.25× ($3.75).
 *   The mock Anthropic answers 12 input tokens, 3 cache reads, 2 cache writes (5 minutes), 6
 *   output: 12 × 3 + 3 × 0.3 + 2 × 3.75 + 6 × 15 = 134.4 → 135 micro-USD; officially (built in,
 *   $15 for all, writes $18.75) 12 × 15 + 3 × 15 + 2 × 18.75 + 6 × 15 = 352.5 → 353.
 * - gpt-4.1: $2 input, $8 output. The mock OpenAI answers 11 prompt and 7 completion tokens:
 *   22 + 56 = 78 micro-USD; officially (built in, $8) 18 × 8 = 144.
 * - gpt-4o-2024-08-06 has an entry of its own ($1 for all): 18 micro-USD, whatever gpt-4o costs.
 */
const sonnet = { cost: 135, official: 353 };
const gpt41 = { cost: 78, official: 144 };

const anthropicUpstream = new MockAnthropicUpstream();
const openaiUpstream = new MockOpenAIUpstream();
const geminiKey = 'gemini-upstream-secret-0123456789';
const geminiUpstream = new MockGeminiUpstream(geminiKey);
const metricsToken = 'metrics-token-vendor-names-0123456789';
let relay: StartedRelay;

beforeAll(async () => {
  await Promise.all([anthropicUpstream.start(), openaiUpstream.start(), geminiUpstream.start()]);
  const directory = mkdtempSync(join(tmpdir(), 'relay-vendor-names-'));
  writeFileSync(
    join(directory, 'relay.yaml'),
    [
      'billing:',
      '  prices:',
      '    claude-sonnet-4.5: { input: 3, output: 15, cached: 0.3 }',
      '    gpt-4.1: { input: 2, output: 8 }',
      '    gpt-4o-2024-08-06: { input: 1, output: 1 }',
      'ledger:',
      '  flushIntervalMs: 50',
      '',
    ].join('\n'),
  );
  const store = await openStore({ sqlitePath: join(directory, 'relay.db') });
  relay = await startRelay(
    {
      ANTHROPIC_API_KEY: 'sk-ant-upstream-secret-0123456789',
      ANTHROPIC_BASE_URL: anthropicUpstream.origin,
      OPENAI_API_KEY: 'sk-openai-upstream-secret-0123456789',
      OPENAI_BASE_URL: openaiUpstream.url,
      GEMINI_API_KEY: geminiKey,
      GEMINI_BASE_URL: geminiUpstream.origin,
      METRICS_TOKEN: metricsToken,
      MAX_RETRIES: '0',
    },
    directory,
    { store },
  );
});
afterAll(async () => {
  await relay.close();
  await Promise.all([anthropicUpstream.stop(), openaiUpstream.stop(), geminiUpstream.stop()]);
});
beforeEach(() => {
  anthropicUpstream.reset();
});

const admin = <T>(path: string, method: 'GET' | 'POST' = 'GET', body?: unknown): Promise<T> => adminJson<T>(relay.url, path, method, body);

interface UsageRow {
  group: string;
  requests: number;
  cost: number;
  official_cost: number;
  currency: string;
}

/** A key drawing on a new account of $10: metered. */
async function meteredKey(name: string): Promise<{ key: string; id: string }> {
  const account = await admin<{ id: string }>('/admin/accounts', 'POST', { name, currency: 'USD' });
  await admin(`/admin/accounts/${account.id}/topup`, 'POST', { amount: 10, currency: 'USD' });
  return admin<{ key: string; id: string }>('/admin/keys', 'POST', { name, account: account.id });
}

/** A key with no account and no budget: it pays nothing, its requests are recorded all the same. */
async function unmeteredKey(name: string): Promise<{ key: string; id: string }> {
  return admin<{ key: string; id: string }>('/admin/keys', 'POST', { name });
}

/** The key's ledger rows by model once `requests` are written, costs in micro-USD. */
async function ledgerOf(keyId: string, requests: number): Promise<Array<{ model: string; requests: number; costMicros: number; officialMicros: number }>> {
  const rows = async () => (await admin<{ data: UsageRow[] }>(`/admin/usage?group_by=model&key=${keyId}`)).data;
  await expect.poll(async () => (await rows()).reduce((sum, row) => sum + row.requests, 0)).toBe(requests);
  return (await rows()).map((row) => ({ model: row.group, requests: row.requests, costMicros: Math.round(row.cost * 1e6), officialMicros: Math.round(row.official_cost * 1e6) }));
}

const question = { max_tokens: 64, messages: [{ role: 'user' as const, content: 'Hello' }] };

describe("vendors' names for the catalog's models are priced as those models", () => {
  it("a metered key's /v1/messages request for claude-sonnet-4-5-20250929 and claude-sonnet-4-5 goes to Anthropic as named and is charged Sonnet 4.5's price", async () => {
    const key = await meteredKey('claude-code');
    const client = new Anthropic({ apiKey: key.key, baseURL: relay.url, maxRetries: 0 });

    const dated = await client.messages.create({ model: 'claude-sonnet-4-5-20250929', ...question });
    expect(dated.usage).toMatchObject({ input_tokens: 12, output_tokens: 6 });
    const streamed = await client.messages.stream({ model: 'claude-sonnet-4-5', ...question }).finalMessage();
    expect(streamed.usage).toMatchObject({ output_tokens: 6 });
    // The snapshot the client chose is what Anthropic is asked for.
    expect(anthropicUpstream.requests.map((received) => received.body.model)).toEqual(['claude-sonnet-4-5-20250929', 'claude-sonnet-4-5']);

    // The ledger records the names the client used, each at Sonnet 4.5's prices.
    const rows = await ledgerOf(key.id, 2);
    expect(rows.sort((left, right) => left.model.localeCompare(right.model))).toEqual([
      { model: 'claude-sonnet-4-5', requests: 1, costMicros: sonnet.cost, officialMicros: sonnet.official },
      { model: 'claude-sonnet-4-5-20250929', requests: 1, costMicros: sonnet.cost, officialMicros: sonnet.official },
    ]);
  });

  it('the OpenAI SDK reaches Claude by its dated name too, priced as Sonnet 4.5', async () => {
    const key = await meteredKey('openai-to-claude');
    const client = new OpenAI({ apiKey: key.key, baseURL: relay.baseURL, maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: 'claude-sonnet-4-5-20250929', ...question });
    expect(completion.usage?.completion_tokens).toBe(6);
    expect(anthropicUpstream.requests.map((received) => received.body.model)).toEqual(['claude-sonnet-4-5-20250929']);
    expect(await ledgerOf(key.id, 1)).toEqual([{ model: 'claude-sonnet-4-5-20250929', requests: 1, costMicros: sonnet.cost, officialMicros: sonnet.official }]);
  });

  it("an unmetered key's request for gpt-4.1-2025-04-14 is recorded at GPT-4.1's price, for the savings reports", async () => {
    const key = await unmeteredKey('openai-snapshot');
    const client = new OpenAI({ apiKey: key.key, baseURL: relay.baseURL, maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: 'gpt-4.1-2025-04-14', ...question });
    expect(completion.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 7 });
    expect(openaiUpstream.requests.at(-1)?.body.model).toBe('gpt-4.1-2025-04-14');
    expect(await ledgerOf(key.id, 1)).toEqual([{ model: 'gpt-4.1-2025-04-14', requests: 1, costMicros: gpt41.cost, officialMicros: gpt41.official }]);
  });

  it("a snapshot's own price entry wins over the model it is a snapshot of", async () => {
    const key = await meteredKey('own-entry');
    const client = new OpenAI({ apiKey: key.key, baseURL: relay.baseURL, maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-4o-2024-08-06', ...question });
    expect(await ledgerOf(key.id, 1)).toEqual([{ model: 'gpt-4o-2024-08-06', requests: 1, costMicros: 18, officialMicros: 18 }]);
  });

  it('names the catalog does not price alike stay unpriced: a metered key is refused for them', async () => {
    const key = await meteredKey('other-families');
    const openai = new OpenAI({ apiKey: key.key, baseURL: relay.baseURL, maxRetries: 0 });
    // Claude 3.5 Haiku is no catalog model; GPT-4o's first snapshot cost $5/$15, not GPT-4o's $2.50/$10;
    // Gemini 2.5 Flash's previews were priced apart from the model they became.
    for (const model of ['claude-3-5-haiku-latest', 'gpt-4o-2024-05-13', 'gemini-2.5-flash-preview-05-20']) {
      const refused = await openai.chat.completions.create({ model, ...question }).catch((error: unknown) => error);
      expect(refused, model).toBeInstanceOf(BadRequestError);
      expect((refused as BadRequestError).code, model).toBe('model_not_priced');
    }
    const anthropic = new Anthropic({ apiKey: key.key, baseURL: relay.url, maxRetries: 0 });
    const refused = await anthropic.messages.create({ model: 'claude-3-5-haiku-20241022', ...question }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
    expect(anthropicUpstream.requests).toEqual([]);
  });

  it('Claude Opus 4.1, at Opus 4\'s list prices, is priced as Opus 4', async () => {
    const key = await meteredKey('opus');
    const client = new Anthropic({ apiKey: key.key, baseURL: relay.url, maxRetries: 0 });
    await client.messages.create({ model: 'claude-opus-4-1-20250805', ...question });
    await client.messages.create({ model: 'claude-opus-4-0', ...question });
    // Built-in Opus 4: $0.15 for all (writes $0.1875), officially $75 (writes $93.75):
    // 12 × 0.15 + 3 × 0.15 + 2 × 0.1875 + 6 × 0.15 = 3.525 → 4; 12 × 75 + 3 × 75 + 2 × 93.75 + 6 × 75 = 1 762.5 → 1 763.
    expect((await ledgerOf(key.id, 2)).sort((left, right) => left.model.localeCompare(right.model))).toEqual([
      { model: 'claude-opus-4-0', requests: 1, costMicros: 4, officialMicros: 1_763 },
      { model: 'claude-opus-4-1-20250805', requests: 1, costMicros: 4, officialMicros: 1_763 },
    ]);
  });

  it("labels a snapshot's metrics with the catalog model it is priced as, never with the client's name", async () => {
    const key = await unmeteredKey('metrics');
    const client = new Anthropic({ apiKey: key.key, baseURL: relay.url, maxRetries: 0 });
    await client.messages.create({ model: 'claude-haiku-4-5-20251001', ...question });
    await ledgerOf(key.id, 1);
    const scraped = await (await request(`${relay.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).body.text();
    expect(scraped).toMatch(/relay_requests_total\{route="\/v1\/messages",model="claude-haiku-4\.5",provider="anthropic",status="200"\} 1\b/);
    expect(scraped).not.toContain('claude-haiku-4-5-20251001');
  });
});
