import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

/** The value of one sample of the exposition text, by metric name and exact label set (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = `${name}{${Object.entries(labels).map(([key, value]) => `${key}="${value}"`).join(',')}} `;
  const line = text.split('\n').find((candidate) => candidate.startsWith(wanted));
  return line === undefined ? 0 : Number(line.slice(wanted.length));
}

describe('a request the client leaves while the relay is waiting on the upstream', () => {
  const upstream = new MockOpenAIUpstream();
  let relay: StartedRelay;
  let client: OpenAI;

  beforeAll(async () => {
    await upstream.start();
    relay = await startRelay({ HOLYSHEEP_API_KEY: 'hs-upstream-key-0123456789', HOLYSHEEP_BASE_URL: upstream.url, MAX_RETRIES: '2' });
    client = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
  });
  afterAll(async () => {
    await relay.close();
    await upstream.stop();
  });

  it('logs and counts the upstream attempts it made before the client left', async () => {
    // The first attempt fails and is retried; the retry never answers, and the client gives up.
    upstream.next({ kind: 'status', status: 500, headers: { 'retry-after-ms': '1' } }, { kind: 'hang' });
    const leaving = new AbortController();
    const answer = client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hello' }] }, { signal: leaving.signal }).catch((error: unknown) => error);
    await expect.poll(() => upstream.requests.length).toBe(2);
    leaving.abort();
    await answer;

    await expect.poll(() => relay.logs.filter((line) => line.msg === 'request' && line.path === '/v1/chat/completions').length).toBe(1);
    const line = relay.logs.find((entry) => entry.msg === 'request' && entry.path === '/v1/chat/completions');
    expect(line).toMatchObject({ status: 499, errorCode: 'client_closed_request', clientAborted: true, provider: 'holysheep' });
    // docs/operations.md: `attempts` is the upstream attempts made, retries and fallbacks included.
    expect(line?.attempts).toBe(2);

    const metrics = await (await request(`${relay.url}/metrics`)).body.text();
    expect(sample(metrics, 'relay_upstream_attempt_failures_total', { provider: 'holysheep', reason: 'provider_internal' })).toBe(1);
    // relay_retries_total: attempts beyond the first.
    expect(sample(metrics, 'relay_retries_total', { route: '/v1/chat/completions' })).toBe(1);
  });
});
