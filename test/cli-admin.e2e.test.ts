import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, relayBin, spawnRelay, type SpawnedRelay } from './support/spawn-relay.js';

const run = promisify(execFile);
const master = 'sk-relay-cli-admin-master-0123456789';

describe('relay keys, accounts, usage and migrate (CLI)', () => {
  let relay: SpawnedRelay;
  let port: number;
  let cwd: string;
  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'relay-cli-admin-'));
    port = await freePort();
    relay = spawnRelay(['serve', '--drain-delay-ms', '0'], { cwd, env: { PORT: String(port), RELAY_MASTER_KEY: master } });
    await relay.waitForLog(/relay listening/);
  });
  afterAll(async () => {
    relay.child.kill('SIGTERM');
    await relay.exited;
  });

  const cli = (...args: string[]) =>
    run(process.execPath, [relayBin, ...args], { cwd, env: { PATH: process.env.PATH ?? '', RELAY_URL: `http://127.0.0.1:${port}`, RELAY_MASTER_KEY: master } });

  it('creates an account and a key with limits, shows them, reports usage and revokes the key', async () => {
    const account = JSON.parse((await cli('accounts', '--json', 'create', 'team-cli', '--currency', 'CNY')).stdout) as { id: string; currency: string };
    expect(account.currency).toBe('CNY');
    const topped = JSON.parse((await cli('accounts', '--json', 'topup', account.id, '50')).stdout) as { balance: number };
    expect(topped.balance).toBe(50);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await cli('accounts', 'topup', account.id, '1', '--currency', 'USD', '--note', 'invoice 7');
    const history = JSON.parse((await cli('accounts', '--json', 'history', account.id)).stdout) as Array<{ amount: number; balance_after: number; currency: string; note: string }>;
    expect(history.map(({ note, currency }) => [note, currency])).toEqual([
      ['invoice 7', 'CNY'],
      ['top-up of 50 CNY', 'CNY'],
    ]);
    // Dollars, converted at the relay's rates into the account's yuan.
    expect(history[0]!.balance_after).toBeCloseTo(50 + history[0]!.amount, 6);
    expect(history[1]).toMatchObject({ amount: 50, balance_after: 50 });
    expect((await cli('accounts', 'history', account.id, '--limit', '1')).stdout).toMatch(/invoice 7/);
    await expect(cli('accounts', 'history', account.id, '--limit', '0')).rejects.toMatchObject({ stderr: expect.stringMatching(/Invalid value for 'limit'/) });

    const created = (await cli('keys', 'create', 'cli-key', '--account', account.id, '--models', 'mock-*', '--rpm', '60', '--budget', '5:EUR:daily')).stdout;
    const secret = /key: (sk-relay-[0-9a-f]{48})/.exec(created)?.[1];
    const id = /created (key_\S+)/.exec(created)?.[1];
    expect(secret).toBeDefined();
    expect(created).toMatch(/cannot show it again/);

    const listed = (await cli('keys', 'list')).stdout;
    expect(listed).toMatch(/^id\s+name\s+prefix/);
    expect(listed).toMatch(new RegExp(`${id}\\s+cli-key\\s+${secret!.slice(0, 13)}.*5 EUR/daily`));
    expect(listed).not.toContain(secret);

    const client = new OpenAI({ apiKey: secret!, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
    await client.chat.completions.create({ model: 'mock-chat', messages: [{ role: 'user', content: 'hi' }] });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const usage = JSON.parse((await cli('usage', '--json', '--group-by', 'model', '--key-id', id!)).stdout) as { data: Array<{ group: string; requests: number; currency: string }> };
    expect(usage.data).toEqual([expect.objectContaining({ group: 'mock-chat', requests: 1, currency: 'CNY' })]);
    expect((await cli('usage', '--csv', '--group-by', 'key')).stdout).toMatch(/^group,currency,requests,errors,/);
    expect((await cli('usage', '--group-by', 'model', '--key-id', id!)).stdout).toMatch(/^group\s+currency\s+requests\s+errors\s.*\n.*\nmock-chat\s+CNY\s+1\s+0\s/);
    // The tokens read from and written to the prompt cache, beside the prompt they are part of.
    expect((await cli('usage', '--group-by', 'model', '--key-id', id!)).stdout).toMatch(/^group\s+currency\s+requests\s+errors\s+prompt_tokens\s+completion_tokens\s+cached_tokens\s+cache_write_tokens\s+cost\s/);

    expect((await cli('keys', 'revoke', id!)).stdout).toMatch(/\d{4}-\d{2}-\d{2}T/);
    await expect(client.chat.completions.create({ model: 'mock-chat', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 401 });
  });

  it('sets, enforces and lifts a key\'s expiry, and says which values the admin API takes', async () => {
    const created = (await cli('keys', 'create', 'short-lived', '--expires-at', '2020-01-01T00:00:00Z')).stdout;
    const secret = /key: (sk-relay-[0-9a-f]{48})/.exec(created)?.[1];
    const id = /created (key_\S+)/.exec(created)?.[1];
    expect(JSON.parse((await cli('keys', '--json', 'show', id!)).stdout)).toMatchObject({ expires_at: '2020-01-01T00:00:00.000Z' });

    const client = new OpenAI({ apiKey: secret!, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
    const ask = () => client.chat.completions.create({ model: 'mock-chat', messages: [{ role: 'user', content: 'hi' }] });
    await expect(ask()).rejects.toMatchObject({ status: 401, code: 'expired_api_key' });

    const later = await request(`http://127.0.0.1:${port}/admin/keys/${id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${master}`, 'content-type': 'application/json' },
      body: JSON.stringify({ expires_at: '2999-12-31T23:59:59+08:00' }),
    });
    expect(await later.body.json()).toMatchObject({ expires_at: '2999-12-31T15:59:59.000Z' });
    expect((await ask()).choices[0]?.message.content).toContain('You said: "hi"');

    await expect(cli('keys', 'create', 'dateless', '--expires-at', '2030-01-31')).rejects.toMatchObject({
      stderr: expect.stringContaining("Invalid value for 'expires_at': expected a date-time with a time zone, such as 2030-01-31T00:00:00Z."),
    });
    await expect(cli('accounts', 'create', 'pounds', '--currency', 'GBP')).rejects.toMatchObject({
      stderr: expect.stringContaining('Invalid value for \'currency\': expected "USD", "CNY" or "EUR".'),
    });
    const budget = await request(`http://127.0.0.1:${port}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${master}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'budgeted', budget: { amount: '5', currency: 'USD', period: 'monthly' } }),
    });
    expect(budget.statusCode).toBe(400);
    expect(await budget.body.json()).toMatchObject({ error: { param: 'budget.amount', message: "Invalid type for 'budget.amount': expected number." } });
  });

  it("changes a key's settings in place, clears them with --no-<setting>, and keeps its secret", async () => {
    const created = (await cli('keys', 'create', 'tuned', '--rpm', '60', '--budget', '5:USD:monthly')).stdout;
    const secret = /key: (sk-relay-[0-9a-f]{48})/.exec(created)?.[1];
    const id = /created (key_\S+)/.exec(created)?.[1];
    const show = async () => JSON.parse((await cli('keys', '--json', 'show', id!)).stdout) as Record<string, unknown>;

    const changed = (await cli('keys', 'update', id!, '--name', 'tuned-2', '--models', 'mock-*', '--rpm', '2', '--budget', '3:EUR:daily', '--expires-at', '2999-01-01T00:00:00Z')).stdout;
    expect(changed).toMatch(new RegExp(`${id}\\s+tuned-2\\s+${secret!.slice(0, 13)}.*2\\s+-\\s+-\\s+3 EUR/daily\\s+2999-01-01T00:00:00.000Z`));
    expect(await show()).toMatchObject({ name: 'tuned-2', models: ['mock-*'], rpm: 2, budget: { amount: 3, currency: 'EUR', period: 'daily' }, expires_at: '2999-01-01T00:00:00.000Z' });

    // The new limit applies to the same secret at once: two requests a minute, the third refused.
    const client = new OpenAI({ apiKey: secret!, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
    const ask = () => client.chat.completions.create({ model: 'mock-chat', messages: [{ role: 'user', content: 'hi' }] });
    await ask();
    await ask();
    await expect(ask()).rejects.toMatchObject({ status: 429 });

    await cli('keys', 'update', id!, '--no-rpm', '--no-models', '--no-budget', '--no-expires-at');
    expect(await show()).toMatchObject({ name: 'tuned-2', models: null, rpm: null, budget: null, expires_at: null });
    expect((await ask()).choices[0]?.message.content).toContain('You said: "hi"');

    await expect(cli('keys', 'update', id!)).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('nothing to change') });
    await expect(cli('keys', 'update', 'key_missing', '--rpm', '1')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('No key with id "key_missing"') });
  });

  it('prints a list as a JSON array with --json, even of one entry, so that scripts can iterate it', async () => {
    const other = mkdtempSync(join(tmpdir(), 'relay-cli-json-'));
    const otherPort = await freePort();
    const single = spawnRelay(['serve', '--drain-delay-ms', '0'], { cwd: other, env: { PORT: String(otherPort), RELAY_MASTER_KEY: master } });
    try {
      await single.waitForLog(/relay listening/);
      const at = (...args: string[]) => run(process.execPath, [relayBin, ...args, '--url', `http://127.0.0.1:${otherPort}`], { cwd: other, env: { PATH: process.env.PATH ?? '', RELAY_MASTER_KEY: master } });
      await at('accounts', 'create', 'only-account');
      await at('keys', 'create', 'only-key');
      const keys = JSON.parse((await at('keys', 'list', '--json')).stdout) as unknown;
      expect(keys).toEqual([expect.objectContaining({ name: 'only-key' })]);
      const accounts = JSON.parse((await at('accounts', 'list', '--json')).stdout) as unknown;
      expect(accounts).toEqual([expect.objectContaining({ name: 'only-account' })]);
      // One item stays one object.
      const id = (keys as Array<{ id: string }>)[0]!.id;
      expect(JSON.parse((await at('keys', 'show', id, '--json')).stdout)).toMatchObject({ id, name: 'only-key' });
    } finally {
      single.child.kill('SIGTERM');
      await single.exited;
    }
  });

  it('reaches the admin API when RELAY_URL is the base URL clients use, ending in /v1', async () => {
    const listed = await run(process.execPath, [relayBin, 'keys', 'list', '--json'], { cwd, env: { PATH: process.env.PATH ?? '', RELAY_URL: `http://127.0.0.1:${port}/v1/`, RELAY_MASTER_KEY: master } });
    expect(Array.isArray(JSON.parse(listed.stdout))).toBe(true);
    const flagged = await run(process.execPath, [relayBin, 'canary', 'list', '--json', '--url', `http://127.0.0.1:${port}/v1`], { cwd, env: { PATH: process.env.PATH ?? '', RELAY_MASTER_KEY: master } });
    expect(JSON.parse(flagged.stdout)).toEqual([]);
  });

  it('names a mistyped command instead of handing it to serve', async () => {
    const failure = await cli('key', 'list').catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 1, stderr: expect.stringMatching(/^error: unknown command 'key'\n/) });
    expect((failure as { stderr: string }).stderr).toMatch(/keys \[options\]\s+create and manage client keys/);
    expect((failure as { stderr: string }).stderr).not.toContain("'serve'");
  });

  it('says when there is no canary, and when no relay answers where it looks', async () => {
    expect((await cli('canary', 'list')).stdout).toBe('no canary is configured: add "canary" to a route under "models" in relay.yaml\n');
    expect(JSON.parse((await cli('canary', 'list', '--json')).stdout)).toEqual([]);
    const closed = await freePort();
    await expect(run(process.execPath, [relayBin, 'keys', 'list'], { cwd, env: { PATH: process.env.PATH ?? '', RELAY_URL: `http://127.0.0.1:${closed}`, RELAY_MASTER_KEY: master } })).rejects.toMatchObject({
      stderr: `relay: no relay answered at http://127.0.0.1:${closed} (connect ECONNREFUSED 127.0.0.1:${closed}): start it, or point the CLI at it with RELAY_URL or --url\n`,
    });
  });

  it('hashes a client key read from standard input, so that it stays out of shell history and the process list', () => {
    const key = 'sk-team-a-secret-key-123';
    const expected = `${createHash('sha256').update(key).digest('hex')}\n`;
    const piped = spawnSync(process.execPath, [relayBin, 'hash-key'], { cwd, input: `${key}\n`, encoding: 'utf8' });
    expect(piped).toMatchObject({ status: 0, stdout: expected, stderr: '' });
    expect(spawnSync(process.execPath, [relayBin, 'hash-key', '-'], { cwd, input: key, encoding: 'utf8' })).toMatchObject({ status: 0, stdout: expected });
    expect(spawnSync(process.execPath, [relayBin, 'hash-key', key], { cwd, encoding: 'utf8' })).toMatchObject({ status: 0, stdout: expected });
    expect(spawnSync(process.execPath, [relayBin, 'hash-key'], { cwd, input: '\n', encoding: 'utf8' })).toMatchObject({ status: 1, stdout: '', stderr: expect.stringContaining('no key on standard input') });
  });

  it('migrates the SQLite file and reports it up to date', async () => {
    const other = mkdtempSync(join(tmpdir(), 'relay-cli-migrate-'));
    const first = await run(process.execPath, [relayBin, 'migrate'], { cwd: other, env: { PATH: process.env.PATH ?? '' } });
    expect(first.stdout).toMatch(/^sqlite at .*relay\.db: applied /);
    const second = await run(process.execPath, [relayBin, 'migrate'], { cwd: other, env: { PATH: process.env.PATH ?? '' } });
    expect(second.stdout).toMatch(/up to date/);
    writeFileSync(join(other, 'relay.yaml'), 'server:\n  port: "eighty"\n');
    await expect(run(process.execPath, [relayBin, 'migrate'], { cwd: other, env: { PATH: process.env.PATH ?? '' } })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^relay: invalid configuration:\n {2}- .*relay\.yaml: server\.port: /),
    });
  });
});
