import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { installed } from './support/services.js';

const run = promisify(execFile);

describe('npm run bench (smoke)', () => {
  // Keeps the benchmark working; it asserts what it reports, never how fast anything was.
  it('runs every case end to end and writes the table and the JSON', { timeout: 180_000 }, async () => {
    const { stdout } = await run(process.execPath, ['bench/run.mjs', '--smoke'], { cwd: new URL('..', import.meta.url).pathname, maxBuffer: 1 << 22 });
    expect(stdout).toMatch(/SMOKE RUN \(not a measurement\)/);
    expect(stdout).toMatch(/\| case \| bare Node relay \| relay \| relay vs bare \| target \| met \|/);
    const results = JSON.parse(readFileSync(new URL('../bench/results/smoke.json', import.meta.url), 'utf8')) as { cases: Record<string, Record<string, unknown>> };
    expect(Object.keys(results.cases)).toEqual(expect.arrayContaining(['throughput50', 'latency1', 'latency50', 'streams', 'memory', 'startup']));
    expect(results.cases.throughput50?.relayNon2xx).toBe(0);
    // Every stream completes (correctness); stalls are a speed figure, reported, not asserted here.
    expect(results.cases.streams?.relayCompleted).toBe(results.cases.streams?.count);
    expect(results.cases.throughput50?.relay).toEqual(expect.any(Number));
    // The load comes from wrk when it is installed (CI installs it), else from autocannon; nginx is
    // measured beside the relays when it is installed (CI installs it too).
    expect(results.cases.throughput50?.tool).toBe(installed('wrk') ? 'wrk' : 'autocannon');
    expect(results.cases.throughput50?.nginx).toEqual(installed('nginx') ? expect.any(Number) : undefined);
  });
});
