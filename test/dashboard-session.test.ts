import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

/*
 * The dashboard's sign-in and the admin API's cookie authentication, over HTTP (Fastify's inject):
 * the cookie's attributes, the CSRF token on changes, sign-out, and what a cookie does not open.
 */

let relay: StartedRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

async function start(): Promise<StartedRelay> {
  relay = await startRelay({});
  return relay;
}

function inject(options: { method: 'GET' | 'POST' | 'PATCH' | 'DELETE'; url: string; headers?: Record<string, string>; body?: unknown }): Promise<LightMyRequestResponse> {
  const headers = { ...options.headers, ...(options.body === undefined ? {} : { 'content-type': 'application/json' }) };
  return relay!.server.app.inject({ method: options.method, url: options.url, headers, payload: options.body === undefined ? undefined : JSON.stringify(options.body) });
}

/** Signs in and returns the cookie header to send back and the CSRF token. */
async function signIn(extraHeaders: Record<string, string> = {}): Promise<{ cookie: string; csrf: string; setCookie: string; response: LightMyRequestResponse }> {
  const response = await inject({ method: 'POST', url: '/dashboard/api/session', headers: extraHeaders, body: { key: masterKey } });
  expect(response.statusCode).toBe(200);
  const setCookie = String(response.headers['set-cookie']);
  const cookie = setCookie.split(';')[0]!;
  return { cookie, csrf: response.json<{ csrf_token: string }>().csrf_token, setCookie, response };
}

const errorCode = (response: LightMyRequestResponse) => response.json<{ error: { code: string } }>().error.code;

describe('dashboard sessions', () => {
  it('signs in with the master key: an HttpOnly, SameSite=Strict session cookie and a CSRF token, never the key', async () => {
    await start();
    const { setCookie, csrf, response } = await signIn();
    expect(setCookie).toMatch(/^relay_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    expect(setCookie).not.toContain('Secure');
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(response.body).not.toContain(masterKey);
    expect(setCookie).not.toContain(masterKey);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(relay!.rawLogs()).not.toContain(masterKey);
  });

  it('marks the cookie Secure when the request came over HTTPS through a proxy', async () => {
    await start();
    const { setCookie } = await signIn({ 'x-forwarded-proto': 'https' });
    expect(setCookie).toMatch(/; Secure$/);
  });

  it('refuses a wrong key (401) and a client key (403) without a cookie', async () => {
    await start();
    const wrong = await inject({ method: 'POST', url: '/dashboard/api/session', body: { key: 'sk-relay-not-a-key-of-this-relay' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    const created = await inject({ method: 'POST', url: '/admin/keys', headers: { authorization: `Bearer ${masterKey}` }, body: { name: 'client' } });
    const client = await inject({ method: 'POST', url: '/dashboard/api/session', body: { key: created.json<{ key: string }>().key } });
    expect(client.statusCode).toBe(403);
    expect(errorCode(client)).toBe('admin_required');
    expect(client.headers['set-cookie']).toBeUndefined();
    const empty = await inject({ method: 'POST', url: '/dashboard/api/session', body: {} });
    expect(empty.statusCode).toBe(400);
  });

  it('lets the cookie read the admin API, and change it only with the CSRF token', async () => {
    await start();
    const { cookie, csrf } = await signIn();
    expect((await inject({ method: 'GET', url: '/admin/keys', headers: { cookie } })).statusCode).toBe(200);
    expect((await inject({ method: 'GET', url: '/admin/usage?group_by=day', headers: { cookie } })).statusCode).toBe(200);

    const withoutToken = await inject({ method: 'POST', url: '/admin/keys', headers: { cookie }, body: { name: 'from-a-form' } });
    expect(withoutToken.statusCode).toBe(403);
    expect(errorCode(withoutToken)).toBe('csrf_token_invalid');
    const wrongToken = await inject({ method: 'POST', url: '/admin/keys', headers: { cookie, 'x-relay-csrf': `${csrf.slice(0, -1)}x` }, body: { name: 'forged' } });
    expect(wrongToken.statusCode).toBe(403);
    expect((await inject({ method: 'GET', url: '/admin/keys', headers: { authorization: `Bearer ${masterKey}` } })).json<{ data: unknown[] }>().data).toHaveLength(0);

    const created = await inject({ method: 'POST', url: '/admin/keys', headers: { cookie, 'x-relay-csrf': csrf }, body: { name: 'from-the-dashboard' } });
    expect(created.statusCode).toBe(201);
    const id = created.json<{ id: string }>().id;
    expect((await inject({ method: 'PATCH', url: `/admin/keys/${id}`, headers: { cookie }, body: { rpm: 5 } })).statusCode).toBe(403);
    expect((await inject({ method: 'PATCH', url: `/admin/keys/${id}`, headers: { cookie, 'x-relay-csrf': csrf }, body: { rpm: 5 } })).statusCode).toBe(200);
    expect((await inject({ method: 'DELETE', url: `/admin/keys/${id}`, headers: { cookie } })).statusCode).toBe(403);
    expect((await inject({ method: 'DELETE', url: `/admin/keys/${id}`, headers: { cookie, 'x-relay-csrf': csrf } })).statusCode).toBe(200);
    // Canary buttons are changes too (no canary here: the 404 comes after authentication passed).
    expect((await inject({ method: 'POST', url: '/admin/canaries/gpt-4.1/pause', headers: { cookie } })).statusCode).toBe(403);
    expect((await inject({ method: 'POST', url: '/admin/canaries/gpt-4.1/pause', headers: { cookie, 'x-relay-csrf': csrf } })).statusCode).toBe(404);
  });

  it('checks a key when one is sent, and ignores the cookie outside the admin API', async () => {
    await start();
    const { cookie } = await signIn();
    const wrongKey = await inject({ method: 'GET', url: '/admin/keys', headers: { cookie, authorization: 'Bearer sk-relay-wrong-wrong-wrong' } });
    expect(wrongKey.statusCode).toBe(401);
    // A key needs no CSRF token: scripts and the CLI work as before.
    expect((await inject({ method: 'POST', url: '/admin/keys', headers: { cookie, authorization: `Bearer ${masterKey}` }, body: { name: 'script' } })).statusCode).toBe(201);
    const chat = await inject({ method: 'POST', url: '/v1/chat/completions', headers: { cookie }, body: { model: 'mock-chat', messages: [{ role: 'user', content: 'hi' }] } });
    expect(chat.statusCode).toBe(401);
    expect((await inject({ method: 'GET', url: '/v1/models', headers: { cookie } })).statusCode).toBe(401);
  });

  it('recovers the CSRF token after a reload, and refuses unknown or malformed cookies', async () => {
    await start();
    const { cookie, csrf } = await signIn();
    const restored = await inject({ method: 'GET', url: '/dashboard/api/session', headers: { cookie } });
    expect(restored.statusCode).toBe(200);
    expect(restored.json()).toMatchObject({ object: 'dashboard_session', csrf_token: csrf, expires_at: expect.any(String) });
    expect((await inject({ method: 'GET', url: '/dashboard/api/session' })).statusCode).toBe(401);
    const unknown = await inject({ method: 'GET', url: '/admin/keys', headers: { cookie: 'relay_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } });
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json<{ error: { message: string } }>().error.message).toMatch(/session has expired or was signed out/);
    expect((await inject({ method: 'GET', url: '/admin/keys', headers: { cookie: 'relay_session=../../etc; other=1' } })).statusCode).toBe(401);
  });

  it('signs out with the CSRF token: the cookie is cleared and stops working', async () => {
    await start();
    const { cookie, csrf } = await signIn();
    expect((await inject({ method: 'DELETE', url: '/dashboard/api/session', headers: { cookie } })).statusCode).toBe(403);
    expect((await inject({ method: 'GET', url: '/admin/keys', headers: { cookie } })).statusCode).toBe(200);
    const signedOut = await inject({ method: 'DELETE', url: '/dashboard/api/session', headers: { cookie, 'x-relay-csrf': csrf } });
    expect(signedOut.statusCode).toBe(204);
    expect(String(signedOut.headers['set-cookie'])).toMatch(/^relay_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0$/);
    expect((await inject({ method: 'GET', url: '/admin/keys', headers: { cookie } })).statusCode).toBe(401);
    // Signing out twice is harmless.
    expect((await inject({ method: 'DELETE', url: '/dashboard/api/session', headers: { cookie } })).statusCode).toBe(204);
  });

  it('ends sessions of a master key that was replaced by a config reload', async () => {
    await start();
    const { cookie } = await signIn();
    const replaced = loadConfig({ environment: { RELAY_MASTER_KEY: 'sk-relay-another-master-key-987654321', PORT: '0', HOST: '127.0.0.1' }, cwd: '/nonexistent-relay-test-dir' });
    relay!.server.reload(replaced);
    const refused = await inject({ method: 'GET', url: '/admin/keys', headers: { cookie } });
    expect(refused.statusCode).toBe(401);
    expect(refused.json<{ error: { message: string } }>().error.message).toMatch(/no longer an admin key/);
  });
});
