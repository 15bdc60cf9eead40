import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

/** The same traffic read three ways: the ledger's report, the /metrics counters, and each answer's usage. */

const upstream = new MockOpenAIUpstream();
let relay: StartedRelay;

beforeAll(async () => {
  await upstream.start();
  const directory = mkdtempSync(join(tmpdir(), 'relay-money-'));
  // $1 per 1M tokens: 100 000 prompt tokens cost $0.10, 200 000 cost $0.20.
  writeFileSync(join(directory, 'relay.yaml'), 'billing:\n  prices:\n    gpt-4.1: { input: 1, output: 1, officialInput: 2, officialOutput: 2 }\nledger:\n  flushIntervalMs: 50\n');
  relay = await startRelay({ HOLYSHEEP_API_KEY: 'hs-upstream-key-0123456789', HOLYSHEEP_BASE_URL: upstream.url, MAX_RETRIES: '0', RELAY_DATA_DIR: join(directory, 'data') }, directory);
});
afterAll(async () => {
  await relay.close();
  await upstream.stop();
});

function answerUsing(promptTokens: number): unknown {
  return {
    id: 'chatcmpl-money',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4.1',
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: promptTokens, completion_tokens: 0, total_tokens: promptTokens },
  };
}

/** The value of one series in a scrape. */
function sample(text: string, name: string, labels: string): string | undefined {
  return text.split('\n').find((line) => line.startsWith(`${name}{${labels}}`))?.split(' ')[1];
}

describe('money read three ways', () => {
  it("exposes the cost counters in /metrics as the ledger sums them, with no binary-fraction drift", async () => {
    const created = (await (
      await request(`${relay.url}/admin/keys`, { method: 'POST', headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'money' }) })
    ).body.json()) as { id: string; key: string };
    const client = new OpenAI({ apiKey: created.key, baseURL: relay.baseURL, maxRetries: 0 });
    // $0.10 and $0.20: as binary fractions, 0.1 + 0.2 is 0.30000000000000004.
    for (const tokens of [100_000, 200_000]) {
      upstream.next({ kind: 'status', status: 200, body: answerUsing(tokens) });
      await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'Hello.' }] });
    }
    const usage = async () =>
      (await (await request(`${relay.url}/admin/usage?key=${created.id}`, { headers: { authorization: `Bearer ${masterKey}` } })).body.json()) as { totals: Array<{ cost: number; official_cost: number }> };
    await expect.poll(async () => (await usage()).totals[0]).toMatchObject({ cost: 0.3, official_cost: 0.6 });
    const scrape = await (await request(`${relay.url}/metrics`)).body.text();
    expect(sample(scrape, 'relay_cost_total', 'model="gpt-4.1",currency="USD"')).toBe('0.3');
    expect(sample(scrape, 'relay_official_cost_total', 'model="gpt-4.1",currency="USD"')).toBe('0.6');
  });
});
