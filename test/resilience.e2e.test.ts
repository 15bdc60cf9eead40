import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

const upstreamA = new MockOpenAIUpstream();
const upstreamB = new MockOpenAIUpstream();
let relay: StartedRelay | undefined;

beforeAll(async () => {
  await upstreamA.start();
  await upstreamB.start();
});
afterAll(async () => {
  await upstreamA.stop();
  await upstreamB.stop();
});
afterEach(async () => {
  await relay?.close();
  relay = undefined;
  upstreamA.reset();
  upstreamB.reset();
});

/** Starts a relay with providers "a" and "b" (the two mocks) and the given extra relay.yaml. */
async function startWith(yaml: string, environment: Record<string, string> = {}): Promise<OpenAI> {
  const directory = mkdtempSync(join(tmpdir(), 'relay-resilience-'));
  writeFileSync(
    join(directory, 'relay.yaml'),
    `providers:\n  a: { type: openai, baseUrl: "${upstreamA.url}", apiKey: key-a-0123456789 }\n  b: { type: openai, baseUrl: "${upstreamB.url}", apiKey: key-b-0123456789 }\n${yaml}`,
  );
  relay = await startRelay(environment, directory);
  return new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
}

const ask = (client: OpenAI, content = 'hi') => client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content }] }).withResponse();

async function deployment(id: string): Promise<{ state: string; errorRate: number; inflight: number }> {
  const response = await request(`${relay!.url}/admin/deployments`, { headers: { authorization: `Bearer ${masterKey}` } });
  const { data } = (await response.body.json()) as { data: Array<{ id: string; state: string; errorRate: number; inflight: number }> };
  const found = data.find((entry) => entry.id === id);
  if (found === undefined) throw new Error(`no deployment ${id}`);
  return found;
}

describe('deployment health', () => {
  it('lets a half-open deployment be probed again after its probe got a 400 that was the caller’s fault', async () => {
    const client = await startWith('models:\n  gpt-4.1:\n    groups:\n      - targets: [{ provider: a }]\n      - targets: [{ provider: b }]\n', { MAX_RETRIES: '0' });
    upstreamA.next(...Array.from({ length: 5 }, () => ({ kind: 'status' as const, status: 500 })));
    for (let index = 0; index < 5; index++) await expect(ask(client)).rejects.toMatchObject({ status: 502 });
    expect((await deployment('a/gpt-4.1')).state).toBe('open');
    // After the 5 s cooldown, one probe may go to "a"; it gets a 400 the request itself caused.
    await expect.poll(async () => (await deployment('a/gpt-4.1')).state, { timeout: 8000, interval: 250 }).toBe('half_open');
    upstreamA.next({ kind: 'status', status: 400, body: { error: { message: "Invalid value for 'temperature'.", type: 'invalid_request_error', param: 'temperature', code: 'invalid_value' } } });
    await expect(ask(client)).rejects.toMatchObject({ status: 400, code: 'invalid_value' });
    // The next request probes "a" again, finds it well and closes its circuit.
    const { response } = await ask(client);
    expect(response.headers.get('x-relay-provider')).toBe('a');
    expect((await deployment('a/gpt-4.1')).state).toBe('closed');
  });

  it('does not count a client that stops reading a stream as a failure of the upstream', async () => {
    const client = await startWith('models:\n  gpt-4.1: { targets: [{ provider: a }] }\n', { MAX_RETRIES: '0' });
    upstreamA.setStreamDefaults({ chunks: 50, delayMs: 20 });
    // Twelve users press "stop" after the first words.
    for (let index = 0; index < 12; index++) {
      const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'tell a story' }], stream: true });
      for await (const _chunk of stream) break;
    }
    await expect.poll(async () => (await deployment('a/gpt-4.1')).inflight).toBe(0);
    // One real failure among 13 requests is no reason to eject the deployment.
    upstreamA.next({ kind: 'status', status: 500 });
    await expect(ask(client)).rejects.toMatchObject({ status: 502 });
    const health = await deployment('a/gpt-4.1');
    expect(health.state).toBe('closed');
    expect(health.errorRate).toBeLessThan(0.1);
    const { response } = await ask(client);
    expect(response.headers.get('x-relay-provider')).toBe('a');
  });
});
