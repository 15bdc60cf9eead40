import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

const upstreamKey = 'hs-upstream-metrics-secret-0123456789';
const metricsToken = 'metrics-token-0123456789';

/** The value of one sample line of the exposition text, by metric name and exact label set. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = /\{(.*)\}/.exec(line)?.[1] ?? '';
    const present = labelText === '' ? [] : labelText.split(/,(?=\w+=")/);
    if (wanted.length === present.length && wanted.every((label) => present.includes(label))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('metrics and access logs after real requests', () => {
  const upstream = new MockOpenAIUpstream();
  let relay: StartedRelay;
  let client: OpenAI;
  let clientKey: { id: string; key: string };
  let text = '';

  beforeAll(async () => {
    await upstream.start();
    relay = await startRelay({ HOLYSHEEP_API_KEY: upstreamKey, HOLYSHEEP_BASE_URL: upstream.url, METRICS_TOKEN: metricsToken });
    client = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
    const created = await request(`${relay.url}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'metrics-client', rpm: 2 }),
    });
    clientKey = (await created.body.json()) as { id: string; key: string };

    await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'one' }] });
    const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'two' }], stream: true });
    for await (const _chunk of stream) {
      // drain
    }
    upstream.next({ kind: 'status', status: 500, headers: { 'retry-after-ms': '1' } });
    await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'three' }] });
    await client.chat.completions.create({ model: 'gtp-4.1', messages: [{ role: 'user', content: 'x' }] }).catch(() => undefined);
    // Paths no route knows, with and without a key: they must not become label values.
    await (await request(`${relay.url}/v1/made-up-path-12345`, { headers: { authorization: `Bearer ${masterKey}` } })).body.dump();
    await (await request(`${relay.url}/v1/no-auth-67890`)).body.dump();
    // Served by the gpt-* family route, but not a listed name: it must not become a label value of its own.
    await client.chat.completions.create({ model: 'gpt-4.2-preview-x', messages: [{ role: 'user', content: 'x' }] });
    const limited = new OpenAI({ apiKey: clientKey.key, baseURL: relay.baseURL, maxRetries: 0 });
    for (let index = 0; index < 3; index++) await limited.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const scraped = await request(`${relay.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    expect(scraped.statusCode).toBe(200);
    expect(scraped.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    text = await scraped.body.text();
  });
  afterAll(async () => {
    await relay.close();
    await upstream.stop();
  });

  it('counts requests by route, served model, provider and status', () => {
    expect(sample(text, 'relay_requests_total', { route: '/v1/chat/completions', model: 'gpt-4.1', provider: 'holysheep', status: '200' })).toBe(5);
    expect(sample(text, 'relay_requests_total', { route: '/v1/chat/completions', model: 'none', provider: 'none', status: '429' })).toBe(1);
    expect(sample(text, 'relay_requests_total', { route: '/v1/chat/completions', model: 'none', provider: 'none', status: '400' })).toBe(1);
    expect(sample(text, 'relay_requests_total', { route: '/v1/chat/completions', model: 'other', provider: 'holysheep', status: '200' })).toBe(1);
  });

  it('has latency histograms in the GenAI conventions, upstream time, overhead and time to first token', () => {
    expect(sample(text, 'gen_ai_client_operation_duration_seconds_count', { gen_ai_operation_name: 'chat', gen_ai_request_model: 'gpt-4.1', gen_ai_provider_name: 'holysheep', error_type: '' })).toBe(5);
    expect(sample(text, 'gen_ai_server_time_to_first_token_seconds_count', { gen_ai_operation_name: 'chat', gen_ai_request_model: 'gpt-4.1', gen_ai_provider_name: 'holysheep' })).toBe(1);
    // One per attempt: the six answers, and the 500 that was retried.
    expect(sample(text, 'relay_upstream_duration_seconds_count', { provider: 'holysheep' })).toBe(7);
    expect(sample(text, 'relay_overhead_seconds_count', { route: '/v1/chat/completions' })).toBe(6);
  });

  it('counts tokens, cost against official prices, retries and attempt failures', () => {
    expect(sample(text, 'gen_ai_client_token_usage_sum', { gen_ai_operation_name: 'chat', gen_ai_request_model: 'gpt-4.1', gen_ai_provider_name: 'holysheep', gen_ai_token_type: 'input' })).toBe(4 * 11 + 9);
    expect(sample(text, 'relay_tokens_total', { model: 'gpt-4.1', provider: 'holysheep', type: 'output' })).toBe(4 * 7 + 5);
    const cost = sample(text, 'relay_cost_total', { model: 'gpt-4.1', currency: 'USD' }) ?? 0;
    const official = sample(text, 'relay_official_cost_total', { model: 'gpt-4.1', currency: 'USD' }) ?? 0;
    expect(cost).toBeGreaterThan(0);
    // The seed's $8.00 against $0.15 (53×), less the rounding of each request's cost up to a whole micro-dollar.
    expect(official / cost).toBeGreaterThan(40);
    expect(sample(text, 'relay_retries_total', { route: '/v1/chat/completions' })).toBe(1);
    expect(sample(text, 'relay_upstream_attempt_failures_total', { provider: 'holysheep', reason: 'provider_internal' })).toBe(1);
  });

  it('shows circuit state, refusals, in-flight gauges and the ledger queue', () => {
    expect(sample(text, 'relay_circuit_state', { deployment: 'holysheep/gpt-4.1' })).toBe(0);
    expect(sample(text, 'relay_rate_limit_refusals_total', { code: 'rate_limit_exceeded' })).toBe(1);
    expect(sample(text, 'relay_inflight_streams', {})).toBe(0);
    expect(sample(text, 'relay_inflight_requests', {})).toBe(1); // the scrape itself
    expect(sample(text, 'relay_ledger_queue_depth', {})).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'relay_limits_backend_degraded', {})).toBe(0);
    expect(sample(text, 'process_resident_memory_bytes', {})).toBeGreaterThan(0);
  });

  it('keeps label values bounded: no key ids, no keys, no unknown model names', () => {
    expect(text).not.toContain(clientKey.id);
    expect(text).not.toContain(clientKey.key);
    expect(text).not.toContain(masterKey);
    expect(text).not.toContain('gpt-4.2-preview-x');
    expect(text).not.toContain('gtp-4.1');
    expect(text).not.toContain('made-up-path');
    expect(text).not.toContain('no-auth-67890');
  });

  it('refuses a scrape without the metrics token', async () => {
    const refused = await request(`${relay.url}/metrics`);
    expect(refused.statusCode).toBe(401);
    await refused.body.dump();
  });

  it('writes one access line per request with its fields, and never a secret', () => {
    const lines = relay.logs.filter((line) => line.msg === 'request' && line.path === '/v1/chat/completions');
    expect(lines).toHaveLength(8);
    const retried = lines.find((line) => line.attempts === 2);
    expect(retried).toMatchObject({ keyName: 'master', model: 'gpt-4.1', provider: 'holysheep', status: 200, promptTokens: 11, completionTokens: 7, stream: false });
    expect(retried?.requestId).toEqual(expect.any(String));
    expect(retried?.durationMs).toEqual(expect.any(Number));
    expect(lines.find((line) => line.status === 429)).toMatchObject({ keyName: 'metrics-client', errorCode: 'rate_limit_exceeded' });
    const raw = relay.rawLogs();
    for (const secret of [upstreamKey, masterKey, clientKey.key, metricsToken]) expect(raw).not.toContain(secret);
  });
});
