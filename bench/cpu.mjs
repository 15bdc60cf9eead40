// CPU time the relay spends per request (user + system, from /proc), against the bare relay:
// steadier than requests per second on a shared machine. `node bench/cpu.mjs [requests] [--rounds N] [--connections N] [--compare <checkout>] [--prof]`.
// With --prof the relay runs under --cpu-prof and the profile lands in bench/results/profiles/.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { benchDirectory as here, cpuMicroseconds, killAll, portFrom, root, startNode, startRelay } from './processes.mjs';

const count = Number(process.argv[2] !== undefined && /^\d+$/.test(process.argv[2]) ? process.argv[2] : 10_000);
const profile = process.argv.includes('--prof');
// `--compare <checkout>`: also measures the relay built in another checkout (an A/B of two builds in one run).
const compare = process.argv.includes('--compare') ? process.argv[process.argv.indexOf('--compare') + 1] : undefined;
const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 3;
// `--connections N`: the load's concurrency (20 by default; the benchmark's throughput case uses 50).
const connections = process.argv.includes('--connections') ? process.argv[process.argv.indexOf('--connections') + 1] : '20';
const load = (url, key, amount) =>
  JSON.parse(execFileSync('taskset', ['-c', '1', process.execPath, join(here, 'load-throughput.mjs'), url, connections, '0', key, String(amount)], { encoding: 'utf8' }).trim().split('\n').at(-1));

function measure(pid, url, key) {
  const before = cpuMicroseconds(pid);
  const result = load(url, key, count);
  if (result.non2xx + result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return (cpuMicroseconds(pid) - before) / count;
}

try {
  const upstream = startNode(1, [join(here, 'mock-upstream.mjs')]);
  const upstreamPort = await portFrom(upstream);
  const bare = startNode(0, [join(here, 'bare-relay.mjs')], { UPSTREAM_ORIGIN: `http://127.0.0.1:${upstreamPort}` });
  const barePort = await portFrom(bare);
  const profileDir = join(here, 'results', 'profiles');
  if (profile) mkdirSync(profileDir, { recursive: true });
  const measured = async (checkout) => {
    const relay = await startRelay(`http://127.0.0.1:${upstreamPort}/v1`, {
      checkout,
      extraEnv: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
      nodeArgs: profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
    });
    return { ...relay, url: `${relay.url}/v1/chat/completions` };
  };
  const relay = await measured(root);
  const other = compare === undefined ? undefined : await measured(compare);
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
  if (targets.length === 3) {
    const ratios = targets[1].samples.map((sample, index) => sample / targets[2].samples[index]).sort((left, right) => left - right);
    process.stdout.write(`relay ÷ relay in ${compare} per round: median ${ratios[Math.floor((ratios.length - 1) / 2)].toFixed(3)} (${ratios.map((ratio) => ratio.toFixed(2)).join(' ')})\n`);
  }
  for (const target of targets) {
    const sorted = [...target.samples].sort((left, right) => left - right);
    process.stdout.write(`${target.name}: ${sorted[Math.floor((sorted.length - 1) / 2)].toFixed(0)} µs CPU per request (median of ${rounds}; min ${sorted[0].toFixed(0)}, max ${sorted.at(-1).toFixed(0)})\n`);
  }
  if (profile) {
    await relay.stop();
    process.stdout.write(`profile written to ${profileDir}\n`);
  }
} finally {
  killAll();
}
