import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

/**
 * What the upstream writes for the next request: pieces of bytes, each written after a short pause
 * (a list of pieces leaves in one socket write, as the chunks of a busy upstream do).
 */
let script: Array<string | string[]> = [];

const chunk = (content: string | null, finish: string | null = null) =>
  JSON.stringify({ id: 'chatcmpl-p', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }], usage: null });
const usageChunk = JSON.stringify({ id: 'chatcmpl-p', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [], usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 } });

describe('streams from an OpenAI-compatible upstream, relayed as its own bytes', () => {
  let upstream: Server;
  let relay: StartedRelay;
  let client: OpenAI;

  beforeAll(async () => {
    upstream = createServer((incoming, response) => {
      incoming.resume();
      incoming.on('end', async () => {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const piece of script) {
          if (typeof piece === 'string') response.write(piece);
          else {
            response.cork();
            for (const part of piece) response.write(part);
            response.uncork();
          }
          await new Promise((resolve) => setTimeout(resolve, 15));
        }
        response.end();
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    relay = await startRelay({ HOLYSHEEP_API_KEY: 'sk-upstream-passthrough-0123456789', HOLYSHEEP_BASE_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1` });
    client = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
  });
  afterAll(async () => {
    await relay.close();
    await new Promise((resolve) => upstream.close(resolve));
  });

  const full = () => [`data: ${chunk('Hel')}\n\ndata: ${chunk('lo')}\n\n`, `data: ${chunk(null, 'stop')}\n\n`, `data: ${usageChunk}\n\n`, 'data: [DONE]\n\n'];

  it('hides the usage chunk the relay asked for from a client that did not ask, and bills it', async () => {
    script = full();
    const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], stream: true });
    const received = [];
    for await (const part of stream) received.push(part);
    expect(received.map((part) => part.choices[0]?.delta.content ?? '').join('')).toBe('Hello');
    expect(received.every((part) => part.choices.length === 1)).toBe(true);
    await expect.poll(() => relay.logs.filter((line) => line.msg === 'request').at(-1)).toMatchObject({ status: 200, stream: true, promptTokens: 9, completionTokens: 3 });
  });

  it('gives the usage chunk to a client that asked for it', async () => {
    script = full();
    const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
    const received = [];
    for await (const part of stream) received.push(part);
    expect(received.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 } });
  });

  it('never hands the client half an event: events cut between upstream reads arrive whole', async () => {
    const text = `data: ${chunk('one ')}\n\ndata: ${chunk('two ')}\n\ndata: ${chunk(null, 'stop')}\n\ndata: ${usageChunk}\n\ndata: [DONE]\n\n`;
    script = [text.slice(0, 37), text.slice(37, 200), text.slice(200, 201), text.slice(201)];
    const response = await request(`${relay.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    });
    const pieces: string[] = [];
    for await (const piece of response.body) pieces.push(piece.toString('utf8'));
    for (const piece of pieces) expect(piece.endsWith('\n\n')).toBe(true);
    const events = pieces.join('').split('\n\n').filter((event) => event !== '');
    expect(events.map((event) => (event === 'data: [DONE]' ? '[DONE]' : (JSON.parse(event.slice(6)) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? ''))).toEqual(['one ', 'two ', '', '[DONE]']);
  });

  it('sends the chunks of one upstream read to the client as one chunk', async () => {
    script = [[`data: ${chunk('one ')}\n\n`, `data: ${chunk('two ')}\n\n`, `data: ${chunk('three')}\n\n`], [`data: ${chunk(null, 'stop')}\n\n`, `data: ${usageChunk}\n\n`, 'data: [DONE]\n\n']];
    const body = JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], stream: true });
    const socket = connect({ host: '127.0.0.1', port: Number(new URL(relay.url).port) });
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: relay\r\nauthorization: Bearer ${masterKey}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    const received: Buffer[] = [];
    for await (const piece of socket) received.push(piece as Buffer);
    const answer = Buffer.concat(received).toString('utf8');
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toMatch(/\r\ntransfer-encoding: chunked\r\n/i);
    // The body's chunks, as the client's HTTP parser sees them.
    const chunks: string[] = [];
    let rest = answer.slice(answer.indexOf('\r\n\r\n') + 4);
    for (;;) {
      const size = Number.parseInt(rest.slice(0, rest.indexOf('\r\n')), 16);
      if (size === 0) break;
      const start = rest.indexOf('\r\n') + 2;
      chunks.push(rest.slice(start, start + size));
      rest = rest.slice(start + size + 2);
    }
    const contents = (text: string) => text.split('\n\n').filter((event) => event !== '' && event !== 'data: [DONE]').map((event) => (JSON.parse(event.slice(6)) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '');
    expect(contents(chunks[0]!)).toEqual(['one ', 'two ', 'three']);
    expect(chunks.map(contents).flat()).toEqual(['one ', 'two ', 'three', '']);
    expect(chunks.at(-1)).toBe('data: [DONE]\n\n');
  });

  it('relays an upstream that ends its lines with CRLF, and fails on an error event with an OpenAI-shaped error', async () => {
    script = [`data: ${chunk('a')}\r\n\r\n`, `data: ${chunk('b', 'stop')}\r\n\r\ndata: ${usageChunk}\r\n\r\ndata: [DONE]\r\n\r\n`];
    const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    for await (const part of stream) text += part.choices[0]?.delta.content ?? '';
    expect(text).toBe('ab');

    script = [`data: ${chunk('x')}\n\n`, 'event: error\ndata: {"error":{"message":"overloaded upstream","type":"server_error"}}\n\n'];
    const failing = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], stream: true });
    await expect((async () => {
      for await (const _part of failing) {
        // read until the error event
      }
    })()).rejects.toThrow(/overloaded upstream|upstream/);
  });

  it('fails a stream cut before [DONE] (billing what it delivered is covered in keys-and-budgets), and logs the failure', async () => {
    script = [`data: ${chunk('partial answer')}\n\n`];
    const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], stream: true });
    await expect((async () => {
      for await (const _part of stream) {
        // the stream ends without [DONE]
      }
    })()).rejects.toThrow();
    await expect.poll(() => relay.logs.filter((line) => line.msg === 'request').at(-1)).toMatchObject({ stream: true, status: 200, errorCode: expect.any(String) });
  });
});
