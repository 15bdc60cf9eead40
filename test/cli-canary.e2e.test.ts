import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { freePort, relayBin, spawnRelay, type SpawnedRelay } from './support/spawn-relay.js';

const run = promisify(execFile);
const master = 'sk-relay-cli-test-master-0123456789';

describe('relay canary (CLI)', () => {
  const upstream = new MockOpenAIUpstream();
  let relay: SpawnedRelay;
  let port: number;
  let cwd: string;
  beforeAll(async () => {
    await upstream.start();
    cwd = mkdtempSync(join(tmpdir(), 'relay-cli-canary-'));
    writeFileSync(
      join(cwd, 'relay.yaml'),
      `providers:\n  a: { type: openai, baseUrl: "${upstream.url}", apiKey: key-a-0123456789 }\n  b: { type: openai, baseUrl: "${upstream.url}", apiKey: key-b-0123456789 }\nmodels:\n  gpt-4.1:\n    targets: [{ provider: a }]\n    canary: { targets: [{ provider: b }] }\n`,
    );
    port = await freePort();
    relay = spawnRelay(['serve', '--drain-delay-ms', '0'], { cwd, env: { PORT: String(port), RELAY_MASTER_KEY: master } });
    await relay.waitForLog(/relay listening/);
  });
  afterAll(async () => {
    relay.child.kill('SIGTERM');
    await relay.exited;
    await upstream.stop();
  });

  const cli = (...args: string[]) => run(process.execPath, [relayBin, 'canary', ...args], { env: { PATH: process.env.PATH ?? '', RELAY_URL: `http://127.0.0.1:${port}`, RELAY_MASTER_KEY: master } });

  it('lists, pauses, resumes, promotes and rolls back a canary of a running relay', async () => {
    expect((await cli('list')).stdout).toMatch(/^gpt-4\.1: progressing at 5 % to the candidate, 0\/5 failed checks/);
    expect((await cli('pause', 'gpt-4.1')).stdout).toMatch(/gpt-4\.1: paused at 5 %/);
    expect((await cli('resume', 'gpt-4.1')).stdout).toMatch(/gpt-4\.1: progressing at 5 %/);
    expect((await cli('promote', 'gpt-4.1')).stdout).toMatch(/gpt-4\.1: promoted at 100 %/);
    const rolledBack = JSON.parse((await cli('--json', 'rollback', 'gpt-4.1')).stdout) as { phase: string; history: Array<{ action: string }> };
    expect(rolledBack.phase).toBe('rolled_back');
    // Analysis checks ('hold' without traffic) come at the wall clock's minute boundaries, maybe during the test.
    const manual = (history: Array<{ action: string }>) => history.map((check) => check.action).filter((action) => action !== 'hold');
    expect(manual(rolledBack.history)).toEqual(['pause', 'resume', 'promote', 'rollback']);
    const show = (await cli('show', 'gpt-4.1')).stdout;
    expect(show.split('\n').filter((line) => /^\s+\d{4}-/.test(line)).length).toBe(rolledBack.history.length);

    // The canary's state is in the data folder's database: a restart keeps it rolled back.
    relay.child.kill('SIGTERM');
    await relay.exited;
    relay = spawnRelay(['serve', '--drain-delay-ms', '0'], { cwd, env: { PORT: String(port), RELAY_MASTER_KEY: master } });
    await relay.waitForLog(/relay listening/);
    const restarted = JSON.parse((await cli('--json', 'show', 'gpt-4.1')).stdout) as { phase: string; weight: number; history: Array<{ action: string }> };
    expect(restarted).toMatchObject({ phase: 'rolled_back', weight: 0 });
    expect(manual(restarted.history)).toEqual(['pause', 'resume', 'promote', 'rollback']);
  });

  it('says clearly when the model has no canary or the key is wrong', async () => {
    await expect(cli('pause', 'claude-sonnet-4')).rejects.toMatchObject({ stderr: expect.stringMatching(/No canary is configured for the model "claude-sonnet-4"/) });
    await expect(
      run(process.execPath, [relayBin, 'canary', 'list'], { env: { PATH: process.env.PATH ?? '', RELAY_URL: `http://127.0.0.1:${port}`, RELAY_MASTER_KEY: 'sk-wrong-key-0123456789' } }),
    ).rejects.toMatchObject({ stderr: expect.stringMatching(/401/) });
  });
});
