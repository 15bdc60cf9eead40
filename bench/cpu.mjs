// CPU time the relay spends per request (user + system, from /proc), against the bare relay:
// steadier than requests per second on a shared machine. `node bench/cpu.mjs [requests] [--rounds N] [--prof]`.
// With --prof the relay runs under --cpu-prof and the profile lands in bench/results/profiles/.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const count = Number(process.argv[2] !== undefined && /^\d+$/.test(process.argv[2]) ? process.argv[2] : 10_000);
const profile = process.argv.includes('--prof');
// `--compare <checkout>`: also measures the relay built in another checkout (an A/B of two builds in one run).
const compare = process.argv.includes('--compare') ? process.argv[process.argv.indexOf('--compare') + 1] : undefined;
const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 3;
const masterKey = 'sk-relay-bench-master-0123456789abcdef';
const children = [];
const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

function start(core, args, env = {}, quiet = false) {
  const child = spawn('taskset', ['-c', String(core), process.execPath, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', quiet ? 'ignore' : 'pipe', 'inherit'], cwd: env.CWD ?? root });
  children.push(child);
  return child;
}
const portFrom = (child) =>
  new Promise((resolve) => {
    let text = '';
    child.stdout.on('data', (chunk) => {
      text += chunk;
      const line = text.split('\n').find((candidate) => candidate.startsWith('{"port"'));
      if (line) resolve(JSON.parse(line).port);
    });
  });
async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}
const cpuUs = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / ticks) * 1e6;
};
const load = (url, key, amount) =>
  JSON.parse(execFileSync('taskset', ['-c', '1', process.execPath, join(here, 'load-throughput.mjs'), url, '20', '0', key, String(amount)], { encoding: 'utf8' }).trim().split('\n').at(-1));

function measure(pid, url, key) {
  const before = cpuUs(pid);
  const result = load(url, key, count);
  if (result.non2xx + result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return (cpuUs(pid) - before) / count;
}

try {
  const upstream = start(1, [join(here, 'mock-upstream.mjs')]);
  const upstreamPort = await portFrom(upstream);
  const bare = start(0, [join(here, 'bare-relay.mjs')], { UPSTREAM_ORIGIN: `http://127.0.0.1:${upstreamPort}` });
  const barePort = await portFrom(bare);
  const profileDir = join(here, 'results', 'profiles');
  if (profile) mkdirSync(profileDir, { recursive: true });
  const startRelay = async (checkout) => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-cpu-'));
    const relayPort = await freePort();
    const relay = start(0, [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), join(checkout, 'bin/relay.js'), 'serve', '--drain-delay-ms', '0'], {
      CWD: cwd, PORT: String(relayPort), HOST: '127.0.0.1', RELAY_MASTER_KEY: masterKey, HOLYSHEEP_API_KEY: 'bench-upstream-key',
      HOLYSHEEP_BASE_URL: `http://127.0.0.1:${upstreamPort}/v1`, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info', RELAY_DATA_DIR: join(cwd, 'data'),
    }, true);
    const url = `http://127.0.0.1:${relayPort}`;
    for (;;) {
      try {
        const response = await request(`${url}/ready`);
        await response.body.dump();
        if (response.statusCode === 200) break;
      } catch {}
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const created = await request(`${url}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench', rpm: 100_000_000, tpm: 1_000_000_000, max_parallel: 100_000, budget: { amount: 1_000_000, currency: 'USD', period: 'monthly' } }),
    });
    const { key } = await created.body.json();
    return { child: relay, url: `${url}/v1/chat/completions`, key };
  };
  const relay = await startRelay(root);
  const other = compare === undefined ? undefined : await startRelay(compare);
  const targets = [
    { name: 'bare relay', pid: bare.pid, url: `http://127.0.0.1:${barePort}/v1/chat/completions`, key: 'unused', samples: [] },
    { name: 'relay', pid: relay.child.pid, url: relay.url, key: relay.key, samples: [] },
    ...(other === undefined ? [] : [{ name: `relay in ${compare}`, pid: other.child.pid, url: other.url, key: other.key, samples: [] }]),
  ];
  for (const target of targets) load(target.url, target.key, 3000);
  // Interleaved rounds, so that a slow moment of the machine hits both.
  for (let round = 0; round < rounds; round++) for (const target of targets) target.samples.push(measure(target.pid, target.url, target.key));
  for (const target of targets.slice(1)) {
    const ratios = target.samples.map((sample, index) => sample / targets[0].samples[index]).sort((left, right) => left - right);
    process.stdout.write(`${target.name} ÷ bare relay per round: median ${ratios[Math.floor((ratios.length - 1) / 2)].toFixed(2)} (${ratios.map((ratio) => ratio.toFixed(2)).join(' ')})\n`);
  }
  for (const target of targets) {
    const sorted = [...target.samples].sort((left, right) => left - right);
    process.stdout.write(`${target.name}: ${sorted[Math.floor((sorted.length - 1) / 2)].toFixed(0)} µs CPU per request (median of ${rounds}; min ${sorted[0].toFixed(0)}, max ${sorted.at(-1).toFixed(0)})\n`);
  }
  if (profile) {
    relay.child.kill('SIGTERM');
    await new Promise((resolve) => relay.child.once('exit', resolve));
    process.stdout.write(`profile written to ${profileDir}\n`);
  }
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
}
