import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { freePort, spawnRelay } from './support/spawn-relay.js';

const master = 'sk-relay-log-secrets-master-0123456789';
/** An upstream key written in relay.yaml itself, as `providers.<name>.apiKey` allows. */
const upstreamKey = 'sk-upstream-literal-key-abcdef0123456789';

describe('the log of a running relay whose edited relay.yaml does not parse', () => {
  const upstream = new MockOpenAIUpstream();
  beforeAll(async () => {
    await upstream.start();
  });
  afterAll(async () => {
    await upstream.stop();
  });

  it('names the problem without quoting the upstream key written next to the broken line', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-log-secrets-'));
    const config = (indent: string) => `providers:\n  a:\n    type: openai\n    apiKey: ${upstreamKey}\n${indent}baseUrl: "${upstream.url}"\nmodels:\n  gpt-4.1: { targets: [{ provider: a }] }\n`;
    writeFileSync(join(cwd, 'relay.yaml'), config('    '));
    const port = await freePort();
    const relay = spawnRelay(['serve', '--drain-delay-ms', '0'], { cwd, env: { PORT: String(port), RELAY_MASTER_KEY: master } });
    try {
      await relay.waitForLog(/relay listening/);
      // An edit that indents the line after the key one space short: YAML cannot read the file.
      writeFileSync(join(cwd, 'relay.yaml'), config('   '));
      relay.child.kill('SIGHUP');
      await relay.waitForLog(/configuration reload refused/);
      const refused = relay.stdout().split('\n').find((line) => line.includes('configuration reload refused')) ?? '';
      expect(JSON.parse(refused)).toMatchObject({ level: 'error', problems: [expect.stringMatching(/relay\.yaml/)] });
      expect(relay.stdout()).not.toContain(upstreamKey);
    } finally {
      relay.child.kill('SIGTERM');
      await relay.exited;
    }
  }, 30_000);
});
