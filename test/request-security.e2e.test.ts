import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open-store.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

const upstream = new MockOpenAIUpstream();
let relay: StartedRelay;

beforeAll(async () => {
  await upstream.start();
  const directory = mkdtempSync(join(tmpdir(), 'relay-security-'));
  const store = await openStore({ sqlitePath: join(directory, 'relay.db') });
  relay = await startRelay({ OPENAI_API_KEY: 'sk-upstream-openai-0123456789', OPENAI_BASE_URL: upstream.url }, directory, { store });
});
afterAll(async () => {
  await relay.close();
  await upstream.stop();
});

async function send(path: string, method: 'GET' | 'POST' = 'GET', body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await request(`${relay.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
}

describe('a URL spelled with percent-escapes', () => {
  it('reaches the admin API only with the master key', async () => {
    for (const path of ['/%61dmin/keys', '/admin/%6beys', '/%61%64%6d%69%6e/accounts']) {
      const listed = await send(path);
      expect(listed.status, path).toBe(401);
      expect(listed.body).toMatchObject({ error: { code: 'invalid_api_key' } });
    }
    const created = await send('/%61dmin/keys', 'POST', { name: 'minted-without-a-key' });
    expect(created.status).toBe(401);
  });

  it('reaches the /v1 API only with a key of the relay', async () => {
    expect((await send('/%761/models')).status).toBe(401);
    const chat = await send('/%761/chat/completions', 'POST', { model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] });
    expect(chat.status).toBe(401);
    expect(chat.body).toMatchObject({ error: { code: 'invalid_api_key' } });
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('a model name the relay passes through as the client wrote it', () => {
  const ask = (model: string) =>
    request(`${relay.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    });

  it('is answered, and named in x-relay-model percent-encoded where it is not printable ASCII', async () => {
    for (const [model, header] of [
      ['gpt-4\u0100-tuned', 'gpt-4%C4%80-tuned'],
      ['gpt-4-\u00e9', 'gpt-4-%C3%A9'],
    ] as const) {
      const response = await ask(model);
      const body = (await response.body.json()) as { model: string };
      expect(response.statusCode, JSON.stringify(model)).toBe(200);
      expect(body.model).toBe(model);
      expect(response.headers['x-relay-model']).toBe(header);
    }
  });

  it('is refused with a 400 when it holds a line break or another control character, before anything goes upstream', async () => {
    const before = upstream.requests.length;
    for (const model of ['gpt-4-line\r\nx-injected: 1', 'gpt-4-\u0000']) {
      const response = await ask(model);
      expect(response.statusCode, JSON.stringify(model)).toBe(400);
      expect(((await response.body.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
      expect(response.headers['x-injected']).toBeUndefined();
    }
    expect(upstream.requests).toHaveLength(before);
  });
});
