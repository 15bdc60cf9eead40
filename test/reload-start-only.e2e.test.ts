import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, spawnRelay } from './support/spawn-relay.js';

/**
 * README, "Command line": "relay.yaml is reloaded on SIGHUP and on change (port, host, body limit,
 * CORS, trusted proxies, pool size, billing, limits and ledger settings need a restart, which the
 * reload's log line names)". database.queryTimeoutMs is read once, when the store is opened: a
 * reload that changes it must say it waits for a restart, not report the file as applied.
 */
describe('a reload that changes database.queryTimeoutMs', () => {
  it('names it among the settings that need a restart', async () => {
    const master = 'sk-relay-reload-db-timeout-0123456789';
    const cwd = mkdtempSync(join(tmpdir(), 'relay-reload-db-'));
    writeFileSync(join(cwd, 'relay.yaml'), 'database:\n  queryTimeoutMs: 5000\n');
    const port = await freePort();
    const relay = spawnRelay(['serve', '--drain-delay-ms', '0'], { cwd, env: { PORT: String(port), RELAY_MASTER_KEY: master } });
    try {
      await relay.waitForLog(/relay listening/);
      writeFileSync(join(cwd, 'relay.yaml'), 'database:\n  queryTimeoutMs: 250\n');
      relay.child.kill('SIGHUP');
      await relay.waitForLog(/"trigger":"SIGHUP".*configuration reloaded/);
      const line = relay.stdout().split('\n').find((entry) => entry.includes('"trigger":"SIGHUP"') && entry.includes('configuration reloaded')) ?? '{}';
      expect(JSON.parse(line)).toMatchObject({ level: 'warn', needsRestart: expect.arrayContaining(['database.queryTimeoutMs']) });
    } finally {
      relay.child.kill('SIGTERM');
      await relay.exited;
    }
  });
});
