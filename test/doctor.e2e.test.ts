import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubernetesManifests } from './deploy/support/kubernetes-manifests.js';
import { only } from './deploy/support/manifest-accessors.js';
import { ConnectProxy } from './support/connect-proxy.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { installed } from './support/services.js';
import { freePort, relayBin } from './support/spawn-relay.js';

/** The namespace and Deployment of deploy/kubernetes, which the fixes' kubectl commands name. */
function deployedNames(): { namespace: string; deployment: string } {
  const deployment = only(kubernetesManifests.all, 'Deployment');
  return { namespace: deployment.metadata.namespace!, deployment: deployment.metadata.name };
}

interface DoctorRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI's `relay doctor` in `cwd` with only the given environment (and PATH). */
function doctor(cwd: string, env: Record<string, string>, ...args: string[]): Promise<DoctorRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [relayBin, 'doctor', ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const keys = {
  good: 'sk-doctor-good-4c1d8e2f9a7b',
  anthropic: 'sk-ant-doctor-61f0b3c9d2e8',
  gemini: 'AIzaDoctorGemini5e7a9c3b1d',
  refused: 'sk-doctor-refused-8b2e4d6f0a1c',
  limited: 'sk-doctor-limited-3a5c7e9b1d2f',
  closed: 'sk-doctor-closed-0f2e4c6a8b9d',
  nowhere: 'sk-doctor-nowhere-9d7b5f3e1c0a',
  slow: 'sk-doctor-slow-2b4d6f8a0c1e',
  master: 'sk-relay-doctor-master-5f6e7d8c9b0a',
};

/** Neither a key nor a piece of one (its start or its end) may appear anywhere in the output. */
function expectNoKeys(run: DoctorRun): void {
  const output = run.stdout + run.stderr;
  for (const key of Object.values(keys)) {
    expect(output).not.toContain(key);
    expect(output).not.toContain(key.slice(0, 12));
    expect(output).not.toContain(key.slice(-6));
  }
}

/**
 * Upstreams that a MockOpenAIUpstream does not play: one refusing the key as OpenAI does (echoing a
 * masked piece of it), one rate limiting, one that never answers, and Anthropic's and Gemini's model
 * lists, which answer only with the right key in the right header.
 */
function handleOthers(request: IncomingMessage, response: ServerResponse): void {
  const url = request.url ?? '/';
  const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(body));
  };
  if (url.startsWith('/refused/v1/models')) {
    const sent = String(request.headers.authorization ?? '').replace(/^Bearer /, '');
    return send(401, { error: { message: `Incorrect API key provided: ${sent.slice(0, 8)}****${sent.slice(-4)}. You can find your API key in your dashboard.`, type: 'invalid_request_error', code: 'invalid_api_key' } });
  }
  if (url.startsWith('/limited/v1/models')) return send(429, { error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' } }, { 'retry-after': '7' });
  if (url.startsWith('/slow/')) return; // never answers
  if (url.startsWith('/site/')) {
    // A website (the vendor's home page, a single-page app) answers every path with a page.
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><html><head><title>HolySheep AI</title></head><body>Sign up</body></html>');
    return;
  }
  if (url.startsWith('/anthropic/v1/models')) {
    if (request.headers['x-api-key'] !== keys.anthropic || request.headers['anthropic-version'] !== '2023-06-01') return send(401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
    return send(200, { data: [{ id: 'claude-sonnet-4-0', type: 'model' }, { id: 'claude-opus-4-0', type: 'model' }], has_more: false });
  }
  if (url.startsWith('/gemini/v1beta/models')) {
    if (request.headers['x-goog-api-key'] !== keys.gemini || url.includes('key=')) return send(403, { error: { code: 403, message: 'API key not valid', status: 'PERMISSION_DENIED' } });
    return send(200, { models: [{ name: 'models/gemini-2.5-flash' }, { name: 'models/gemini-2.5-pro' }, { name: 'models/text-embedding-004' }] });
  }
  send(404, { error: { message: `no route ${url}` } });
}

describe('relay doctor (CLI)', () => {
  let healthy: MockOpenAIUpstream;
  let others: Server;
  let othersUrl: string;
  let closedPort: number;

  beforeAll(async () => {
    healthy = await new MockOpenAIUpstream().start();
    others = createServer(handleOthers);
    await new Promise<void>((resolve) => others.listen(0, '127.0.0.1', resolve));
    othersUrl = `http://127.0.0.1:${(others.address() as AddressInfo).port}`;
    closedPort = await freePort();
  });
  afterAll(async () => {
    await healthy.stop();
    others.closeAllConnections();
    await new Promise<void>((resolve) => others.close(() => resolve()));
  });

  it('passes every check against healthy OpenAI-compatible, Anthropic and Gemini upstreams, and leaves no files behind', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-doctor-healthy-'));
    writeFileSync(
      join(cwd, 'relay.yaml'),
      [
        'providers:',
        `  good: { type: openai, baseUrl: "${healthy.url}", apiKey: "\${GOOD_KEY}" }`,
        `  claude: { type: anthropic, baseUrl: "${othersUrl}/anthropic", apiKey: "\${CLAUDE_KEY}" }`,
        `  gem: { type: gemini, baseUrl: "${othersUrl}/gemini", apiKey: "\${GEM_KEY}" }`,
        'models:',
        '  gpt-4.1: { targets: [{ provider: good }] }',
        '  sonnet: { targets: [{ provider: claude, model: claude-sonnet-4-0 }] }',
        '  flash: { targets: [{ provider: gem, model: gemini-2.5-flash }] }',
        'aliases:',
        '  fast: gpt-4.1',
        'fallbacks:',
        '  gpt-4.1: [sonnet, flash]',
      ].join('\n'),
    );
    const env = { GOOD_KEY: keys.good, CLAUDE_KEY: keys.anthropic, GEM_KEY: keys.gemini, RELAY_MASTER_KEY: keys.master };
    const run = await doctor(cwd, env);

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^✓ configuration: loaded relay\.yaml$/m);
    expect(run.stdout).toMatch(/^✓ upstream keys: set: none; .*relay\.yaml providers: good \(openai, key set\), claude \(anthropic, key set\), gem \(gemini, key set\)$/m);
    expect(run.stdout).toMatch(/^✓ master key: RELAY_MASTER_KEY is set$/m);
    expect(run.stdout).toMatch(/^✓ upstream good DNS: 127\.0\.0\.1 is an address/m);
    expect(run.stdout).toMatch(/^✓ upstream good TCP: 127\.0\.0\.1:\d+: connected/m);
    expect(run.stdout).toMatch(/^✓ upstream good key: GOOD_KEY \(providers\.good\.apiKey in relay\.yaml\) accepted \(GET \/v1\/models → 200, lists 1 model\)$/m);
    expect(run.stdout).toMatch(/^✓ upstream good models: the upstream lists every model routes send it \(gpt-4\.1\)$/m);
    expect(run.stdout).toMatch(/^✓ upstream claude key: .* accepted \(GET \/anthropic\/v1\/models → 200, lists 2 models\)$/m);
    expect(run.stdout).toMatch(/^✓ upstream gem key: .* accepted \(GET \/gemini\/v1beta\/models → 200, lists 3 models\)$/m);
    expect(run.stdout).toMatch(/^✓ model names: 1 configured alias\(es\), 3 route\(s\) and 3 fallback name\(s\) resolve/m);
    expect(run.stdout).toMatch(/^✓ database: SQLite data\/relay\.db does not exist yet/m);
    expect(run.stdout).toMatch(/^✓ redis: REDIS_URL is not set/m);
    expect(run.stdout).not.toMatch(/^[✗!]/m);
    expect(run.stdout).toMatch(/\n\n18 checks passed, 0 failed\n$/);
    expectNoKeys(run);

    // The OpenAI-compatible list call carries the key as a bearer token; the doctor created nothing.
    const listCall = healthy.requests.find((request) => request.path === '/v1/models');
    expect(listCall?.headers.authorization).toBe(`Bearer ${keys.good}`);
    expect(existsSync(join(cwd, 'data'))).toBe(false);
  });

  describe('with broken upstreams and names', () => {
    let cwd: string;
    const env = {
      REFUSED_KEY: keys.refused,
      LIMITED_KEY: keys.limited,
      CLOSED_KEY: keys.closed,
      NOWHERE_KEY: keys.nowhere,
      SLOW_KEY: keys.slow,
      RELAY_MASTER_KEY: keys.master,
    };
    beforeAll(() => {
      cwd = mkdtempSync(join(tmpdir(), 'relay-doctor-broken-'));
      writeFileSync(
        join(cwd, 'relay.yaml'),
        [
          'providers:',
          `  refused: { type: openai, baseUrl: "${othersUrl}/refused/v1", apiKey: "\${REFUSED_KEY}" }`,
          `  limited: { type: openai, baseUrl: "${othersUrl}/limited/v1", apiKey: "\${LIMITED_KEY}" }`,
          `  closed: { type: openai, baseUrl: "http://127.0.0.1:${closedPort}/v1", apiKey: "\${CLOSED_KEY}" }`,
          '  nowhere: { type: openai, baseUrl: "http://relay-doctor-test.invalid/v1", apiKey: "${NOWHERE_KEY}" }',
          `  slow: { type: openai, baseUrl: "${othersUrl}/slow/v1", apiKey: "\${SLOW_KEY}" }`,
          'models:',
          '  gpt-4.1: { targets: [{ provider: refused }] }',
          'aliases:',
          '  smart: gtp-4.1',
        ].join('\n'),
      );
    });

    it('fails each broken check with its fix, warns on the rate limit, and exits 1', async () => {
      const run = await doctor(cwd, env, '--timeout-ms', '1000');
      expect(run.stderr).toBe('');
      expect(run.code).toBe(1);
      const out = run.stdout;

      // 401: the key was refused; the fix is the seed's Secret fix, and the echoed piece of the key is gone.
      expect(out).toMatch(/^✗ upstream refused key: the upstream refused the key in REFUSED_KEY \(providers\.refused\.apiKey in relay\.yaml\) \(GET \/refused\/v1\/models → 401\): "Incorrect API key provided: \[redacted\] You can find/m);
      expect(out).toMatch(/^ {4}fix: check that REFUSED_KEY \(providers\.refused\.apiKey in relay\.yaml\) holds the current key/m);
      expect(out).toContain(`kubectl -n relay patch secret relay-secrets --type merge -p '{"stringData":{"REFUSED_KEY":"YOUR_REFUSED_KEY"}}'`);
      expect(out).toContain('kubectl -n relay rollout restart deployment/relay');
      expect(out).toContain('holysheep-api-credentials');

      // 429: a warning with the retry-after and the tier / more-deployments fix.
      expect(out).toMatch(/^! upstream limited key: LIMITED_KEY .*: rate limited \(GET \/limited\/v1\/models → 429, retry after 7 s\): "Rate limit reached for requests"$/m);
      expect(out).toMatch(/or add more keys as deployments of a route/);

      // A closed port: ECONNREFUSED, and no key check after it.
      expect(out).toMatch(new RegExp(`^✗ upstream closed TCP: 127\\.0\\.0\\.1:${closedPort}: connect ECONNREFUSED 127\\.0\\.0\\.1:${closedPort}; key not checked$`, 'm'));
      expect(out).toMatch(new RegExp(`fix: nothing accepts connections on 127\\.0\\.0\\.1:${closedPort}`));
      expect(out).not.toMatch(/upstream closed key/);

      // An unresolvable host: the resolver's code, and the DNS check from a relay pod (a pod of its
      // own, as the seed's busybox nslookup, is refused by the namespace's Pod Security "restricted").
      expect(out).toMatch(/^✗ upstream nowhere DNS: relay-doctor-test\.invalid does not resolve \((ENOTFOUND|EAI_AGAIN)\); connection and key not checked$/m);
      const { namespace, deployment } = deployedNames();
      expect(out).toContain(`kubectl -n ${namespace} exec deployment/${deployment} -- node -e "require('node:dns').lookup('relay-doctor-test.invalid'`);
      expect(out).not.toMatch(/kubectl (-n \S+ )?(run|debug)\b|--image/);
      expect(out).toMatch(/NetworkPolicy allows DNS egress to kube-system on UDP and TCP 53/);

      // An upstream that accepts the connection but never answers: bounded by --timeout-ms.
      expect(out).toMatch(/^✓ upstream slow TCP: /m);
      expect(out).toMatch(/^✗ upstream slow key: GET \/slow\/v1\/models: no answer within 1000 ms$/m);

      // An alias to a name nothing serves, with the closest served name.
      expect(out).toMatch(/^✗ model names: aliases\.smart: "gtp-4\.1" is not a served model$/m);
      expect(out).toMatch(/^ {4}fix: closest served names: gpt-4\.1\b/m);

      expect(out).toMatch(/\n\n\d+ checks passed, 5 failed, 1 warning\n$/);
      expectNoKeys(run);
    });

    it('prints the same checks as JSON with --json', async () => {
      const run = await doctor(cwd, env, '--json', '--timeout-ms', '1000');
      expect(run.code).toBe(1);
      expect(run.stderr).toBe('');
      const report = JSON.parse(run.stdout) as { ok: boolean; checks: Array<{ name: string; status: string; detail: string; fix?: string }> };
      expect(Object.keys(report)).toEqual(['ok', 'checks']);
      expect(report.ok).toBe(false);
      for (const check of report.checks) {
        expect(Object.keys(check).filter((key) => !['name', 'status', 'detail', 'fix'].includes(key))).toEqual([]);
        expect(typeof check.name).toBe('string');
        expect(['pass', 'fail', 'warn']).toContain(check.status);
        expect(typeof check.detail).toBe('string');
        if (check.status === 'fail') expect(typeof check.fix).toBe('string');
      }
      const byName = (name: string) => report.checks.find((check) => check.name === name);
      expect(byName('upstream refused key')).toMatchObject({ status: 'fail', fix: expect.stringContaining('relay-secrets') });
      expect(byName('upstream limited key')).toMatchObject({ status: 'warn', detail: expect.stringContaining('retry after 7 s') });
      expect(byName('upstream closed TCP')).toMatchObject({ status: 'fail', detail: expect.stringContaining('ECONNREFUSED') });
      expect(byName('upstream nowhere DNS')).toMatchObject({ status: 'fail', fix: expect.stringContaining("require('node:dns').lookup('relay-doctor-test.invalid'") });
      expect(byName('model names')).toMatchObject({ status: 'fail', fix: expect.stringContaining('gpt-4.1') });
      expect(byName('master key')).toEqual({ name: 'master key', status: 'pass', detail: 'RELAY_MASTER_KEY is set' });
      expectNoKeys(run);
    });
  });

  it("checks an upstream behind a proxy through the proxy, never showing the proxy's password, and names the proxy when it is down", async () => {
    const password = 'doctor-pr0xy-pass-4e6a';
    const proxy = await new ConnectProxy({ user: 'relay', password }).start();
    try {
      const cwd = mkdtempSync(join(tmpdir(), 'relay-doctor-proxy-'));
      const env = { HOLYSHEEP_API_KEY: keys.good, HOLYSHEEP_BASE_URL: healthy.url, RELAY_MASTER_KEY: keys.master };
      const run = await doctor(cwd, { ...env, HTTP_PROXY: proxy.url.replace('http://', `http://relay:${password}@`) });
      expect(run.stdout).toMatch(/^✓ upstream holysheep proxy: 127\.0\.0\.1:\d+ through the proxy http:\/\/127\.0\.0\.1:\d+ \(HTTP_PROXY\): connected to it in \d+ ms$/m);
      expect(run.stdout).toMatch(/^✓ upstream holysheep key: HOLYSHEEP_API_KEY accepted \(GET \/v1\/models → 200/m);
      expect(run.stdout).not.toMatch(/^. upstream holysheep (DNS|TCP)/m);
      expect(run.code).toBe(0);
      expect(proxy.tunnels.map((tunnel) => tunnel.target)).toContain(new URL(healthy.url).host);
      expect(run.stdout + run.stderr).not.toContain(password);
      expectNoKeys(run);

      const down = await doctor(cwd, { ...env, HTTP_PROXY: `http://relay:${password}@127.0.0.1:${closedPort}` });
      expect(down.code).toBe(1);
      expect(down.stdout).toMatch(/^✗ upstream holysheep proxy: the proxy http:\/\/127\.0\.0\.1:\d+ \(HTTP_PROXY\) at 127\.0\.0\.1:\d+: ECONNREFUSED.*; key not checked$/m);
      expect(down.stdout).toContain('NO_PROXY');
      expect(down.stdout).toContain('NetworkPolicy');
      expect(down.stdout + down.stderr).not.toContain(password);
    } finally {
      await proxy.stop();
    }
  });

  it('fails an upstream whose base URL answers with a web page, naming the variable to fix, instead of saying the key was accepted', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-doctor-site-'));
    const run = await doctor(cwd, { HOLYSHEEP_API_KEY: keys.good, HOLYSHEEP_BASE_URL: `${othersUrl}/site/v1`, RELAY_MASTER_KEY: keys.master });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^✗ upstream holysheep key: GET \/site\/v1\/models → 200 with a web page \(text\/html\), not the API's JSON: the key was not checked$/m);
    expect(run.stdout).toMatch(/^ {4}fix: HOLYSHEEP_BASE_URL points at a website, not at the API: .*https:\/\/api\.holysheep\.ai\/v1/m);
    expect(run.stdout).not.toMatch(/accepted/);
    expectNoKeys(run);
  });

  it('warns without an upstream or a master key, and still exits 0', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-doctor-empty-'));
    const run = await doctor(cwd, {});
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^✓ configuration: no config file/m);
    expect(run.stdout).toMatch(/^! upstream keys: set: none; not set: HOLYSHEEP_API_KEY, .*only the built-in mock models \(mock-\*\) are served, and no upstream is checked$/m);
    expect(run.stdout).toMatch(/^! master key: RELAY_MASTER_KEY is not set .*generated master key in data\/master\.key \(created on first start/m);
    expect(run.stdout).not.toMatch(/^. upstream \S+ (DNS|TCP|TLS|key)/m);
    expect(run.stdout).toMatch(/\n\n4 checks passed, 0 failed, 2 warnings\n$/);
    expect(existsSync(join(cwd, 'data'))).toBe(false);
  });

  // Needs redis-server, to start Redis with and without persistence; required with REQUIRE_SERVICES=1.
  it.skipIf(process.env.REQUIRE_SERVICES !== '1' && !installed('redis-server'))('warns when Redis keeps nothing across a restart, and passes one that keeps an append-only file', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-doctor-redis-'));
    const servers: ChildProcess[] = [];
    const redisOn = async (...flags: string[]): Promise<number> => {
      const port = await freePort();
      servers.push(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', cwd, '--dbfilename', `dump-${port}.rdb`, '--appendfilename', `aof-${port}.aof`, ...flags], { stdio: 'ignore' }));
      for (let attempt = 0; attempt < 100 && (await doctor(cwd, { REDIS_URL: `redis://127.0.0.1:${port}` })).stdout.includes('✗ redis'); attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return port;
    };
    try {
      const volatile = await redisOn('--save', '', '--appendonly', 'no');
      const warned = await doctor(cwd, { REDIS_URL: `redis://127.0.0.1:${volatile}` });
      expect(warned.stdout).toMatch(/^! redis: redis:\/\/127\.0\.0\.1:\d+: PING → PONG; it keeps nothing across a restart \(appendonly no, no save points\)$/m);
      expect(warned.stdout).toMatch(/fix: after Redis restarts, balances and this period's budget spend come back from the database/);
      expect(warned.code).toBe(0);
      const durable = await redisOn('--save', '', '--appendonly', 'yes');
      expect((await doctor(cwd, { REDIS_URL: `redis://127.0.0.1:${durable}` })).stdout).toMatch(/^✓ redis: redis:\/\/127\.0\.0\.1:\d+: PING → PONG$/m);
    } finally {
      for (const server of servers) server.kill('SIGKILL');
    }
  });

  // Needs Postgres; required with REQUIRE_SERVICES=1.
  it.skipIf(process.env.REQUIRE_SERVICES !== '1' && process.env.DATABASE_URL === undefined)(
    'says so when the schema DATABASE_URL sets as search_path does not exist, and how to create it, without network advice',
    async () => {
      const cwd = mkdtempSync(join(tmpdir(), 'relay-doctor-schema-'));
      const missing = `relay_doctor_missing_${Date.now().toString(36)}`;
      const url = new URL(process.env.DATABASE_URL!);
      url.searchParams.set('options', `-c search_path=${missing}`);
      const run = await doctor(cwd, { DATABASE_URL: url.toString(), RELAY_MASTER_KEY: keys.master });
      expect(run.code).toBe(1);
      const line = new RegExp(`^✗ database: Postgres postgres://\\S+: the schema "${missing}", which search_path names, does not exist in the database "[^"]+"$`, 'm');
      expect(run.stdout).toMatch(line);
      expect(run.stdout).toContain(`psql "$DATABASE_URL" -c 'CREATE SCHEMA "${missing}"'`);
      expect(run.stdout).toContain('search_path');
      expect(run.stdout).not.toMatch(/NetworkPolicy|egress|accepts connections/);
    },
  );

  it('refuses a --timeout-ms that would end every network step at once (or never), exiting 2 before any check', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-doctor-timeout-'));
    for (const value of ['0', '-5', 'abc', '1e3', '2.5', '99999999999']) {
      const run = await doctor(cwd, {}, '--timeout-ms', value);
      expect({ value, code: run.code, stdout: run.stdout }).toEqual({ value, code: 2, stdout: '' });
      expect(run.stderr).toBe(`relay doctor: --timeout-ms ${JSON.stringify(value)}: expected a whole number of milliseconds from 1 to 600000, such as 5000 (the time each network step may take).\n`);
    }
    const accepted = await doctor(cwd, {}, '--timeout-ms', '1500');
    expect(accepted.code).toBe(0);
  });

  it('reports a configuration that does not load, names no key, and exits 1', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-doctor-invalid-'));
    writeFileSync(join(cwd, 'relay.yaml'), 'providers:\n  broken: { type: openai, baseUrl: "not a url", apiKey: "${BROKEN_KEY}" }\n');
    const run = await doctor(cwd, { HOLYSHEEP_API_KEY: keys.good, RELAY_MASTER_KEY: 'short' });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^✗ configuration: .*providers\.broken\.baseUrl/m);
    expect(run.stdout).toMatch(/^✗ configuration: .*BROKEN_KEY.* is not set/m);
    expect(run.stdout).toMatch(/^ {4}fix: correct it in relay\.yaml; `relay check-config` checks again/m);
    expect(run.stdout).toMatch(/^! other checks: skipped/m);
    expectNoKeys(run);
  });
});
