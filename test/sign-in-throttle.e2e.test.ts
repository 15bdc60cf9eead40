import OpenAI, { AuthenticationError } from 'openai';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

/*
 * Failed sign-ins, over real connections: an address that presents ten wrong keys within a minute
 * (to the admin API, the dashboard's sign-in or /v1) is refused any key that could be the master
 * key until the minute is over; client keys and signed-in dashboards go on working.
 */

let relay: StartedRelay | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await relay?.close();
  relay = undefined;
});

const wrongKey = 'sk-relay-a-wrong-guess-0123456789';

async function call(path: string, options: { key?: string; method?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const response = await fetch(`${relay!.url}${path}`, {
    method: options.method ?? 'GET',
    headers: {
      ...(options.key === undefined ? {} : { authorization: `Bearer ${options.key}` }),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, error: (text.startsWith('{') ? (JSON.parse(text) as { error?: Record<string, unknown> }).error : undefined) ?? {} };
}

const signIn = (key: string, headers?: Record<string, string>) => call('/dashboard/api/session', { method: 'POST', body: { key }, headers });

describe('failed sign-ins', () => {
  it('refuses an address that sent ten wrong keys to the admin API, its right key too, until the minute is over', async () => {
    relay = await startRelay({});
    const clientKey = JSON.parse((await call('/admin/keys', { key: masterKey, method: 'POST', body: { name: 'app' } })).text).key as string;
    const session = await signIn(masterKey);
    const cookie = String(session.headers.get('set-cookie')).split(';')[0]!;
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });

    for (let attempt = 0; attempt < 10; attempt++) {
      const refused = await call('/admin/keys', { key: wrongKey });
      expect(refused.status).toBe(401);
      expect(refused.error.code).toBe('invalid_api_key');
    }
    const throttled = await call('/admin/keys', { key: wrongKey });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('60');
    expect(throttled.headers.get('x-should-retry')).toBe('false');
    expect(throttled.error).toEqual({
      message: expect.stringContaining('Too many failed sign-ins from your address: 10 wrong keys within a minute.') as unknown,
      type: 'rate_limit_error',
      param: null,
      code: 'too_many_failed_sign_ins',
    });
    // Whatever the key: the right one is refused the same way, at every door it opens.
    expect((await call('/admin/keys', { key: masterKey })).error.code).toBe('too_many_failed_sign_ins');
    expect((await signIn(masterKey)).error.code).toBe('too_many_failed_sign_ins');
    const client = (key: string) => new OpenAI({ apiKey: key, baseURL: relay!.baseURL, maxRetries: 0 });
    await expect(client(masterKey).models.list()).rejects.toMatchObject({ status: 429, code: 'too_many_failed_sign_ins' });
    await expect(client(wrongKey).models.list()).rejects.toMatchObject({ status: 429, code: 'too_many_failed_sign_ins' });
    // A client key and a signed-in dashboard are no guesses: they go on working.
    expect((await client(clientKey).models.list()).data.length).toBeGreaterThan(0);
    expect((await call('/admin/keys', { headers: { cookie } })).status).toBe(200);
    const warning = relay.logs.find((line) => String(line.msg).startsWith('too many failed sign-ins'));
    expect(warning).toMatchObject({ level: 'warn', address: '127.0.0.1' });
    expect(relay.rawLogs()).not.toContain(wrongKey);

    vi.setSystemTime(Date.now() + 30_000);
    expect((await call('/admin/keys', { key: masterKey })).headers.get('retry-after')).toBe('30');
    vi.setSystemTime(Date.now() + 30_000);
    expect((await call('/admin/keys', { key: masterKey })).status).toBe(200);
    expect((await call('/admin/keys', { key: wrongKey })).status).toBe(401);
  });

  it("counts the dashboard's sign-in, /v1 and client keys at the admin API alike, and requests without a key not at all", async () => {
    relay = await startRelay({});
    const clientKey = JSON.parse((await call('/admin/keys', { key: masterKey, method: 'POST', body: { name: 'app' } })).text).key as string;
    for (let attempt = 0; attempt < 20; attempt++) expect((await call('/admin/keys')).status).toBe(401);
    for (let attempt = 0; attempt < 4; attempt++) expect((await signIn(wrongKey)).status).toBe(401);
    for (let attempt = 0; attempt < 4; attempt++) {
      await expect(new OpenAI({ apiKey: wrongKey, baseURL: relay.baseURL, maxRetries: 0 }).models.list()).rejects.toBeInstanceOf(AuthenticationError);
    }
    for (let attempt = 0; attempt < 2; attempt++) expect((await call('/admin/keys', { key: clientKey })).error.code).toBe('admin_required');
    const refused = await signIn(masterKey);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('set-cookie')).toBeNull();
  });

  it('refuses, uncounted, a sign-in that no dashboard page of this relay sent: from a page of another site, or not declared as JSON', async () => {
    relay = await startRelay({});
    const origin = new URL(relay.url).origin;
    // What fetch(relay + "/dashboard/api/session", { method: "POST", mode: "no-cors", body }) sends from a page of
    // another site in the operator's browser: a CORS "simple" request, which no preflight stops.
    const fromAnotherSite = { 'content-type': 'text/plain;charset=UTF-8', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' };
    for (let attempt = 0; attempt < 12; attempt++) {
      const refused = await signIn(`${wrongKey}-${attempt}`, fromAnotherSite);
      expect(refused.status).toBe(403);
      expect(refused.error).toEqual({ message: expect.stringContaining('only from the dashboard of this relay') as unknown, type: 'permission_error', param: null, code: 'cross_origin_request' });
    }
    // The same from a sibling site, as JSON, and from browsers that send only Origin (older ones, a sandboxed frame).
    const fromOtherOrigins: Array<Record<string, string>> = [
      { 'sec-fetch-site': 'same-site', origin: 'https://other.example.com' },
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { origin: origin.replace('127.0.0.1', 'localhost') },
    ];
    for (const headers of fromOtherOrigins) {
      for (let attempt = 0; attempt < 3; attempt++) expect((await signIn(wrongKey, headers)).error.code).toBe('cross_origin_request');
    }
    // From the dashboard's own origin, or without a browser, a body that is not declared as JSON.
    const notJson: Array<Record<string, string>> = [{ 'content-type': 'text/plain', origin, 'sec-fetch-site': 'same-origin' }, { 'content-type': 'application/x-www-form-urlencoded' }, { 'content-type': '' }];
    for (const headers of notJson) {
      for (let attempt = 0; attempt < 4; attempt++) {
        const refused = await signIn(wrongKey, headers);
        expect(refused.status).toBe(415);
        expect(refused.error).toEqual({ message: expect.stringContaining('"Content-Type: application/json"') as unknown, type: 'invalid_request_error', param: null, code: 'unsupported_media_type' });
      }
    }
    // None of them counted: the master key opens the admin API, and the dashboard's own sign-in (as Chromium sends it) works.
    expect((await call('/admin/keys', { key: masterKey })).status).toBe(200);
    const dashboard = { 'content-type': 'application/json', origin, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' };
    expect((await signIn(masterKey, dashboard)).status).toBe(200);
    expect((await signIn(masterKey, { 'content-type': 'application/json; charset=utf-8', origin })).status).toBe(200);
    // Its wrong keys still count.
    for (let attempt = 0; attempt < 10; attempt++) expect((await signIn(wrongKey, dashboard)).status).toBe(401);
    expect((await signIn(masterKey, dashboard)).error.code).toBe('too_many_failed_sign_ins');
  });

  it('counts by the address a trusted proxy names, and by the connection when no proxy is trusted', async () => {
    relay = await startRelay({ TRUST_PROXY: '127.0.0.1' });
    const from = (address: string) => ({ 'x-forwarded-for': address });
    for (let attempt = 0; attempt < 10; attempt++) expect((await call('/admin/keys', { key: wrongKey, headers: from('203.0.113.7') })).status).toBe(401);
    expect((await call('/admin/keys', { key: masterKey, headers: from('203.0.113.7') })).status).toBe(429);
    expect((await call('/admin/keys', { key: masterKey, headers: from('203.0.113.8') })).status).toBe(200);
    await relay.close();

    // Untrusted, the header names nothing: a guesser cannot pose as many clients.
    relay = await startRelay({});
    for (let attempt = 0; attempt < 10; attempt++) expect((await call('/admin/keys', { key: wrongKey, headers: from(`203.0.113.${attempt}`) })).status).toBe(401);
    expect((await call('/admin/keys', { key: masterKey, headers: from('203.0.113.99') })).status).toBe(429);
  });

  it('refuses a TRUST_PROXY entry that is not an address or range', async () => {
    const error = await startRelay({ TRUST_PROXY: '10.0.0.0/8, ingress-nginx' }).catch((caught: unknown) => caught);
    expect(String(error)).toContain('TRUST_PROXY: "ingress-nginx" is not a proxy address');
    expect(String(error)).not.toContain('"10.0.0.0/8"');
  });
});
