import { build } from 'esbuild';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

/**
 * Browser applications calling the relay's /v1 API from another origin (CORS, `server.corsOrigins`):
 * a page served from an allowed origin uses the official OpenAI SDK in Chromium, and a page from
 * another origin is refused by the browser before any request reaches the upstream.
 */

const chromiumPath = process.env.RELAY_TEST_CHROMIUM ?? '/usr/bin/chromium';
const browserMissing = !existsSync(chromiumPath);

/** A server for the application's page: the same empty page and the SDK bundle at every origin it is reached by. */
async function pageServer(sdkBundle: string): Promise<{ server: Server; port: number }> {
  const server = createServer((incoming, response) => {
    if (incoming.url === '/sdk.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' });
      response.end(sdkBundle);
      return;
    }
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<!doctype html><title>app</title><script src="/sdk.js"></script>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

interface BrowserOutcome {
  ok: boolean;
  status?: number;
  code?: string;
  content?: string;
  streamed?: string;
  requestId?: string | null;
  error?: string;
}

describe.skipIf(browserMissing && process.env.REQUIRE_SERVICES !== '1')('CORS: browser applications on allowed origins', () => {
  const upstream = new MockOpenAIUpstream();
  let relay: StartedRelay;
  let pages: { server: Server; port: number };
  let context: BrowserContext;
  let page: Page;
  let allowedOrigin: string;
  let otherOrigin: string;

  beforeAll(async () => {
    await upstream.start();
    const bundled = await build({
      stdin: { contents: "import OpenAI from 'openai'; window.OpenAI = OpenAI;", resolveDir: process.cwd(), loader: 'js' },
      bundle: true,
      write: false,
      format: 'iife',
      platform: 'browser',
    });
    pages = await pageServer(bundled.outputFiles[0]!.text);
    // The same page server, reached by two origins: 127.0.0.1 is allowed, localhost is not.
    allowedOrigin = `http://127.0.0.1:${pages.port}`;
    otherOrigin = `http://localhost:${pages.port}`;
    relay = await startRelay({ HOLYSHEEP_API_KEY: 'sk-upstream-cors-5e6f', HOLYSHEEP_BASE_URL: upstream.url, CORS_ORIGINS: `https://app.example.com, ${allowedOrigin}` });
    context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'relay-cors-chromium-')), {
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = context.pages()[0] ?? (await context.newPage());
  }, 60_000);
  afterAll(async () => {
    await context?.close();
    await relay?.close();
    await upstream.stop();
    await new Promise<void>((resolve) => pages?.server.close(() => resolve()));
  });

  /** Runs the application's calls in the page at `origin`, with the official SDK (and fetch for the admin API). */
  async function inPage(origin: string, key: string): Promise<{ chat: BrowserOutcome; stream: BrowserOutcome; badKey: BrowserOutcome; admin: BrowserOutcome }> {
    await page.goto(`${origin}/`);
    return page.evaluate(
      async ({ baseURL, key }) => {
        const OpenAI = (window as unknown as { OpenAI: new (options: object) => any }).OpenAI;
        const attempt = async (call: () => Promise<Omit<BrowserOutcome, 'ok'>>): Promise<BrowserOutcome> => {
          try {
            return { ok: true, ...(await call()) };
          } catch (error) {
            const failure = error as { status?: number; code?: string; message?: string };
            return { ok: false, status: failure.status, code: failure.code, error: String(failure.message) };
          }
        };
        const client = new OpenAI({ apiKey: key, baseURL, dangerouslyAllowBrowser: true, maxRetries: 0 });
        const chat = await attempt(async () => {
          const { data, response } = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'from the browser' }] }).withResponse();
          return { status: response.status, content: data.choices[0].message.content, requestId: response.headers.get('x-request-id') };
        });
        const stream = await attempt(async () => {
          let streamed = '';
          for await (const chunk of await client.chat.completions.create({ model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: 'stream' }] })) streamed += chunk.choices[0]?.delta?.content ?? '';
          return { streamed };
        });
        const badKey = await attempt(async () => {
          await new OpenAI({ apiKey: 'sk-not-a-relay-key', baseURL, dangerouslyAllowBrowser: true, maxRetries: 0 }).models.list();
          return {};
        });
        const admin = await attempt(async () => {
          const response = await fetch(`${baseURL.replace(/\/v1$/, '')}/admin/keys`, { headers: { authorization: `Bearer ${key}` } });
          return { status: response.status };
        });
        return { chat, stream, badKey, admin };
      },
      { baseURL: relay.baseURL, key },
    );
  }

  it('serves the official SDK in a page of an allowed origin: JSON, a stream, and errors it can read; the admin API stays same-origin', async () => {
    const outcome = await inPage(allowedOrigin, masterKey);
    expect(outcome.chat).toMatchObject({ ok: true, status: 200, content: 'echo: from the browser' });
    expect(outcome.chat.requestId).toMatch(/./);
    expect(outcome.stream.ok).toBe(true);
    expect(outcome.stream.streamed).not.toBe('');
    // The 401 is readable: the browser let the page see the relay's answer.
    expect(outcome.badKey).toMatchObject({ ok: false, status: 401, code: 'invalid_api_key' });
    expect(outcome.admin.ok).toBe(false);
    expect(outcome.admin.error).toContain('Failed to fetch');
  });

  it("lets a page read x-should-retry, so the SDK does not retry a failure only the relay's operator can fix", async () => {
    upstream.reset();
    const refusal = { kind: 'status' as const, status: 401, body: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } } };
    upstream.next(refusal, refusal, refusal);
    await page.goto(`${allowedOrigin}/`);
    const outcome = await page.evaluate(
      async ({ baseURL, key }) => {
        const OpenAI = (window as unknown as { OpenAI: new (options: object) => any }).OpenAI;
        // The SDK's default retries: twice for a 5xx, unless the answer says not to.
        const client = new OpenAI({ apiKey: key, baseURL, dangerouslyAllowBrowser: true });
        try {
          await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] });
          return { ok: true };
        } catch (error) {
          const failure = error as { status?: number; code?: string };
          return { ok: false, status: failure.status, code: failure.code };
        }
      },
      { baseURL: relay.baseURL, key: masterKey },
    );
    expect(outcome).toEqual({ ok: false, status: 502, code: 'upstream_auth_failed' });
    expect(upstream.requests).toHaveLength(1);
  });

  it('refuses a page of another origin in the browser, before any request reaches the upstream', async () => {
    upstream.reset();
    const outcome = await inPage(otherOrigin, masterKey);
    for (const call of [outcome.chat, outcome.stream, outcome.badKey]) {
      expect(call.ok).toBe(false);
      expect(call.status).toBeUndefined();
    }
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers a preflight for an allowed origin with what it may send and read, and names no origin to others', async () => {
    const preflight = (origin: string) =>
      request(`${relay.url}/v1/chat/completions`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-stainless-os' },
      });
    const allowed = await preflight(allowedOrigin);
    expect(allowed.statusCode).toBe(204);
    expect(allowed.headers['access-control-allow-origin']).toBe(allowedOrigin);
    expect(allowed.headers['access-control-allow-headers']).toBe('authorization,content-type,x-stainless-os');
    expect(String(allowed.headers['access-control-allow-methods'])).toContain('POST');
    await allowed.body.dump();
    const refused = await preflight('https://elsewhere.example');
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    await refused.body.dump();
  });

  it("lets a page read the relay's own headers: what served the answer, what was dropped, the limit the relay sent", async () => {
    const response = await request(`${relay.url}/v1/models`, { headers: { authorization: `Bearer ${masterKey}`, origin: allowedOrigin } });
    await response.body.dump();
    const exposed = String(response.headers['access-control-expose-headers']).split(/,\s*/);
    expect(exposed).toEqual(expect.arrayContaining(['x-request-id', 'x-relay-model', 'x-relay-provider', 'x-relay-dropped-params', 'x-relay-max-tokens', 'x-ratelimit-remaining-tokens']));
  });
});

describe('CORS origins in the configuration', () => {
  it('refuses an origin written with a path or a trailing slash', async () => {
    const error = await startRelay({ CORS_ORIGINS: 'https://app.example.com/' }).catch((caught: unknown) => caught);
    expect(String(error)).toContain('CORS_ORIGINS: "https://app.example.com/" is not an origin');
  });

  it('sends no CORS headers when no origin is configured', async () => {
    const relay = await startRelay({});
    try {
      const response = await request(`${relay.url}/v1/models`, { headers: { authorization: `Bearer ${masterKey}`, origin: 'https://app.example.com' } });
      expect(response.statusCode).toBe(200);
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
      await response.body.dump();
    } finally {
      await relay.close();
    }
  });
});
