import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { installed } from './support/services.js';
import { startPrivateRedis } from './support/private-redis.js';
import { freePort, spawnRelay, type SpawnedRelay } from './support/spawn-relay.js';

const master = 'sk-relay-redis-frozen-master-0123456789';
const redisServerMissing = installed('redis-server') ? undefined : 'redis-server is not installed';
if (redisServerMissing !== undefined && process.env.REQUIRE_SERVICES !== '1') process.stdout.write(`redis-frozen.e2e: skipped: ${redisServerMissing}\n`);

/**
 * A Redis of the test's own that is frozen (SIGSTOP: the connection stays open, nothing is answered,
 * as a hung server or a network that drops packets) and thawed (SIGCONT).
 */
describe.skipIf(redisServerMissing !== undefined && process.env.REQUIRE_SERVICES !== '1')('a relay whose Redis stops answering without closing its connection', () => {
  const upstream = new MockOpenAIUpstream();
  let redisServer: ChildProcess | undefined;
  let relay: SpawnedRelay | undefined;

  beforeAll(async () => {
    if (redisServerMissing !== undefined) throw new Error(`${redisServerMissing} (REQUIRE_SERVICES=1)`);
    await upstream.start();
    const redisPort = await freePort();
    redisServer = await startPrivateRedis(redisPort);

    const cwd = mkdtempSync(join(tmpdir(), 'relay-redis-frozen-'));
    writeFileSync(join(cwd, 'relay.yaml'), 'limits:\n  onBackendFailure: fail-open\n');
    const port = await freePort();
    relay = spawnRelay(['serve', '--drain-delay-ms', '0'], {
      cwd,
      env: { PORT: String(port), RELAY_MASTER_KEY: master, REDIS_URL: `redis://127.0.0.1:${redisPort}`, HOLYSHEEP_API_KEY: 'hs-key-0123456789', HOLYSHEEP_BASE_URL: upstream.url },
    });
    await relay.waitForLog(/relay listening/);
  });
  afterAll(async () => {
    if (relay !== undefined && relay.child.exitCode === null) relay.child.kill('SIGKILL');
    await relay?.exited;
    redisServer?.kill('SIGCONT');
    redisServer?.kill('SIGKILL');
    await upstream.stop();
  });

  it('keeps answering with limits in memory, and says Redis is reachable again only once it answers', async () => {
    const url = relay!.stdout().match(/"url":"(http:\/\/[^"]+)"/)![1];
    const created = await request(`${url}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${master}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'limited', rpm: 1000 }),
    });
    const { key } = (await created.body.json()) as { key: string };
    const ask = async (): Promise<number> => {
      const response = await request(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4.1', max_tokens: 5, messages: [{ role: 'user', content: 'Hello.' }] }),
      });
      await response.body.dump();
      return response.statusCode;
    };
    expect(await ask()).toBe(200);

    redisServer!.kill('SIGSTOP');
    try {
      // The relay's periodic check of its counters gets no answer.
      await relay!.waitForLog(/Redis is unreachable/);
      // Several probe intervals of a Redis that keeps the connection and answers nothing, under traffic.
      for (let sent = 0; sent < 8; sent++) {
        expect(await ask()).toBe(200);
        await new Promise((resolve) => setTimeout(resolve, 400));
      }
      expect(relay!.stdout()).not.toMatch(/Redis is reachable again/);
    } finally {
      redisServer!.kill('SIGCONT');
    }
    await relay!.waitForLog(/Redis is reachable again: limits are shared again/);
    expect(await ask()).toBe(200);
    // Said once each: the log does not flap.
    expect(relay!.stdout().match(/Redis is unreachable/g)).toHaveLength(1);
    expect(relay!.stdout().match(/Redis is reachable again/g)).toHaveLength(1);
    relay!.child.kill('SIGTERM');
    expect(await relay!.exited).toBe(0);
    expect(relay!.stderr()).toBe('');
  });
});
