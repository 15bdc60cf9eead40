import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.js';
import { createLogger } from '../src/observability/create-logger.js';
import { createRelayServer, type RelayServer } from '../src/server/create-relay-server.js';

/*
 * How the relay serves the built dashboard: content types, caching, compression, the page for
 * client-side routes, 404s, path traversal, and the security headers. Against a fixture folder
 * shaped like `vite build`'s output, so it runs without a build.
 */

const folder = mkdtempSync(join(tmpdir(), 'relay-dashboard-files-'));
const script = `console.log(${JSON.stringify('x'.repeat(4000))});\n`;
let relay: RelayServer;
let missing: RelayServer;

function serverFor(directory: string): RelayServer {
  const config = loadConfig({ environment: { RELAY_MASTER_KEY: 'sk-relay-test-master-key-0123456789', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' }, cwd: '/nonexistent-relay-test-dir' });
  return createRelayServer(config, { logger: createLogger({ level: 'silent', secrets: [] }), dashboardDirectory: directory });
}

beforeAll(() => {
  mkdirSync(join(folder, 'assets'));
  writeFileSync(join(folder, 'index.html'), '<!doctype html><title>Relay dashboard</title><script type="module" src="/dashboard/assets/index-AbC123.js"></script>');
  writeFileSync(join(folder, 'assets', 'index-AbC123.js'), script);
  writeFileSync(join(folder, 'assets', 'index-XyZ789.css'), 'body{margin:0}');
  writeFileSync(join(folder, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(tmpdir(), 'relay-dashboard-outside.txt'), 'secret outside the folder');
  relay = serverFor(folder);
  missing = serverFor(join(folder, 'not-built'));
});
afterAll(async () => {
  await relay.close();
  await missing.close();
  rmSync(folder, { recursive: true, force: true });
});

/** One request written by hand, so nothing normalises the path on the way. */
function rawGet(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

const get = (url: string, headers: Record<string, string> = {}, server = relay) => server.app.inject({ method: 'GET', url, headers });

describe('dashboard files', () => {
  it('serves the page at /dashboard and for every client-side route, revalidated on each load', async () => {
    for (const url of ['/dashboard', '/dashboard/', '/dashboard/index.html', '/dashboard/keys', '/dashboard/usage?group_by=model', '/dashboard/deeper/route']) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.body).toContain('<title>Relay dashboard</title>');
    }
  });

  it('serves hashed assets with their content type and a year of immutable caching', async () => {
    const js = await get('/dashboard/assets/index-AbC123.js');
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.body).toBe(script);
    const css = await get('/dashboard/assets/index-XyZ789.css');
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    const icon = await get('/dashboard/favicon.svg');
    expect(icon.headers['content-type']).toBe('image/svg+xml');
    expect(icon.headers['cache-control']).toBe('public, max-age=3600');
  });

  it('compresses with brotli or gzip as the browser accepts, and answers 304 to a matching ETag', async () => {
    const brotli = await get('/dashboard/assets/index-AbC123.js', { 'accept-encoding': 'gzip, deflate, br' });
    expect(brotli.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(brotli.rawPayload).toString()).toBe(script);
    const gzip = await get('/dashboard/assets/index-AbC123.js', { 'accept-encoding': 'gzip, br;q=0' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.rawPayload).toString()).toBe(script);
    expect(gzip.headers.vary).toBe('accept-encoding');
    const etag = String(gzip.headers.etag);
    const again = await get('/dashboard/assets/index-AbC123.js', { 'if-none-match': etag });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('puts a strict Content-Security-Policy and the other security headers on every dashboard answer', async () => {
    for (const url of ['/dashboard', '/dashboard/assets/index-AbC123.js', '/dashboard/missing.js', '/dashboard/api/session']) {
      const response = await get(url);
      const policy = String(response.headers['content-security-policy']);
      expect(policy, url).toMatch(/^default-src 'self'; script-src 'self'; style-src 'self'/);
      expect(policy).toContain("frame-ancestors 'none'");
      expect(policy).not.toContain('unsafe');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.headers['referrer-policy']).toBe('no-referrer');
    }
    expect((await get('/health')).headers['content-security-policy']).toBeUndefined();
  });

  it('answers 404 for unknown files and unknown dashboard API URLs instead of the page', async () => {
    const file = await get('/dashboard/assets/index-gone.js');
    expect(file.statusCode).toBe(404);
    expect(file.headers['content-type']).toMatch(/^text\/plain/);
    const api = await get('/dashboard/api/unknown');
    expect(api.statusCode).toBe(404);
    expect(api.json()).toMatchObject({ error: { code: 'unknown_url' } });
  });

  it('refuses path traversal, encoded or not, and never reads outside the folder', async () => {
    for (const url of ['/dashboard/../relay-dashboard-outside.txt', '/dashboard/%2e%2e/relay-dashboard-outside.txt', '/dashboard/assets/..%2f..%2frelay-dashboard-outside.txt', '/dashboard/..%5crelay-dashboard-outside.txt', '/dashboard/%2e%2e%2f%2e%2e%2fetc%2fpasswd']) {
      const response = await get(url);
      // 400 from the dashboard, or 404 when the URL was normalised before routing: never the file.
      expect([400, 404], url).toContain(response.statusCode);
      expect(response.body).not.toContain('secret outside');
    }
    // A raw client sends the dots as they are, unnormalised.
    await relay.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = relay.app.server.address() as AddressInfo;
    for (const path of ['/dashboard/../../relay-dashboard-outside.txt', '/dashboard/assets/%2e%2e/%2e%2e/relay-dashboard-outside.txt']) {
      const answer = await rawGet(port, path);
      expect(answer, path).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer).not.toContain('secret outside');
    }
  });

  it('serves HEAD like GET without a body', async () => {
    const response = await relay.app.inject({ method: 'HEAD', url: '/dashboard/assets/index-AbC123.js' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(response.body).toBe('');
  });

  it('says how to build the dashboard when it was not built', async () => {
    const response = await get('/dashboard', {}, missing);
    expect(response.statusCode).toBe(503);
    expect(response.body).toMatch(/npm run build/);
  });
});
