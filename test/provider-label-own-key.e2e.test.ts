import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open-store.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

/** The value of one sample of the exposition text, by metric name and exact label set (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = `${name}{${Object.entries(labels).map(([key, value]) => `${key}="${value}"`).join(',')}} `;
  const line = text.split('\n').find((candidate) => candidate.startsWith(wanted));
  return line === undefined ? 0 : Number(line.slice(wanted.length));
}

/** A deployment's own key (`targets[].apiKey`), other than its provider's. */
const ownKey = 'sk-deployment-own-key-0123456789';

describe('a deployment with its own key', () => {
  const upstream = new MockOpenAIUpstream();
  let relay: StartedRelay;
  let directory: string;

  beforeAll(async () => {
    await upstream.start();
    directory = mkdtempSync(join(tmpdir(), 'relay-provider-label-'));
    writeFileSync(
      join(directory, 'relay.yaml'),
      `providers:\n  a: { type: openai, baseUrl: "${upstream.url}", apiKey: key-a-0123456789 }\nmodels:\n  gpt-4.1: { targets: [{ provider: a, apiKey: ${ownKey} }] }\nledger:\n  flushIntervalMs: 50\n`,
    );
    // The SQLite store `relay serve` opens, so that the ledger can be read as an operator reads it.
    relay = await startRelay({}, directory, { store: await openStore({ sqlitePath: join(directory, 'relay.db') }) });
  });
  afterAll(async () => {
    await relay.close();
    await upstream.stop();
  });

  it('is labelled with its provider\'s configured name in metrics, the access line and the ledger; its deployment id tells the key apart', async () => {
    const client = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hello' }] });
    expect(upstream.requests[0]?.headers.authorization).toBe(`Bearer ${ownKey}`);

    // docs/operations.md: `deployment` is `provider#1a2b3c/model`, `provider` the name from the configuration.
    const deployments = await (await request(`${relay.url}/admin/deployments`, { headers: { authorization: `Bearer ${masterKey}` } })).body.json();
    expect((deployments as { data: Array<{ id: string }> }).data.map((deployment) => deployment.id)).toEqual([expect.stringMatching(/^a#[0-9a-f]{6}\/gpt-4\.1$/)]);

    await expect.poll(() => relay.logs.filter((line) => line.msg === 'request' && line.path === '/v1/chat/completions').length).toBe(1);
    expect(relay.logs.find((line) => line.msg === 'request' && line.path === '/v1/chat/completions')).toMatchObject({ provider: 'a', status: 200 });

    const metrics = await (await request(`${relay.url}/metrics`)).body.text();
    expect(sample(metrics, 'relay_requests_total', { route: '/v1/chat/completions', model: 'gpt-4.1', provider: 'a', status: '200' })).toBe(1);
    expect(sample(metrics, 'relay_tokens_total', { model: 'gpt-4.1', provider: 'a', type: 'input' })).toBe(11);
    expect(sample(metrics, 'relay_upstream_duration_seconds_count', { provider: 'a' })).toBe(1);
    expect(sample(metrics, 'gen_ai_client_token_usage_count', { gen_ai_operation_name: 'chat', gen_ai_request_model: 'gpt-4.1', gen_ai_provider_name: 'a', gen_ai_token_type: 'input' })).toBe(1);
    expect(metrics).not.toMatch(/provider(_name)?="a#/);

    // The ledger, as an operator reads it from the SQLite file.
    const ledger = new Database(join(directory, 'relay.db'), { readonly: true });
    try {
      await expect.poll(() => ledger.prepare('select provider from ledger_entries').all()).toEqual([{ provider: 'a' }]);
    } finally {
      ledger.close();
    }
  });
});
