import OpenAI, { InternalServerError } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConnectProxy } from './support/connect-proxy.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

/**
 * Upstream calls through a forward proxy (`HTTPS_PROXY` / `HTTP_PROXY`, `NO_PROXY`), as a cluster
 * whose egress goes through a corporate proxy needs: a CONNECT proxy with Basic credentials in front
 * of a mock upstream.
 */

const proxyPassword = 'pr0xy-s3cret-pass-7f3a';
const upstreamKey = 'sk-upstream-behind-proxy-0a1b2c3d';
const upstream = new MockOpenAIUpstream();
const proxy = new ConnectProxy({ user: 'relay', password: proxyPassword });
let relay: StartedRelay | undefined;

async function start(environment: Record<string, string>): Promise<OpenAI> {
  relay = await startRelay({ HOLYSHEEP_API_KEY: upstreamKey, HOLYSHEEP_BASE_URL: upstream.url, MAX_RETRIES: '1', ...environment });
  return new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
}

describe('upstream calls through a proxy', () => {
  beforeAll(async () => {
    await Promise.all([upstream.start(), proxy.start()]);
  });
  afterAll(async () => {
    await Promise.all([upstream.stop(), proxy.stop()]);
  });
  afterEach(async () => {
    await relay?.close();
    relay = undefined;
    upstream.reset();
    proxy.tunnels.length = 0;
  });

  const upstreamHost = () => new URL(upstream.url).host;
  const withCredentials = (password: string) => proxy.url.replace('http://', `http://relay:${password}@`);

  it('tunnels every upstream call through the proxy with its credentials, JSON and streamed, keeping the tunnels alive', async () => {
    const client = await start({ HTTP_PROXY: withCredentials(proxyPassword) });
    for (let turn = 0; turn < 3; turn++) {
      const answer = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: `hello ${turn}` }] });
      expect(answer.choices[0]!.message.content).toBe(`echo: hello ${turn}`);
    }
    let streamed = '';
    for await (const chunk of await client.chat.completions.create({ model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: 'stream' }] })) streamed += chunk.choices[0]?.delta.content ?? '';
    expect(streamed).not.toBe('');
    expect(upstream.requests).toHaveLength(4);
    expect(upstream.requests[0]!.headers.authorization).toBe(`Bearer ${upstreamKey}`);
    expect(proxy.tunnels.length).toBeGreaterThanOrEqual(1);
    expect(proxy.tunnels.length).toBeLessThan(4);
    for (const tunnel of proxy.tunnels) expect(tunnel).toEqual({ target: upstreamHost(), authorization: `Basic ${Buffer.from(`relay:${proxyPassword}`).toString('base64')}` });
    expect(relay!.rawLogs()).not.toContain(proxyPassword);
  });

  it('answers 502 when the proxy refuses its credentials, and logs why without the password', async () => {
    const wrong = 'wr0ng-pr0xy-pass-9c8d';
    const client = await start({ http_proxy: withCredentials(wrong), HTTP_PROXY: 'http://127.0.0.1:9' });
    const error = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hello' }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InternalServerError);
    expect((error as InternalServerError).status).toBe(502);
    expect(upstream.requests).toHaveLength(0);
    // The lower-case variable wins, as curl reads it: the tunnels asked for carried its credentials.
    expect(proxy.tunnels.length).toBeGreaterThanOrEqual(1);
    const failures = relay!.logs.filter((line) => line.msg === 'upstream attempt failed');
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(String(failures[0]!.detail)).toContain('407');
    expect(relay!.rawLogs()).not.toContain(wrong);
  });

  it('reaches the hosts NO_PROXY names directly', async () => {
    const client = await start({ HTTPS_PROXY: withCredentials(proxyPassword), HTTP_PROXY: withCredentials(proxyPassword), NO_PROXY: `localhost,${new URL(upstream.url).hostname}` });
    const answer = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'direct' }] });
    expect(answer.choices[0]!.message.content).toBe('echo: direct');
    expect(proxy.tunnels).toHaveLength(0);
  });

  it('refuses a proxy setting that is not a URL, or whose password is not percent-encoded, without repeating it', async () => {
    const error = await start({ HTTPS_PROXY: `proxy.internal:3128 ${proxyPassword}` }).catch((caught: unknown) => caught);
    expect(String(error)).toContain('HTTPS_PROXY: expected a proxy URL');
    expect(String(error)).not.toContain(proxyPassword);
    const percent = await start({ HTTPS_PROXY: 'http://relay:50%off@proxy.internal:3128' }).catch((caught: unknown) => caught);
    expect(String(percent)).toContain('HTTPS_PROXY: the proxy\'s user or password is not valid percent-encoding: write a % in it as %25.');
    expect(String(percent)).not.toContain('50%off');
  });
});
