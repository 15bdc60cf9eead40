import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import Anthropic from '@anthropic-ai/sdk';
import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, relayBin, spawnRelay, type SpawnedRelay } from './support/spawn-relay.js';

const run = promisify(execFile);

describe('the relay as a process, as a new user starts it', () => {
  let relay: SpawnedRelay | undefined;
  afterEach(async () => {
    if (relay && relay.child.exitCode === null) {
      relay.child.kill('SIGKILL');
      await relay.exited;
    }
    relay = undefined;
  });

  it('starts with nothing configured, says so, serves the mock models behind a generated key, and drains on SIGTERM', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-first-run-'));
    const port = await freePort();
    relay = spawnRelay(['serve', '--drain-delay-ms', '400', '--grace-period-ms', '2000'], { cwd, env: { PORT: String(port) } });
    await relay.waitForLog(/"msg":"relay listening"/);
    // Each line is its own write to stdout: the warnings that follow may arrive a moment later.
    await relay.waitForLog(/no upstream is configured: serving only the built-in mock models \(mock-\*\)/);
    await relay.waitForLog(/"keyFile":"data\/master\.key"/);

    const keyFile = join(cwd, 'data', 'master.key');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyFile, 'utf8').trim();
    expect(key).toMatch(/^sk-relay-[0-9a-f]{48}$/);
    expect(relay.stdout()).not.toContain(key);

    const client = new OpenAI({ apiKey: key, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: 'mock-chat', messages: [{ role: 'user', content: 'Hello relay' }] });
    expect(completion.choices[0]?.message.content).toContain('You said: "Hello relay"');
    // Token counts come from the counting thread, a file the bundle carries beside its chunks.
    const counted = await new Anthropic({ apiKey: key, baseURL: `http://127.0.0.1:${port}`, maxRetries: 0 }).messages.countTokens({ model: 'mock-chat', messages: [{ role: 'user', content: 'Hello relay' }] });
    expect(counted.input_tokens).toBe(new Tiktoken(cl100k).encode('Hello relay').length + 3);

    // The admin commands, run beside it as the README's quick start does, find the generated key.
    const created = await run(process.execPath, [relayBin, 'keys', 'create', 'first-app'], { cwd, env: { PATH: process.env.PATH ?? '', PORT: String(port) } });
    expect(created.stdout).toMatch(/^created key_\S+ \(first-app\)\nkey: sk-relay-[0-9a-f]{48}/);
    expect((await run(process.execPath, [relayBin, 'keys', 'list'], { cwd, env: { PATH: process.env.PATH ?? '', PORT: String(port) } })).stdout).toMatch(/first-app/);
    const elsewhere = mkdtempSync(join(tmpdir(), 'relay-first-run-elsewhere-'));
    await expect(run(process.execPath, [relayBin, 'keys', 'list'], { cwd: elsewhere, env: { PATH: process.env.PATH ?? '', PORT: String(port) } })).rejects.toMatchObject({
      stderr: expect.stringContaining('no admin key: set RELAY_MASTER_KEY or pass --key'),
    });

    const ready = await request(`http://127.0.0.1:${port}/ready`);
    expect(ready.statusCode).toBe(200);
    await ready.body.dump();

    relay.child.kill('SIGTERM');
    await relay.waitForLog(/shutting down: readiness is now 503/);
    const draining = await request(`http://127.0.0.1:${port}/ready`);
    expect(draining.statusCode).toBe(503);
    expect(await draining.body.json()).toEqual({ status: 'draining' });
    expect(await relay.exited).toBe(0);
    expect(relay.stdout()).toMatch(/shutdown complete/);
  });

  it('keeps the data folder and the SQLite files it creates private to its user (0700, 0600), and leaves modes an operator chose', async () => {
    const modeOf = (path: string) => statSync(path).mode & 0o777;
    const cwd = mkdtempSync(join(tmpdir(), 'relay-data-modes-'));
    const port = await freePort();
    const key = 'sk-relay-data-modes-0123456789';
    relay = spawnRelay(['serve', '--drain-delay-ms', '0'], { cwd, env: { PORT: String(port), RELAY_MASTER_KEY: key } });
    await relay.waitForLog(/"msg":"relay listening"/);
    // A key written to the store, so that the write-ahead log exists beside the file.
    const created = await request(`http://127.0.0.1:${port}/admin/keys`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'modes' }) });
    expect(created.statusCode).toBe(201);
    await created.body.dump();
    const data = join(cwd, 'data');
    const files = [join(data, 'relay.db'), join(data, 'relay.db-wal'), join(data, 'relay.db-shm')];
    expect({ folder: modeOf(data), files: files.map(modeOf) }).toEqual({ folder: 0o700, files: [0o600, 0o600, 0o600] });
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);

    // A folder the operator made (shared with a backup user, say) keeps its mode; the file made in it is still private.
    const shared = mkdtempSync(join(tmpdir(), 'relay-data-shared-'));
    chmodSync(shared, 0o750);
    const migrated = await run(process.execPath, [relayBin, 'migrate'], { cwd, env: { PATH: process.env.PATH ?? '', RELAY_DATA_DIR: shared } });
    expect(migrated.stderr).toBe('');
    expect({ folder: modeOf(shared), file: modeOf(join(shared, 'relay.db')) }).toEqual({ folder: 0o750, file: 0o600 });
  });

  it('exits non-zero with the path, the bad value and the fix when the config is invalid', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-bad-config-'));
    writeFileSync(join(cwd, 'relay.yaml'), 'server:\n  port: "eighty"\n');
    relay = spawnRelay(['serve'], { cwd, env: { PORT: String(await freePort()) } });
    expect(await relay.exited).toBe(2);
    expect(relay.stderr()).toMatch(/relay\.yaml: server\.port: .*got "eighty"\. Port to listen on/);
  });

  it('names the store it could not open, by the setting that chose it, without its password', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-no-database-'));
    const closedPort = await freePort();
    relay = spawnRelay(['serve'], { cwd, env: { PORT: String(await freePort()), RELAY_MASTER_KEY: 'sk-relay-no-database-0123456789', DATABASE_URL: `postgres://relay:hunter2-secret@127.0.0.1:${closedPort}/relay` } });
    expect(await relay.exited).toBe(1);
    expect(relay.stderr()).toContain(`relay: could not open the database at DATABASE_URL (postgres://relay:***@127.0.0.1:${closedPort}/relay): connect ECONNREFUSED`);
    expect(relay.stderr()).toContain('`relay doctor` checks it');
    expect(relay.stderr() + relay.stdout()).not.toContain('hunter2-secret');

    const file = join(cwd, 'not-a-directory');
    writeFileSync(file, '');
    relay = spawnRelay(['serve'], { cwd, env: { PORT: String(await freePort()), RELAY_DATA_DIR: join(file, 'data') } });
    expect(await relay.exited).toBe(1);
    expect(relay.stderr()).toMatch(/the generated master key could not be kept in .*not-a-directory\/data \(RELAY_DATA_DIR\): ENOTDIR/);
  });

  it('warns, in a Kubernetes pod on its own SQLite file, that what is made there stays in that pod', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-in-a-pod-'));
    const env = { PORT: String(await freePort()), RELAY_MASTER_KEY: 'sk-relay-in-a-pod-0123456789', KUBERNETES_SERVICE_HOST: '10.96.0.1' };
    relay = spawnRelay(['serve', '--drain-delay-ms', '0'], { cwd, env });
    await relay.waitForLog(/running in Kubernetes on a SQLite file of this pod: .*set DATABASE_URL/);
    relay.child.kill('SIGTERM');
    await relay.exited;
    // Outside Kubernetes, SQLite is the default for one process: no warning.
    relay = spawnRelay(['serve', '--drain-delay-ms', '0'], { cwd, env: { PORT: String(await freePort()), RELAY_MASTER_KEY: env.RELAY_MASTER_KEY } });
    // Written after the check (both relays have no upstream): the warning would have come before it.
    await relay.waitForLog(/no upstream is configured/);
    relay.child.kill('SIGTERM');
    await relay.exited;
    expect(relay.stdout()).not.toContain('running in Kubernetes');
  });

  it('exits non-zero naming the variable when a shutdown time is not a number of milliseconds', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-bad-shutdown-'));
    relay = spawnRelay(['serve'], { cwd, env: { PORT: String(await freePort()), SHUTDOWN_DRAIN_DELAY_MS: '5s' } });
    expect(await relay.exited).toBe(2);
    expect(relay.stderr()).toContain('SHUTDOWN_DRAIN_DELAY_MS="5s": expected a whole number of milliseconds (0 or more), such as 5000.');
    expect(relay.stdout()).not.toMatch(/relay listening/);
  });

  it('takes whole-number settings only as plain decimal digits, exiting 2 with the variable and the expected form otherwise', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-number-forms-'));
    const checkConfig = (env: Record<string, string>) =>
      run(process.execPath, [relayBin, 'check-config'], { cwd, env: { PATH: process.env.PATH ?? '', RELAY_MASTER_KEY: 'sk-relay-number-forms-0123456789', ...env } }).then(
        (done) => ({ code: 0, stdout: done.stdout, stderr: done.stderr }),
        (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
      );
    const refused: Array<[string, string, string]> = [
      ['PORT', '0x1F90', 'expected a whole number from 0 to 65535'],
      ['PORT', '8080.0', 'expected a whole number from 0 to 65535'],
      ['PORT', '+8080', 'expected a whole number from 0 to 65535'],
      ['TIMEOUT_MS', '1e4', 'expected a whole number from 100 to 3600000'],
      ['MAX_RETRIES', '0b10', 'expected a whole number from 0 to 10'],
      ['CONNECTION_POOL_SIZE', '0o17', 'expected a whole number from 1 to 10000'],
      ['METRICS_PORT', '9_090', 'expected a whole number from 0 to 65535'],
    ];
    for (const [name, value, expected] of refused) {
      const result = await checkConfig({ [name]: value });
      expect({ name, value, code: result.code, stderr: result.stderr }).toEqual({ name, value, code: 2, stderr: `relay: invalid configuration:\n  - ${name}=${JSON.stringify(value)}: ${expected}, in plain decimal digits.\n` });
    }
    // Plain digits, with spaces around them as a shell or a .env file may leave, are taken.
    const taken = await checkConfig({ PORT: ' 8081 ', TIMEOUT_MS: '10000' });
    expect(taken.code).toBe(0);
    expect(JSON.parse(taken.stdout)).toMatchObject({ listen: '0.0.0.0:8081' });

    for (const value of ['1e3', '0x10']) {
      relay = spawnRelay(['serve'], { cwd, env: { PORT: String(await freePort()), SHUTDOWN_GRACE_PERIOD_MS: value } });
      expect(await relay.exited).toBe(2);
      expect(relay.stderr()).toContain(`SHUTDOWN_GRACE_PERIOD_MS=${JSON.stringify(value)}: expected a whole number of milliseconds (0 or more), such as 25000.`);
    }
  });

  it('exits 2 naming the file when relay.yaml is a directory (a bind mount of a file that did not exist) or RELAY_CONFIG is one', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-config-dir-'));
    mkdirSync(join(cwd, 'relay.yaml'));
    relay = spawnRelay(['serve'], { cwd, env: { PORT: String(await freePort()) } });
    expect(await relay.exited).toBe(2);
    expect(relay.stderr()).toBe(`relay: invalid configuration:\n  - ${join(cwd, 'relay.yaml')}: cannot be read as the config file: it is a directory. Point RELAY_CONFIG at the file, or mount the file itself.\n`);
    const checked = await run(process.execPath, [relayBin, 'check-config'], { cwd, env: { PATH: process.env.PATH ?? '', RELAY_CONFIG: '.' } }).catch((error: { code: number; stderr: string }) => error);
    expect(checked).toMatchObject({ code: 2, stderr: expect.stringContaining(`RELAY_CONFIG=".": ${cwd}: cannot be read as the config file: it is a directory.`) });
  });

  it('names the setting whose port or host it could not listen on', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-port-taken-'));
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '0.0.0.0', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const env = { RELAY_MASTER_KEY: 'sk-relay-port-taken-0123456789' };
      relay = spawnRelay(['serve'], { cwd, env: { ...env, PORT: String(port) } });
      expect(await relay.exited).toBe(1);
      expect(relay.stderr()).toBe(`relay: could not listen on 0.0.0.0:${port}, set by PORT (or server.port): the port is already in use by another process. Stop it, or choose another port.\n`);
      relay = spawnRelay(['serve'], { cwd, env: { ...env, PORT: String(await freePort()), METRICS_PORT: String(port) } });
      expect(await relay.exited).toBe(1);
      expect(relay.stderr()).toContain(`relay: could not listen on 0.0.0.0:${port}, set by METRICS_PORT: the port is already in use`);
      relay = spawnRelay(['serve'], { cwd, env: { ...env, PORT: String(await freePort()), HOST: 'relay-host-test.invalid' } });
      expect(await relay.exited).toBe(1);
      expect(relay.stderr()).toMatch(/^relay: could not listen on relay-host-test\.invalid:\d+, set by HOST \(or server\.host\): the host name does not resolve here \((ENOTFOUND|EAI_AGAIN)\)\. Give an address of this machine, or 0\.0\.0\.0 for all\.\n$/);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
