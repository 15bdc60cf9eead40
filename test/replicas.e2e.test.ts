import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { reachable, freshSchema } from './support/services.js';
import { freePort, spawnRelay, type SpawnedRelay } from './support/spawn-relay.js';

const master = 'sk-relay-replica-test-master-0123456789';
/** Preloaded into a replica whose clock must differ from the others' (TEST_CLOCK_STARTS_AT). */
const clock = fileURLToPath(new URL('./support/clock-starts-at.mjs', import.meta.url));
const services = await reachable();
if (services.why !== undefined) process.stdout.write(`replicas.e2e: skipped: ${services.why}\n`);

describe.skipIf(services.why !== undefined)('two relay replicas sharing Postgres and Redis', () => {
  const upstream = new MockOpenAIUpstream();
  const candidate = new MockOpenAIUpstream();
  let schema: Awaited<ReturnType<typeof freshSchema>>;
  let cwd: string;
  const running: SpawnedRelay[] = [];

  async function replica(directory = cwd, env: Record<string, string> = {}): Promise<{ relay: SpawnedRelay; url: string }> {
    const port = await freePort();
    const relay = spawnRelay(['serve', '--drain-delay-ms', '100', '--grace-period-ms', '5000'], {
      cwd: directory,
      env: { PORT: String(port), RELAY_MASTER_KEY: master, DATABASE_URL: schema.url, REDIS_URL: services.redisUrl ?? '', HOLYSHEEP_API_KEY: 'hs-key-0123456789', HOLYSHEEP_BASE_URL: upstream.url, ...env },
    });
    running.push(relay);
    await relay.waitForLog(/relay listening/);
    return { relay, url: `http://127.0.0.1:${port}` };
  }

  async function admin<T>(base: string, path: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE' = 'GET', body?: unknown): Promise<T> {
    const response = await request(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${master}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await response.body.json()) as T;
  }

  const ask = (base: string, key: string) =>
    new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4.1', max_tokens: 20, messages: [{ role: 'user', content: 'hello there' }] });

  beforeAll(async () => {
    await upstream.start();
    await candidate.start();
    schema = await freshSchema(services.databaseUrl!);
    cwd = mkdtempSync(join(tmpdir(), 'relay-replicas-'));
    writeFileSync(join(cwd, 'relay.yaml'), 'ledger:\n  flushIntervalMs: 200\n');
  });
  afterAll(async () => {
    for (const relay of running) if (relay.child.exitCode === null) relay.child.kill('SIGKILL');
    await Promise.all(running.map((relay) => relay.exited));
    await upstream.stop();
    await candidate.stop();
    await schema.drop();
  });

  it('enforce one RPM limit together, and both refuse a revoked key within a second', async () => {
    const [a, b] = [await replica(), await replica()];
    const key = await admin<{ id: string; key: string }>(a.url, '/admin/keys', 'POST', { name: 'shared', rpm: 10 });
    // Once b knows the key (its cache polls): before, b refuses it, and each refusal counts as a failed sign-in from this address.
    await expect.poll(() => fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${key.key}` } }).then((response) => response.status), { timeout: 3000, interval: 400 }).toBe(200);
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, index) => ask(index % 2 === 0 ? a.url : b.url, key.key)));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(10);

    const other = await admin<{ id: string; key: string }>(a.url, '/admin/keys', 'POST', { name: 'to-revoke' });
    // Each refusal of the key before b learns it counts as a failed sign-in from this address (ten a minute are allowed).
    await expect.poll(async () => (await ask(b.url, other.key).then(() => 'ok', () => 'refused')), { timeout: 3000, interval: 400 }).toBe('ok');
    await admin(a.url, `/admin/keys/${other.id}`, 'DELETE');
    const revokedAt = Date.now();
    await expect.poll(async () => (await ask(b.url, other.key).then(() => 'ok', (error: { status?: number }) => String(error.status))), { timeout: 1000, interval: 50 }).toBe('401');
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    for (const relay of [a.relay, b.relay]) relay.child.kill('SIGTERM');
    await Promise.all([a.relay.exited, b.relay.exited]);
  });

  it('refuse a key whose revocation committed long after its stamp, which the polls for changes miss, once they read every key again', async () => {
    const [a, b] = [await replica(), await replica()];
    const status = (key: string) => fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } }).then((response) => response.status);
    const revoked = await admin<{ id: string; key: string }>(a.url, '/admin/keys', 'POST', { name: 'revoked-late' });
    await expect.poll(() => status(revoked.key), { timeout: 3000, interval: 400 }).toBe(200);
    // A later change elsewhere moves b's polls past the stamp the revocation will carry.
    await new Promise((resolve) => setTimeout(resolve, 2_200));
    const later = await admin<{ id: string; key: string }>(a.url, '/admin/keys', 'POST', { name: 'changed-later' });
    await expect.poll(() => status(later.key), { timeout: 3000, interval: 400 }).toBe(200);
    // The revocation as a transaction that took its stamp early and committed seconds later writes it.
    const database = new pg.Client({ connectionString: schema.url });
    await database.connect();
    try {
      const { rows } = await database.query<{ updated_at: string }>('select updated_at from api_keys where id = $1', [revoked.id]);
      await database.query('update api_keys set revoked_at = $2, updated_at = $3 where id = $1', [revoked.id, Date.now(), Number(rows[0]!.updated_at) + 1]);
    } finally {
      await database.end();
    }
    await expect.poll(() => status(revoked.key), { timeout: 15_000, interval: 500 }).toBe(401);
    expect(await status(later.key)).toBe(200);
    for (const relay of [a.relay, b.relay]) relay.child.kill('SIGTERM');
    await Promise.all([a.relay.exited, b.relay.exited]);
  });

  it("refuse a key revoked at one replica while another changes it, though the revoking replica's clock is a minute behind", async () => {
    const a = await replica();
    const b = await replica(cwd, { NODE_OPTIONS: `--import ${clock}`, TEST_CLOCK_STARTS_AT: String(Date.now() - 60_000) });
    const status = (base: string, key: string) => fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${key}` } }).then((response) => response.status);
    // Postgres keeps limits in 32-bit columns: beyond is the client's mistake, as on SQLite.
    expect(await admin(a.url, '/admin/keys', 'POST', { name: 'big', rpm: 3_000_000_000 })).toMatchObject({ error: { code: 'invalid_request', param: 'rpm' } });
    const key = await admin<{ id: string; key: string }>(a.url, '/admin/keys', 'POST', { name: 'raced' });
    await expect.poll(() => status(b.url, key.key), { timeout: 3000, interval: 400 }).toBe(200);

    // Another transaction holds the key's row; the change at a, then the revocation at b, wait for it.
    const holder = new pg.Client({ connectionString: schema.url });
    await holder.connect();
    const holderPid = (await holder.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    const waiting = async () => {
      const { rows } = await holder.query<{ waiting: number }>(
        `with behind as (select pid from pg_stat_activity where $1 = any(pg_blocking_pids(pid)))
         select count(*)::int as waiting from pg_stat_activity where $1 = any(pg_blocking_pids(pid)) or pg_blocking_pids(pid) && array(select pid from behind)`,
        [holderPid],
      );
      return rows[0]!.waiting;
    };
    await holder.query('begin');
    await holder.query('select id from api_keys where id = $1 for update', [key.id]);
    const changing = admin<{ updated_at: string }>(a.url, `/admin/keys/${key.id}`, 'PATCH', { rpm: 100 });
    await expect.poll(waiting, { timeout: 10_000, interval: 50 }).toBe(1);
    const revoking = admin<{ updated_at: string; revoked_at: string | null }>(b.url, `/admin/keys/${key.id}`, 'DELETE');
    await expect.poll(waiting, { timeout: 10_000, interval: 50 }).toBe(2);
    await holder.query('commit');
    await holder.end();
    const [changed, revoked] = await Promise.all([changing, revoking]);

    // The revocation was written after the change, and its stamp says so, whatever b's clock read.
    expect(revoked.revoked_at).not.toBeNull();
    expect(Date.parse(revoked.updated_at)).toBeGreaterThan(Date.parse(changed.updated_at));
    // Both replicas refuse the key (within the polls' second; the bound is the 10 s re-read and more).
    await expect.poll(() => status(a.url, key.key), { timeout: 15_000, interval: 250 }).toBe(401);
    await expect.poll(() => status(b.url, key.key), { timeout: 15_000, interval: 250 }).toBe(401);
    for (const relay of [a.relay, b.relay]) relay.child.kill('SIGTERM');
    await Promise.all([a.relay.exited, b.relay.exited]);
  }, 60_000);

  it('keeps one ledger row per answered request through SIGTERM, and loses at most the last batch interval on SIGKILL', async () => {
    const reporter = await replica();
    const key = await admin<{ id: string; key: string }>(reporter.url, '/admin/keys', 'POST', { name: 'ledger-check' });

    async function loadUntil(target: { relay: SpawnedRelay; url: string }, signal: 'SIGTERM' | 'SIGKILL'): Promise<{ answered: number; lastSecond: number }> {
      upstream.setStreamDefaults({ chunks: 5, delayMs: 5 });
      let answered = 0;
      const answeredAt: number[] = [];
      let stop = false;
      const workers = Array.from({ length: 8 }, async () => {
        while (!stop) {
          try {
            await ask(target.url, key.key);
            answered++;
            answeredAt.push(Date.now());
          } catch {
            return;
          }
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 700));
      const killedAt = Date.now();
      target.relay.child.kill(signal);
      stop = true;
      await Promise.all(workers);
      await target.relay.exited;
      return { answered, lastSecond: answeredAt.filter((time) => time > killedAt - 1000).length };
    }

    const ledgerRows = async () =>
      (await admin<{ data: Array<{ requests: number }> }>(reporter.url, `/admin/usage?group_by=key&key=${key.id}`)).data.reduce((sum, row) => sum + row.requests, 0);

    const graceful = await loadUntil(await replica(), 'SIGTERM');
    expect(graceful.answered).toBeGreaterThan(10);
    expect(await ledgerRows()).toBe(graceful.answered);

    const killed = await loadUntil(await replica(), 'SIGKILL');
    const rows = (await ledgerRows()) - graceful.answered;
    expect(rows).toBeLessThanOrEqual(killed.answered);
    expect(killed.answered - rows).toBeLessThanOrEqual(killed.lastSecond);
    reporter.relay.child.kill('SIGTERM');
    await reporter.relay.exited;
  });

  it('share one canary: both replicas judge it together, follow a button pressed at either, and keep it through a restart', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'relay-replicas-canary-'));
    // All of the route's traffic on the candidate until the first check; 12 candidate requests needed, 8 at each replica.
    writeFileSync(
      join(directory, 'relay.yaml'),
      `providers:\n  stable: { type: openai, baseUrl: "${upstream.url}", apiKey: stable-key-0123456789 }\n  candidate: { type: openai, baseUrl: "${candidate.url}", apiKey: candidate-key-0123456789 }\n` +
        'models:\n  gpt-4.1:\n    targets: [{ provider: stable }]\n    canary:\n      targets: [{ provider: candidate }]\n      initialWeight: 100\n      maxWeight: 100\n      intervalMs: 2000\n      minRequests: 12\n',
    );
    const [a, b] = [await replica(directory), await replica(directory)];
    type Canary = { phase: string; weight: number; version: number; history: Array<{ action: string; requests: number; verdict: string }> };
    const canary = (base: string) => admin<Canary>(base, '/admin/canaries/gpt-4.1');
    // Eight requests at each replica early in one interval (the intervals follow the wall clock).
    while (Date.now() % 2000 > 300) await new Promise((resolve) => setTimeout(resolve, 20));
    await Promise.all(Array.from({ length: 16 }, (_, index) => ask(index % 2 === 0 ? a.url : b.url, master)));
    expect(candidate.requests.length).toBe(16);
    await expect.poll(async () => (await canary(a.url)).phase, { timeout: 6000, interval: 100 }).toBe('promoted');
    const promoted = await canary(a.url);
    // One decision, from both replicas' samples, that both replicas show.
    expect(promoted.history.filter((check) => check.action === 'promote')).toEqual([expect.objectContaining({ verdict: 'pass', requests: 16 })]);
    await expect.poll(async () => (await canary(b.url)).version, { timeout: 2000, interval: 50 }).toBe(promoted.version);
    expect((await canary(b.url)).history).toEqual(promoted.history);

    // Rolled back at one replica: the other follows within a second or so.
    const rolledBack = await admin<Canary>(b.url, '/admin/canaries/gpt-4.1/rollback', 'POST');
    expect(rolledBack.phase).toBe('rolled_back');
    await expect.poll(async () => (await canary(a.url)).phase, { timeout: 2000, interval: 50 }).toBe('rolled_back');
    const stableBefore = upstream.requests.length;
    await ask(a.url, master);
    expect(upstream.requests.length).toBe(stableBefore + 1);
    expect(candidate.requests.length).toBe(16);

    // A replica started afterwards starts from the shared state, not from the initial weight.
    a.relay.child.kill('SIGTERM');
    await a.relay.exited;
    const restarted = await replica(directory);
    expect(await canary(restarted.url)).toMatchObject({ phase: 'rolled_back', weight: 0, version: rolledBack.version });
    await ask(restarted.url, master);
    expect(candidate.requests.length).toBe(16);
    for (const relay of [b.relay, restarted.relay]) relay.child.kill('SIGTERM');
    await Promise.all([b.relay.exited, restarted.relay.exited]);
  });

  it('know every dashboard session: signed in at one replica, a browser is signed in at the other, and signed out at both', async () => {
    const [a, b] = [await replica(), await replica()];
    const signIn = await request(`${a.url}/dashboard/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: master }) });
    expect(signIn.statusCode).toBe(200);
    const { csrf_token: csrf } = (await signIn.body.json()) as { csrf_token: string };
    const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
    const keysAt = async (base: string) => {
      const response = await request(`${base}/admin/keys`, { headers: { cookie } });
      await response.body.dump();
      return response.statusCode;
    };
    expect(await keysAt(b.url)).toBe(200);
    // A change at the other replica, with the session's CSRF token.
    const created = await request(`${b.url}/admin/keys`, { method: 'POST', headers: { cookie, 'x-relay-csrf': csrf, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'from-the-dashboard' }) });
    expect(created.statusCode).toBe(201);
    await created.body.dump();
    const signOut = await request(`${b.url}/dashboard/api/session`, { method: 'DELETE', headers: { cookie, 'x-relay-csrf': csrf } });
    expect(signOut.statusCode).toBe(204);
    await signOut.body.dump();
    expect(await keysAt(a.url)).toBe(401);
    expect(await keysAt(b.url)).toBe(401);
    for (const relay of [a.relay, b.relay]) relay.child.kill('SIGTERM');
    await Promise.all([a.relay.exited, b.relay.exited]);
  });

  it('resolve at one replica a /v1/responses item reference to an answer of the other, streamed or not', async () => {
    const [a, b] = [await replica(), await replica()];
    const tools = [{ type: 'function' as const, name: 'search_docs', parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] }, strict: false }];
    const at = (base: string) => new OpenAI({ apiKey: master, baseURL: `${base}/v1`, maxRetries: 0 });
    const call = await at(a.url).responses.create({ model: 'gpt-4.1', input: 'find the docs', tools });
    const functionCall = call.output.find((item) => item.type === 'function_call')!;
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of await at(a.url).responses.create({ model: 'gpt-4.1', input: 'find the docs again', tools, stream: true })) {
      if (event.type === 'response.completed') completed = event.response;
    }
    const streamedCall = completed!.output.find((item) => item.type === 'function_call')!;
    for (const [item, callId] of [[functionCall, 'call_mock_0'], [streamedCall, 'call_mock_0']] as const) {
      const answer = await at(b.url).responses.create({
        model: 'gpt-4.1',
        tools,
        input: [{ role: 'user', content: 'find the docs' }, { type: 'item_reference', id: item.id! }, { type: 'function_call_output', call_id: callId, output: 'found 3' }],
      });
      expect(answer.output_text).toBe('echo: found 3');
      // The upstream got the call itself, rebuilt from the other replica's answer.
      const sent = upstream.requests.at(-1)!.body.messages as Array<{ role: string; tool_calls?: Array<{ id: string; function: { name: string } }> }>;
      expect(sent[1]).toMatchObject({ role: 'assistant', tool_calls: [{ id: callId, function: { name: 'search_docs' } }] });
    }
    for (const relay of [a.relay, b.relay]) relay.child.kill('SIGTERM');
    await Promise.all([a.relay.exited, b.relay.exited]);
  });
});
