import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { APIError } from 'openai';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { masterKey } from './support/start-relay.js';
import { useTwoUpstreams } from './support/two-upstreams.js';

const { upstreamA, relay: currentRelay, startWith: startRelayWith, startIn } = useTwoUpstreams('relay-resilience-');

async function startWith(yaml: string, environment: Record<string, string> = {}): Promise<OpenAI> {
  return (await startRelayWith(yaml, environment)).client;
}

const ask = (client: OpenAI, content = 'hi') => client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content }] }).withResponse();

async function deployment(id: string): Promise<{ state: string; errorRate: number; inflight: number }> {
  const response = await request(`${currentRelay()!.url}/admin/deployments`, { headers: { authorization: `Bearer ${masterKey}` } });
  const { data } = (await response.body.json()) as { data: Array<{ id: string; state: string; errorRate: number; inflight: number }> };
  const found = data.find((entry) => entry.id === id);
  if (found === undefined) throw new Error(`no deployment ${id}`);
  return found;
}

describe('the request deadline (upstream.deadlineMs)', () => {
  it('ends a JSON answer the upstream trickles, each piece within TIMEOUT_MS but the whole past the deadline, with 504 upstream_timeout', async () => {
    const client = await startWith('models:\n  gpt-4.1: { targets: [{ provider: a }] }\nupstream:\n  deadlineMs: 1500\n', { TIMEOUT_MS: '1000', MAX_RETRIES: '0' });
    // 40 pieces 250 ms apart: 10 s in all, never 1 s between two of them.
    upstreamA.next({ kind: 'trickle', pieces: 40, delayMs: 250 });
    const error = (await ask(client).catch((caught: unknown) => caught)) as APIError;
    expect(error).toBeInstanceOf(APIError);
    expect(error.status).toBe(504);
    expect(error.code).toBe('upstream_timeout');
    expect(error.headers?.get('x-relay-attempts')).toBe('1');
    // The upstream request is given up, not left running.
    await expect.poll(() => upstreamA.requests[0]?.aborted).toBe(true);
    await expect.poll(() => currentRelay()!.logs.find((line) => line.msg === 'request')).toMatchObject({ status: 504, errorCode: 'upstream_timeout', attempts: 1 });
    const metrics = await (await request(`${currentRelay()!.url}/metrics`)).body.text();
    expect(metrics).toContain('relay_upstream_attempt_failures_total{provider="a",reason="timeout"} 1');
  });

  it('ends requests still waiting for their connection at the deadline with 504, without holding it against the upstream', async () => {
    // A forward proxy that takes the connection and never opens the tunnel.
    const held = new Set<Socket>();
    const proxy = createTcpServer((socket) => {
      held.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const client = await startWith('models:\n  gpt-4.1: { targets: [{ provider: a }] }\nupstream:\n  deadlineMs: 1500\n', {
        TIMEOUT_MS: '1000',
        MAX_RETRIES: '0',
        HTTP_PROXY: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      });
      // As many as open a circuit (5 failures in a row) when each is counted as the upstream's timeout:
      // JSON answers, and streams relayed as the upstream's bytes (each kind read its own way).
      const streamed = (index: number) => client.completions.create({ model: 'gpt-4.1', prompt: `waiting ${index}`, stream: true });
      const waiting = Array.from({ length: 5 }, (_, index) => (index < 3 ? ask(client, `waiting ${index}`) : streamed(index)).catch((caught: unknown) => caught));
      const errors = (await Promise.all(waiting)) as APIError[];
      for (const error of errors) {
        expect(error).toBeInstanceOf(APIError);
        expect(error.status).toBe(504);
        expect(error.code).toBe('upstream_timeout');
      }
      expect(upstreamA.requests).toHaveLength(0);
      expect(await deployment('a/gpt-4.1')).toMatchObject({ state: 'closed', errorRate: 0 });
      const metrics = await (await request(`${currentRelay()!.url}/metrics`)).body.text();
      expect(metrics).not.toContain('relay_upstream_attempt_failures_total{provider="a"');
    } finally {
      // The tunnels fail: the requests undici still holds for them end, and the relay can close.
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });
});

describe('deployment health', () => {
  it('lets a half-open deployment be probed again after its probe got a 400 that was the caller’s fault', async () => {
    const client = await startWith('models:\n  gpt-4.1:\n    groups:\n      - targets: [{ provider: a }]\n      - targets: [{ provider: b }]\n', { MAX_RETRIES: '0' });
    upstreamA.next(...Array.from({ length: 5 }, () => ({ kind: 'status' as const, status: 500 })));
    for (let index = 0; index < 5; index++) await expect(ask(client)).rejects.toMatchObject({ status: 502 });
    expect((await deployment('a/gpt-4.1')).state).toBe('open');
    // After the 5 s cooldown, one probe may go to "a"; it gets a 400 the request itself caused.
    await expect.poll(async () => (await deployment('a/gpt-4.1')).state, { timeout: 8000, interval: 250 }).toBe('half_open');
    upstreamA.next({ kind: 'status', status: 400, body: { error: { message: "Invalid value for 'temperature'.", type: 'invalid_request_error', param: 'temperature', code: 'invalid_value' } } });
    await expect(ask(client)).rejects.toMatchObject({ status: 400, code: 'invalid_value' });
    // The next request probes "a" again, finds it well and closes its circuit.
    const { response } = await ask(client);
    expect(response.headers.get('x-relay-provider')).toBe('a');
    expect((await deployment('a/gpt-4.1')).state).toBe('closed');
  });

  it('ejects a deployment whose every stream breaks after its first chunk, and again when its probe\'s stream breaks', async () => {
    const { client } = await startRelayWith('models:\n  gpt-4.1:\n    groups:\n      - targets: [{ provider: a }]\n      - targets: [{ provider: b }]\n');
    upstreamA.next(...Array.from({ length: 20 }, () => ({ kind: 'stream' as const, chunks: 5, cutAfter: 2 })));
    const read = async (): Promise<{ provider: string | null; broken: boolean }> => {
      const { data: stream, response } = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }], stream: true }).withResponse();
      const broken = await (async () => {
        for await (const _chunk of stream);
      })().then(
        () => false,
        () => true,
      );
      return { provider: response.headers.get('x-relay-provider'), broken };
    };
    const answers = [];
    for (let index = 0; index < 10; index++) answers.push(await read());
    // Each broken stream is one failure, not a success at its first chunk and a failure: five in a row eject "a".
    expect(answers.filter((answer) => answer.broken)).toHaveLength(5);
    expect(answers.slice(5)).toEqual(Array.from({ length: 5 }, () => ({ provider: 'b', broken: false })));
    expect(await deployment('a/gpt-4.1')).toMatchObject({ state: 'open', inflight: 0 });
    // After the cooldown, the probe's stream starts and then breaks: "a" is out again at once.
    await expect.poll(async () => (await deployment('a/gpt-4.1')).state, { timeout: 8000, interval: 250 }).toBe('half_open');
    expect(await read()).toEqual({ provider: 'a', broken: true });
    expect(await deployment('a/gpt-4.1')).toMatchObject({ state: 'open', inflight: 0 });
    expect(await read()).toEqual({ provider: 'b', broken: false });
  });

  it('does not count a client that stops reading a stream as a failure of the upstream', async () => {
    const client = await startWith('models:\n  gpt-4.1: { targets: [{ provider: a }] }\n', { MAX_RETRIES: '0' });
    upstreamA.setStreamDefaults({ chunks: 50, delayMs: 20 });
    // Twelve users press "stop" after the first words.
    for (let index = 0; index < 12; index++) {
      const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'tell a story' }], stream: true });
      for await (const _chunk of stream) break;
    }
    await expect.poll(async () => (await deployment('a/gpt-4.1')).inflight).toBe(0);
    // One real failure among 13 requests is no reason to eject the deployment.
    upstreamA.next({ kind: 'status', status: 500 });
    await expect(ask(client)).rejects.toMatchObject({ status: 502 });
    const health = await deployment('a/gpt-4.1');
    expect(health.state).toBe('closed');
    expect(health.errorRate).toBeLessThan(0.1);
    const { response } = await ask(client);
    expect(response.headers.get('x-relay-provider')).toBe('a');
  });
});

describe('streams are committed at their first chunk', () => {
  it('retries a legacy completions stream whose upstream failed after its headers and before its first chunk', async () => {
    const client = await startWith('models:\n  gpt-4.1: { targets: [{ provider: a }] }\n');
    upstreamA.next({ kind: 'stream', cutAfter: 0 });
    const { data: stream, response } = await client.completions.create({ model: 'gpt-4.1', prompt: 'Say this is a test', stream: true }).withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe('word0 word1 word2 word3 word4 ');
    expect(response.headers.get('x-relay-attempts')).toBe('2');
    expect(upstreamA.requests).toHaveLength(2);
  });

  it('retries a legacy completions stream and a passed-through Responses stream whose upstream answered 200 with an empty body', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'relay-empty-stream-'));
    writeFileSync(join(directory, 'relay.yaml'), `providers:\n  a: { type: openai, baseUrl: "${upstreamA.url}", apiKey: key-a-0123456789, responsesApi: true }\nmodels:\n  gpt-4.1: { targets: [{ provider: a }] }\n`);
    const relay = await startIn(directory, { MAX_RETRIES: '1' });
    const client = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });

    upstreamA.next({ kind: 'events', events: [], done: false });
    const { data: completion, response: completionResponse } = await client.completions.create({ model: 'gpt-4.1', prompt: 'Say this is a test', stream: true }).withResponse();
    let text = '';
    for await (const chunk of completion) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe('word0 word1 word2 word3 word4 ');
    expect(completionResponse.headers.get('x-relay-attempts')).toBe('2');

    upstreamA.next({ kind: 'events', events: [], done: false });
    const { data: events, response } = await client.responses.create({ model: 'gpt-4.1', input: 'Say this is a test', stream: true }).withResponse();
    const types: string[] = [];
    for await (const event of events) types.push(event.type);
    expect(types.at(-1)).toBe('response.completed');
    expect(response.headers.get('x-relay-attempts')).toBe('2');
    expect(upstreamA.requests.map((received) => received.path)).toEqual(['/v1/completions', '/v1/completions', '/v1/responses', '/v1/responses']);
  });

  it('ends a legacy completions stream the upstream closed without [DONE] or a finish reason with an error event, and counts it as failed', async () => {
    const client = await startWith('models:\n  gpt-4.1: { targets: [{ provider: a }] }\n');
    const chunk = { id: 'cmpl-cut', object: 'text_completion', created: 1, model: 'gpt-4.1', choices: [{ index: 0, text: 'Hel', logprobs: null, finish_reason: null }] };
    upstreamA.next({ kind: 'events', events: [chunk], done: false });
    const stream = await client.completions.create({ model: 'gpt-4.1', prompt: 'Say hello', stream: true });
    let text = '';
    const error = await (async () => {
      for await (const part of stream) text += part.choices[0]?.text ?? '';
    })().catch((caught: unknown) => caught);
    expect(text).toBe('Hel');
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).error).toMatchObject({ type: 'server_error', code: 'upstream_error' });
    // Cut after its first byte: not retried.
    expect(upstreamA.requests).toHaveLength(1);
    await expect.poll(() => currentRelay()!.logs.filter((line) => line.msg === 'request').at(-1)).toMatchObject({ stream: true, status: 200, errorCode: 'upstream_error' });

    // The upstream's own error event reaches the client as it came, and the request is counted as failed too.
    upstreamA.next({ kind: 'events', events: [chunk, { error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } }], done: false });
    const failing = await client.completions.create({ model: 'gpt-4.1', prompt: 'Say hello', stream: true });
    const upstreamError = await (async () => {
      for await (const _part of failing) {
        // read until the error event
      }
    })().catch((caught: unknown) => caught);
    expect((upstreamError as APIError).message).toContain('The server had an error while processing your request.');
    await expect.poll(() => currentRelay()!.logs.filter((line) => line.msg === 'request')).toHaveLength(2);
    expect(currentRelay()!.logs.filter((line) => line.msg === 'request').at(-1)).toMatchObject({ stream: true, status: 200, errorCode: 'upstream_error' });
  });
});

describe('connections the upstream let go while idle', () => {
  it('retries at once, on a new connection, a request whose reused connection the upstream closed before answering', async () => {
    // An HTTP/1.1 upstream that keeps connections open without saying for how long, then drops each
    // one when its next request comes (as a server whose idle timeout just passed does): the
    // request never reached it. Only a retry without a backoff fits in the 350 ms deadline below
    // (the first backoff is 375–500 ms).
    const sockets: Socket[] = [];
    let served = 0;
    const upstream = createTcpServer((socket) => {
      sockets.push(socket);
      let requests = 0;
      let buffered = Buffer.alloc(0);
      socket.on('data', (data) => {
        buffered = Buffer.concat([buffered, data]);
        const headEnd = buffered.indexOf('\r\n\r\n');
        if (headEnd === -1) return;
        const length = Number(/content-length: *(\d+)/i.exec(buffered.subarray(0, headEnd).toString('latin1'))?.[1] ?? 0);
        if (buffered.length < headEnd + 4 + length) return;
        buffered = buffered.subarray(headEnd + 4 + length);
        if (++requests > 1) {
          socket.destroy();
          return;
        }
        served++;
        const body = JSON.stringify({ id: `chatcmpl-${served}`, object: 'chat.completion', created: 1, model: 'gpt-4.1', choices: [{ index: 0, message: { role: 'assistant', content: `answer ${served}` }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } });
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    try {
      const directory = mkdtempSync(join(tmpdir(), 'relay-idle-close-'));
      writeFileSync(
        join(directory, 'relay.yaml'),
        `providers:\n  idle: { type: openai, baseUrl: "http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1", apiKey: key-idle-0123456789 }\nmodels:\n  gpt-4.1: { targets: [{ provider: idle }] }\nupstream:\n  deadlineMs: 350\n`,
      );
      const relay = await startIn(directory, { MAX_RETRIES: '1' });
      const client = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
      const first = await ask(client);
      expect(first.data.choices[0]?.message.content).toBe('answer 1');
      expect(first.response.headers.get('x-relay-attempts')).toBe('1');
      // The pool reuses the first connection, which the upstream drops; the retry opens a new one.
      const second = await ask(client);
      expect(second.data.choices[0]?.message.content).toBe('answer 2');
      expect(second.response.headers.get('x-relay-attempts')).toBe('2');
      expect(sockets.length).toBe(2);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    }
  });
});
