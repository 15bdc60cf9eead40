// Processes of a benchmark run, shared by bench/run.mjs and bench/cpu.mjs: node scripts pinned to a
// core when `taskset` exists, the port a script prints, and the relay started as in production with
// a production-like key.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

export const benchDirectory = dirname(fileURLToPath(import.meta.url));
export const root = join(benchDirectory, '..');
export const masterKey = 'sk-relay-bench-master-0123456789abcdef';

export function has(command) {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const pinned = has('taskset');

const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** CPU time (user + system) a process has used so far, in microseconds, from /proc. */
export function cpuMicroseconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / ticks) * 1e6;
}
const children = [];

/** Starts `node <args>` (on `core` when pinning is possible); `quiet` sends its stdout to /dev/null. */
export function startNode(core, args, env = {}, options = {}) {
  const command = pinned ? 'taskset' : process.execPath;
  const argv = pinned ? ['-c', String(core), process.execPath, ...args] : args;
  return track(spawn(command, argv, { env: { ...process.env, ...env }, stdio: ['ignore', options.quiet ? 'ignore' : 'pipe', 'inherit'], cwd: options.cwd ?? root }));
}

/**
 * Kills the process with the others when the run ends: with SIGKILL, or `signal` for a process
 * that must stop its own children (nginx's master leaves its workers running when killed).
 */
export function track(child, signal = 'SIGKILL') {
  children.push({ child, signal });
  return child;
}

/** Kills every process started here (or tracked) that is still running. */
export function killAll() {
  for (const { child, signal } of children) if (child.exitCode === null) child.kill(signal);
}

/** The port a bench script announces on its first line (`{"port":…}`). */
export function portFrom(child) {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk) => {
      text += chunk;
      const line = text.split('\n').find((candidate) => candidate.startsWith('{"port"'));
      if (line) resolve(JSON.parse(line).port);
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code}`)));
  });
}

export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function waitReady(url, timeoutMs = 15_000) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      const response = await request(`${url}/ready`);
      await response.body.dump();
      if (response.statusCode === 200) return;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`${url} never became ready`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * The relay (of `checkout`, default this one) on core 0 as in production, in a fresh data folder,
 * with a production-like key: authenticated, rate limited, budgeted, metered into the ledger.
 */
export async function startRelay(upstreamUrl, { checkout = root, extraEnv = {}, nodeArgs = [] } = {}) {
  const port = await freePort();
  const cwd = mkdtempSync(join(tmpdir(), 'relay-bench-'));
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  // `BENCH_RELAY_NODE_ARGS` (e.g. "--max-semi-space-size=8"): engine flags for the relay alone, to weigh them against the bare relay.
  const engineFlags = (process.env.BENCH_RELAY_NODE_ARGS ?? '').split(' ').filter((flag) => flag !== '');
  const child = startNode(0, [...engineFlags, ...nodeArgs, join(checkout, 'bin/relay.js'), 'serve', '--drain-delay-ms', '0'], {
    PORT: String(port),
    HOST: '127.0.0.1',
    RELAY_MASTER_KEY: masterKey,
    HOLYSHEEP_API_KEY: 'bench-upstream-key',
    HOLYSHEEP_BASE_URL: upstreamUrl,
    LOG_LEVEL: 'info',
    RELAY_DATA_DIR: join(cwd, 'data'),
    ...extraEnv,
  }, { quiet: true, cwd });
  await waitReady(url);
  const readyMs = performance.now() - started;
  const created = await request(`${url}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', rpm: 100_000_000, tpm: 1_000_000_000, max_parallel: 100_000, budget: { amount: 1_000_000, currency: 'USD', period: 'monthly' } }),
  });
  const { key } = await created.body.json();
  return { url, key, child, readyMs, stop: () => new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM'); }) };
}
