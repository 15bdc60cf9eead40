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

describe('relay serve with a relay.yaml that does not parse', () => {
  it('names the line and column on stderr without quoting the keys written around it', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-config-secrets-'));
    /** A header's value is a credential whatever the header is called. */
    const headerValue = 'gateway-literal-credential-9876543210';
    // The line after the header is indented one space short: YAML cannot read the file.
    writeFileSync(
      join(cwd, 'relay.yaml'),
      `providers:\n  a:\n    type: openai\n    apiKey: ${upstreamKey}\n    headers:\n      x-gateway-auth: ${headerValue}\n   baseUrl: "http://127.0.0.1:9/v1"\n`,
    );
    const relay = spawnRelay(['serve'], { cwd, env: { PORT: String(await freePort()), RELAY_MASTER_KEY: master } });
    expect(await relay.exited).toBe(2);
    expect(relay.stderr()).toContain(`${join(cwd, 'relay.yaml')}: line 7, column 1:`);
    const output = relay.stdout() + relay.stderr();
    expect(output).not.toContain(upstreamKey);
    expect(output).not.toContain(headerValue);
  }, 30_000);
});
