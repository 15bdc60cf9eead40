import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, spawnRelay, type SpawnedRelay } from './support/spawn-relay.js';

const master = 'sk-relay-endless-event-master-0123456789';

/** The resident memory of a process, in MB. */
const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** The most of one unfinished upstream event a relay may hold: far above any real chat chunk, far below a process's memory. */
const mostHeldBytes = 16 * 1024 * 1024;

/** What the upstream wrote before the relay let go of it. */
interface Written {
  bytes: number;
  /** The relay closed the connection (it gave the stream up). */
  closedByRelay: boolean;
}

/**
 * An OpenAI-compatible upstream whose chat stream sends one proper chunk and then an event that never
 * ends: a `data:` line without a line end, written as fast as the relay takes it, up to `limit` bytes
 * (then it holds the connection open, sending nothing), as a broken upstream or proxy might.
 */
function endlessEventUpstream(limit: number): { server: Server; written: Written; done: Promise<void> } {
  const written: Written = { bytes: 0, closedByRelay: false };
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  const server = createServer((incoming, response) => {
    incoming.resume();
    incoming.on('end', async () => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(`data: ${JSON.stringify({ id: 'chatcmpl-endless', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [{ index: 0, delta: { role: 'assistant', content: 'Hello' }, finish_reason: null }] })}\n\n`);
      response.write('data: {"id":"chatcmpl-endless","object":"chat.completion.chunk","created":1,"model":"gpt-4.1","choices":[{"index":0,"delta":{"content":"');
      response.on('close', () => {
        if (written.bytes < limit) written.closedByRelay = true;
        finish();
      });
      const piece = Buffer.alloc(64 * 1024, 'a');
      while (!response.destroyed && written.bytes < limit) {
        written.bytes += piece.length;
        if (!response.write(piece)) await new Promise((resolve) => response.once('drain', resolve).once('close', resolve));
      }
      finish();
    });
  });
  return { server, written, done };
}

describe('an upstream stream event that never ends', () => {
  let relay: SpawnedRelay | undefined;
  let upstream: Server | undefined;
  afterEach(async () => {
    relay?.child.kill('SIGKILL');
    upstream?.closeAllConnections();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  it('is given up once the relay holds a bounded part of it, with an OpenAI-shaped error event, instead of being held whole in memory', async () => {
    const limit = 40 * 1024 * 1024;
    const mock = endlessEventUpstream(limit);
    upstream = mock.server;
    await new Promise<void>((resolve) => mock.server.listen(0, '127.0.0.1', resolve));
    const cwd = mkdtempSync(join(tmpdir(), 'relay-endless-event-'));
    const port = await freePort();
    relay = spawnRelay(['serve'], {
      cwd,
      env: { PORT: String(port), HOST: '127.0.0.1', RELAY_MASTER_KEY: master, HOLYSHEEP_API_KEY: 'hs-key-0123456789', HOLYSHEEP_BASE_URL: `http://127.0.0.1:${(mock.server.address() as AddressInfo).port}/v1`, TIMEOUT_MS: '60000' },
    });
    await relay.waitForLog(/relay listening/);
    const pid = relay.child.pid!;
    const before = rssMb(pid);

    const response = await request(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${master}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.statusCode).toBe(200);
    let body = '';
    response.body.setEncoding('utf8').on('data', (text: string) => (body += text));
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 50);
    await mock.done;
    clearInterval(sampler);
    peak = Math.max(peak, rssMb(pid));

    // The relay stopped reading the event well before the upstream had written all of it.
    expect({ closedByRelay: mock.written.closedByRelay, writtenMb: Math.round(mock.written.bytes / 1048576) }).toMatchObject({ closedByRelay: true });
    expect(mock.written.bytes).toBeLessThan(2 * mostHeldBytes);
    // What the relay held for it stayed bounded.
    expect(peak - before).toBeLessThan((4 * mostHeldBytes) / 1048576);
    // The client got the chunk before it, then one OpenAI-shaped error event, and no [DONE].
    await expect.poll(() => body).toMatch(/data: \{"error":\{"message":"[^"]+","type":"server_error","param":null,"code":"upstream_error"\}\}\n\n$/);
    expect(body).toContain('"content":"Hello"');
    expect(body).not.toContain('[DONE]');
  }, 120_000);
});
