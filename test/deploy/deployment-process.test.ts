/**
 * The relay process, run the way the image and the Deployment run it: `node bin/relay.js serve`
 * with the Deployment's env, probed as the kubelet would, then stopped with SIGTERM to check the
 * drain the manifests' timing relies on (/ready turns 503 at once, the port stays open for the
 * drain delay, the exit is clean and inside terminationGracePeriodSeconds). /metrics is scraped as
 * Prometheus would, on the metrics port, and must 404 on the API port the Ingress exposes. Needs
 * the dist/ build.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { kubernetesManifests } from './support/kubernetes-manifests.js';
import { at, envOf, only, podSpecOf, relayContainerOf, resolvePort } from './support/manifest-accessors.js';
import { repository } from './support/repository.js';

const { root } = repository;
const { all: allObjects } = kubernetesManifests;

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The HTTP status and body, or status 0 when nothing answers (refused, reset or timed out). */
async function fetchOf(url: string): Promise<{ status: number; body: string }> {
  try {
    const response = await request(url, { headersTimeout: 1000, bodyTimeout: 1000 });
    return { status: response.statusCode, body: await response.body.text() };
  } catch {
    return { status: 0, body: '' };
  }
}

const statusOf = async (url: string): Promise<number> => (await fetchOf(url)).status;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe.skipIf(!existsSync(join(root, 'dist/bundle/main.js')))('the relay with the Deployment’s settings (dist/ build)', () => {
  it('passes its probes, serves /metrics on the metrics port only, then on SIGTERM turns /ready 503 at once, keeps listening for the drain delay and exits 0', async () => {
    const deployment = only(allObjects, 'Deployment');
    const container = relayContainerOf(deployment);
    const settings = envOf(container);
    const drainMs = Number(settings.get('SHUTDOWN_DRAIN_DELAY_MS'));
    const directory = mkdtempSync(join(tmpdir(), 'relay-pod-'));
    const configFile = join(directory, 'relay.yaml');
    writeFileSync(configFile, at(only(allObjects, 'ConfigMap'), 'data', 'relay.yaml') as string);
    // The pod's ports: PORT (8080, "http", behind the Ingress) and METRICS_PORT (9090, "metrics").
    expect(Number(settings.get('METRICS_PORT'))).toBe(resolvePort(container, 'metrics'));
    expect(Number(settings.get('PORT'))).toBe(resolvePort(container, 'http'));
    const port = await freePort();
    let metricsPort = await freePort();
    while (metricsPort === port) metricsPort = await freePort();
    const environment: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      ...Object.fromEntries(settings),
      // Where this machine differs from the pod: free local ports, a local file, no real upstream.
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      HOST: '127.0.0.1',
      RELAY_CONFIG: configFile,
      RELAY_DATA_DIR: join(directory, 'data'),
      HOLYSHEEP_API_KEY: 'sk-test-holysheep',
      HOLYSHEEP_BASE_URL: 'http://127.0.0.1:9/v1',
      RELAY_MASTER_KEY: 'sk-relay-test-master-key-0123456789',
    };
    const [command, ...args] = [process.execPath, 'bin/relay.js', 'serve'];
    const child: ChildProcess = spawn(command!, args, { cwd: root, env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    const base = `http://127.0.0.1:${port}`;
    try {
      let ready = 0;
      for (let attempt = 0; attempt < 100 && ready !== 200 && child.exitCode === null; attempt++) {
        await sleep(100);
        ready = await statusOf(`${base}/ready`);
      }
      expect(ready, output).toBe(200);
      expect(await statusOf(`${base}/health`)).toBe(200);

      // /metrics answers on the metrics port (the pod's 9090), and is not there on the API port
      // (the pod's 8080), the only one the Ingress routes to.
      const scraped = await fetchOf(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(scraped.status, output).toBe(200);
      expect(scraped.body).toMatch(/^# HELP /m);
      expect(scraped.body).toContain('relay_inflight_requests');
      expect(await statusOf(`${base}/metrics`)).toBe(404);
      // And the metrics port serves nothing but /metrics.
      const elsewhere = await fetchOf(`http://127.0.0.1:${metricsPort}/v1/models`);
      expect(elsewhere.status).toBe(404);
      expect(JSON.parse(elsewhere.body)).toMatchObject({ error: { code: 'unknown_url', message: expect.stringContaining('serves only GET /metrics') } });

      const stoppedAt = Date.now();
      child.kill('SIGTERM');
      await sleep(300);
      expect(await statusOf(`${base}/ready`)).toBe(503);
      // Still listening during the drain delay, so requests routed before the endpoint update land.
      expect(await statusOf(`${base}/health`)).toBe(200);
      const code = await exited;
      const stoppedAfter = Date.now() - stoppedAt;
      expect(code, output).toBe(0);
      expect(stoppedAfter).toBeGreaterThanOrEqual(drainMs - 100);
      expect(stoppedAfter).toBeLessThan(podSpecOf(deployment).terminationGracePeriodSeconds * 1000);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
