import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './load-config.js';
import { settingsNeedingRestart } from './start-only-settings.js';

function configFrom(yaml: string, environment: Record<string, string> = {}) {
  const directory = mkdtempSync(join(tmpdir(), 'relay-start-only-'));
  writeFileSync(join(directory, 'relay.yaml'), yaml);
  return loadConfig({ environment, cwd: directory });
}

describe('settingsNeedingRestart', () => {
  it('names database.queryTimeoutMs, read when the store opens', () => {
    expect(settingsNeedingRestart(configFrom('database:\n  queryTimeoutMs: 5000\n'), configFrom('database:\n  queryTimeoutMs: 250\n'))).toEqual(['database.queryTimeoutMs']);
  });

  it('names upstream.timeoutMs only where it changes the connect timeout the pools were made with (at most 10 s)', () => {
    const timeout = (milliseconds: number) => `upstream:\n  timeoutMs: ${milliseconds}\n`;
    expect(settingsNeedingRestart(configFrom(timeout(30_000)), configFrom(timeout(120_000)))).toEqual([]);
    expect(settingsNeedingRestart(configFrom(timeout(30_000)), configFrom(timeout(5_000)))).toEqual(['upstream.timeoutMs (as the connect timeout)']);
    // TIMEOUT_MS wins over the file: its change changes nothing.
    expect(settingsNeedingRestart(configFrom(timeout(30_000), { TIMEOUT_MS: '2000' }), configFrom(timeout(5_000), { TIMEOUT_MS: '2000' }))).toEqual([]);
  });

  it('names nothing for what a reload applies', () => {
    const running = configFrom('upstream:\n  maxRetries: 3\n  deadlineMs: 60000\nserver:\n  strictParameters: false\n  keepResponseItems: true\n');
    const next = configFrom('upstream:\n  maxRetries: 1\n  deadlineMs: 20000\nserver:\n  strictParameters: true\n  keepResponseItems: false\naliases:\n  fast: gpt-4.1-mini\n');
    expect(settingsNeedingRestart(running, next)).toEqual([]);
  });
});
