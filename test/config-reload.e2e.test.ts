import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { freePort, spawnRelay } from './support/spawn-relay.js';

const master = 'sk-relay-reload-test-master-0123456789';

describe('config reload of a running relay process', () => {
  const upstreamA = new MockOpenAIUpstream();
  const upstreamB = new MockOpenAIUpstream();
  beforeAll(async () => {
    await upstreamA.start();
    await upstreamB.start();
  });
  afterAll(async () => {
    await upstreamA.stop();
    await upstreamB.stop();
  });

  const configFor = (provider: 'a' | 'b', extra = '') =>
    `providers:\n  a: { type: openai, baseUrl: "${upstreamA.url}", apiKey: key-a-0123456789 }\n  b: { type: openai, baseUrl: "${upstreamB.url}", apiKey: key-b-0123456789 }\nmodels:\n  gpt-4.1: { targets: [{ provider: ${provider} }] }\n${extra}`;


  /** A relay process started on `config` in a folder of its own, and which provider served gpt-4.1 there. */
  async function startOn(config: string) {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-reload-'));
    writeFileSync(join(cwd, 'relay.yaml'), config);
    const port = await freePort();
    const relay = spawnRelay(['serve', '--drain-delay-ms', '0'], { cwd, env: { PORT: String(port), RELAY_MASTER_KEY: master } });
    await relay.waitForLog(/relay listening/).catch((error: unknown) => {
      relay.child.kill('SIGTERM');
      throw error;
    });
    const client = new OpenAI({ apiKey: master, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
    const served = async () => (await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] }).withResponse()).response.headers.get('x-relay-provider');
    return { cwd, relay, served };
  }

  it('applies a changed file and SIGHUP, and refuses a bad file while keeping the running config', async () => {
    const { cwd, relay, served } = await startOn(configFor('a'));
    try {
      expect(await served()).toBe('a');

      writeFileSync(join(cwd, 'relay.yaml'), configFor('b'));
      await relay.waitForLog(/"trigger":"file change".*configuration reloaded/);
      expect(await served()).toBe('b');

      writeFileSync(join(cwd, 'relay.yaml'), configFor('a', 'models_typo: {}\n'));
      await relay.waitForLog(/configuration reload refused/);
      expect(relay.stdout()).toMatch(/models_typo/);
      expect(await served()).toBe('b');

      writeFileSync(join(cwd, 'relay.yaml'), configFor('a'));
      relay.child.kill('SIGHUP');
      await relay.waitForLog(/"trigger":"SIGHUP".*configuration reloaded/);
      expect(await served()).toBe('a');
    } finally {
      relay.child.kill('SIGTERM');
      await relay.exited;
    }
  });
  it('applies what it can on reload, and names the changed settings that apply only at a restart', async () => {
    const prices = (output: number) => `billing:\n  prices:\n    gpt-4.1: { input: 1, output: ${output} }\n`;
    const { cwd, relay, served } = await startOn(configFor('a', prices(2)));
    try {

      // The environment's PORT wins over server.port: that change would change nothing.
      expect(await served()).toBe('a');
      writeFileSync(join(cwd, 'relay.yaml'), configFor('b', `${prices(9)}server:\n  port: 1\n  bodyLimitBytes: 4096\nlimits:\n  replicas: 3\n`));
      relay.child.kill('SIGHUP');
      await relay.waitForLog(/configuration reloaded/);
      const line = relay.stdout().split('\n').find((entry) => entry.includes('configuration reloaded')) ?? '';
      expect(JSON.parse(line)).toMatchObject({
        level: 'warn',
        needsRestart: ['server.bodyLimitBytes', 'billing.prices', 'limits.replicas'],
        msg: expect.stringMatching(/restart the relay to apply server\.bodyLimitBytes, billing\.prices, limits\.replicas/),
      });
      expect(await served()).toBe('b');

      // Back to what runs: nothing is pending any more.
      writeFileSync(join(cwd, 'relay.yaml'), configFor('a', prices(2)));
      relay.child.kill('SIGHUP');
      await relay.waitForLog(/"level":"info".*"trigger":"SIGHUP".*configuration reloaded/);
      expect(await served()).toBe('a');
    } finally {
      relay.child.kill('SIGTERM');
      await relay.exited;
    }
  });
});
