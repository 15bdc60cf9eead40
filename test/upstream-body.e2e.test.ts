import { createHash } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releasedBodyCharacters } from '../src/providers/post-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

/** What the upstream saw of each request: its length headers, and its body's size and digest (the body itself is not kept). */
interface Received {
  contentLength: string | undefined;
  transferEncoding: string | undefined;
  bytes: number;
  sha256: string;
  content: number;
}

const chunk = (content: string | null, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-b', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }] })}\n\n`;
const usage = `data: ${JSON.stringify({ id: 'chatcmpl-b', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } })}\n\n`;

describe('request bodies sent upstream', () => {
  let upstream: Server;
  let relay: StartedRelay;
  const received: Received[] = [];
  // Streams the upstream holds open after their first chunk, until the test lets them end.
  const held: ServerResponse[] = [];
  const release = () => {
    for (const response of held.splice(0)) response.end(chunk(null, 'stop') + usage + 'data: [DONE]\n\n');
  };

  beforeAll(async () => {
    upstream = createServer((incoming, response) => {
      const hash = createHash('sha256');
      let bytes = 0;
      const pieces: Buffer[] = [];
      incoming.on('data', (piece: Buffer) => {
        hash.update(piece);
        bytes += piece.length;
        pieces.push(piece);
      });
      incoming.on('end', () => {
        const body = JSON.parse(Buffer.concat(pieces).toString('utf8')) as { stream?: boolean; messages: Array<{ content: string }> };
        pieces.length = 0;
        received.push({ contentLength: incoming.headers['content-length'], transferEncoding: incoming.headers['transfer-encoding'], bytes, sha256: hash.digest('hex'), content: body.messages[0]!.content.length });
        if (body.stream !== true) {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ id: 'chatcmpl-b', object: 'chat.completion', created: 1, model: 'gpt-4.1', choices: [{ index: 0, message: { role: 'assistant', content: 'whole' }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } }));
          return;
        }
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.write(chunk('first'));
        held.push(response);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    relay = await startRelay({ HOLYSHEEP_API_KEY: 'sk-upstream-body-0123456789', HOLYSHEEP_BASE_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1` });
  });
  afterAll(async () => {
    release();
    await relay.close();
    await new Promise((resolve) => upstream.close(resolve));
  });


  it('sends a long prompt whole, with its length, and a short one as before, streaming or not', async () => {
    const client = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
    for (const length of [200, 3 * releasedBodyCharacters]) {
      received.length = 0;
      const prompt = 'é'.repeat(length);
      const streaming = (async () => {
        let text = '';
        for await (const part of await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: prompt }], stream: true })) text += part.choices[0]?.delta.content ?? '';
        return text;
      })();
      await expect.poll(() => held.length).toBe(1);
      release();
      expect(await streaming).toBe('first');
      const [seen] = received;
      expect(seen!.content).toBe(length);
      expect(seen!.transferEncoding).toBeUndefined();
      expect(Number(seen!.contentLength)).toBe(seen!.bytes);
      // And the same without streaming.
      received.length = 0;
      const answer = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: prompt }] });
      expect(answer.choices[0]?.message.content).toBe('whole');
      expect(received[0]).toMatchObject({ content: length, transferEncoding: undefined, contentLength: String(received[0]!.bytes) });
    }
  });

  it('lets a long prompt go once it is sent, while its stream goes on', async () => {
    setFlagsFromString('--expose-gc');
    const collect = runInNewContext('gc') as () => void;
    // Backing stores are freed by a sweeper after the collection: collect, let it run, collect again.
    const external = async () => {
      collect();
      await new Promise((resolve) => setTimeout(resolve, 50));
      collect();
      return process.memoryUsage().arrayBuffers;
    };
    const streams = 40;
    const prompt = 'x'.repeat(256 * 1024);
    const body = JSON.stringify({ model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: prompt }] });
    const port = Number(new URL(relay.url).port);
    received.length = 0;
    const before = await external();
    // Raw sockets: a client that keeps no copy of what it sent.
    const sockets: Socket[] = [];
    const firstBytes: Array<Promise<void>> = [];
    for (let index = 0; index < streams; index++) {
      const socket = connect(port, '127.0.0.1');
      firstBytes.push(new Promise((resolve) => socket.once('data', () => resolve())));
      socket.on('data', () => {});
      socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: relay\r\ncontent-type: application/json\r\nauthorization: Bearer ${masterKey}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      sockets.push(socket);
    }
    await Promise.all(firstBytes);
    expect(held.length).toBe(streams);
    expect(received.every((seen) => seen.content === prompt.length && Number(seen.contentLength) === seen.bytes)).toBe(true);
    // 40 open streams with 256 KB prompts: undici would keep each body (10 MB) until its stream ended.
    const grown = (await external()) - before;
    expect(grown).toBeLessThan((streams * prompt.length) / 4);
    const closed = sockets.map((socket) => new Promise((resolve) => socket.once('close', resolve)));
    release();
    // Each client asked to close its connection: the relay closes it once the stream has ended.
    await Promise.all(closed);
  });
});
