// Drives one target for a duration (or a number of requests) and prints its result as one JSON line.
// wrk when it is installed (one thread, written in C: it leaves more of the load's core to the
// upstream), else autocannon; a number of requests (the memory case) always goes through
// autocannon, which can stop at an exact count. `BENCH_LOAD=autocannon` forces autocannon.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { has } from './processes.mjs';

const [url, connections, seconds, key, amount] = process.argv.slice(2);
const body = JSON.stringify({ model: 'gpt-4.1', max_tokens: 64, messages: [{ role: 'user', content: 'Say hello to the benchmark.' }] });
const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };

/** wrk with a Lua script that sends the request and prints the summary as JSON (latencies in µs). */
function withWrk() {
  const folder = mkdtempSync(join(tmpdir(), 'relay-bench-wrk-'));
  const script = join(folder, 'post.lua');
  const lua = (text) => `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  writeFileSync(
    script,
    [
      'wrk.method = "POST"',
      `wrk.body = ${lua(body)}`,
      ...Object.entries(headers).map(([name, value]) => `wrk.headers[${lua(name)}] = ${lua(value)}`),
      'done = function(summary, latency, requests)',
      '  local e = summary.errors',
      '  io.write(string.format(\'{"total":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"errors":%d,"non2xx":%d}\\n\',',
      '    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),',
      '    e.connect + e.read + e.write + e.timeout, e.status))',
      'end',
    ].join('\n'),
  );
  try {
    const output = execFileSync('wrk', ['-t', '1', '-c', connections, '-d', `${seconds}s`, '--timeout', '10s', '-s', script, url], { encoding: 'utf8' });
    const result = JSON.parse(output.trim().split('\n').at(-1));
    return {
      tool: 'wrk',
      requestsPerSecond: result.total / (result.durationUs / 1e6),
      total: result.total,
      latencyP50Ms: result.p50Us / 1000,
      latencyP99Ms: result.p99Us / 1000,
      errors: result.errors,
      non2xx: result.non2xx,
    };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

async function withAutocannon() {
  const result = await autocannon({
    url,
    connections: Number(connections),
    ...(amount ? { amount: Number(amount) } : { duration: Number(seconds) }),
    method: 'POST',
    headers,
    body,
  });
  return {
    tool: 'autocannon',
    requestsPerSecond: result.requests.average,
    total: result.requests.total,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

const useWrk = !amount && process.env.BENCH_LOAD !== 'autocannon' && has('wrk');
process.stdout.write(`${JSON.stringify(useWrk ? withWrk() : await withAutocannon())}\n`);
