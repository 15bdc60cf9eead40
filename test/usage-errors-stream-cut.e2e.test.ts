import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open-store.js';
import { adminJson } from './support/limited-relay.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

interface UsageRow {
  group: string;
  requests: number;
  errors: number;
}

describe('a stream that fails after its first byte, in the usage report', () => {
  const upstream = new MockOpenAIUpstream();
  let relay: StartedRelay;

  beforeAll(async () => {
    await upstream.start();
    const directory = mkdtempSync(join(tmpdir(), 'relay-usage-errors-'));
    writeFileSync(join(directory, 'relay.yaml'), 'ledger:\n  flushIntervalMs: 50\n');
    // The SQLite store `relay serve` opens by default.
    const store = await openStore({ sqlitePath: join(directory, 'relay.db') });
    relay = await startRelay({ HOLYSHEEP_API_KEY: 'hs-upstream-key-0123456789', HOLYSHEEP_BASE_URL: upstream.url }, directory, { store });
  });
  afterAll(async () => {
    await relay.close();
    await upstream.stop();
  });

  it('is counted among the errors, as docs/errors.md says it is counted as failed, though its status is 200', async () => {
    const client = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'whole' }] });
    upstream.next({ kind: 'stream', chunks: 5, cutAfter: 2 });
    const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'cut' }], stream: true });
    const failure = await (async () => {
      for await (const _chunk of stream) {
        // read until the error event
      }
    })().catch((caught: unknown) => caught);
    expect(failure).toBeInstanceOf(APIError);

    await expect.poll(() => relay.logs.filter((line) => line.msg === 'request' && line.path === '/v1/chat/completions').length).toBe(2);
    expect(relay.logs.filter((line) => line.msg === 'request' && line.path === '/v1/chat/completions').at(-1)).toMatchObject({ status: 200, errorCode: 'upstream_error', stream: true });

    // The Usage page and the Overview's errors read this report.
    const byModel = async () => (await adminJson<{ data: UsageRow[] }>(relay.url, '/admin/usage?group_by=model')).data;
    await expect.poll(async () => (await byModel())[0]?.requests).toBe(2);
    expect(await byModel()).toEqual([expect.objectContaining({ group: 'gpt-4.1', requests: 2, errors: 1 })]);
  });
});
