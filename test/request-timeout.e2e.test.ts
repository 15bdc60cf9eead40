import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

/** The relay's request timeout in these tests: far below the answers' length. */
const requestTimeoutMs = 1000;
const chunkGapMs = 500;

const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({ id: 'chatcmpl-slow', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [{ index: 0, delta, finish_reason: finishReason }] });

/**
 * An OpenAI-compatible upstream that takes its time: a chat stream of five chunks `chunkGapMs`
 * apart (2.5 s, well past the relay's request timeout), and a JSON answer after as long.
 * @see https://platform.openai.com/docs/api-reference/chat-streaming
 */
const upstream: Server = createServer((incoming, response) => {
  let body = '';
  incoming.setEncoding('utf8').on('data', (piece: string) => (body += piece));
  incoming.on('end', async () => {
    const wait = () => new Promise((resolve) => setTimeout(resolve, chunkGapMs));
    if (!body.includes('"stream":true')) {
      for (let index = 0; index < 5; index++) await wait();
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ id: 'chatcmpl-slow', object: 'chat.completion', created: 1, model: 'gpt-4.1', choices: [{ index: 0, message: { role: 'assistant', content: 'slow but whole' }, finish_reason: 'stop' }], usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 } }));
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const word of ['slow ', 'but ', 'whole ', 'and ', 'long']) {
      response.write(`data: ${JSON.stringify(chunk({ content: word }))}\n\n`);
      await wait();
    }
    response.write(`data: ${JSON.stringify(chunk({}, 'stop'))}\n\n`);
    response.end('data: [DONE]\n\n');
  });
});

let relay: StartedRelay;
let port: number;

beforeAll(async () => {
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  relay = await startRelay({
    HOLYSHEEP_API_KEY: 'hs-upstream-key-0123456789',
    HOLYSHEEP_BASE_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`,
    REQUEST_TIMEOUT_MS: String(requestTimeoutMs),
  });
  port = Number(new URL(relay.url).port);
});
afterAll(async () => {
  await relay.close();
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

/**
 * Sends a request's headers and the start of its body, and never the rest, as a stalled or hostile
 * client does; resolves with what the relay wrote back once it closed the connection.
 */
function stalledUpload(headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8').on('data', (text: string) => (received += text));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    const lines = Object.entries({ host: `127.0.0.1:${port}`, 'content-type': 'application/json', 'content-length': '1000', ...headers }).map(([name, value]) => `${name}: ${value}\r\n`);
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\n${lines.join('')}\r\n{"model":"gpt-4.1","messages":`);
  });
}

/** The `relay_inflight_requests` gauge (the scrape that reads it counts itself). */
async function inflightRequests(): Promise<number> {
  const text = await (await request(`${relay.url}/metrics`)).body.text();
  return Number(/^relay_inflight_requests (\d+)$/m.exec(text)?.[1]);
}

describe('the request timeout (REQUEST_TIMEOUT_MS)', () => {
  it('cuts no answer that lasts longer than it: the timeout covers receiving the request only', async () => {
    const client = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    for await (const part of stream) text += part.choices[0]?.delta.content ?? '';
    expect(text).toBe('slow but whole and long');

    const completion = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0]?.message.content).toBe('slow but whole');
  });

  it('ends an upload that stalls, with a key or without one, and the in-flight gauge goes back to 0', async () => {
    const [keyed, anonymous] = await Promise.all([stalledUpload({ authorization: `Bearer ${masterKey}` }), stalledUpload({})]);
    // The request that waited for its body: 408, in OpenAI's shape, and the connection closed.
    expect(keyed).toMatch(/^HTTP\/1\.1 408 /);
    expect(keyed).toContain('"code":"request_timeout"');
    // The request refused at once (no key) is answered 401; its connection, which waited for the body, is closed too.
    expect(anonymous).toMatch(/^HTTP\/1\.1 401 /);
    await expect.poll(inflightRequests).toBe(1);
    await expect.poll(() => relay.logs.find((line) => line.msg === 'request' && line.status === 408)).toMatchObject({ path: '/v1/chat/completions', errorCode: 'request_timeout' });
  });
});
