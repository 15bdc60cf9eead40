import Anthropic from '@anthropic-ai/sdk';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

/** What the upstream does once it has written a whole chat stream, `[DONE]` included: `late-end` ends the response 50 ms later. */
let afterDone: 'end' | 'drop-connection' | 'hold' | 'late-end' = 'end';
/** The responses the upstream has finished (sent whole), and the requests it got on a connection whose last response ended late (`late-end`). */
let finishedResponses = 0;
let reusedAfterLateEnd = 0;
const lateEndSockets = new WeakSet<object>();

const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({ id: 'chatcmpl-done', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [{ index: 0, delta, finish_reason: finishReason }] });

/**
 * An OpenAI-compatible upstream that streams a complete answer, as OpenAI does (chunks, the finish
 * reason, the usage chunk `include_usage` asks for, `data: [DONE]`), and then either ends its
 * response, drops the connection without the chunked body's last chunk, or leaves it open.
 * @see https://platform.openai.com/docs/api-reference/chat-streaming
 */
const upstream: Server = createServer((incoming, response) => {
  if (lateEndSockets.has(incoming.socket)) reusedAfterLateEnd++;
  if (afterDone === 'late-end') lateEndSockets.add(incoming.socket);
  else lateEndSockets.delete(incoming.socket);
  incoming.resume();
  incoming.on('end', () => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const event of [chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hello' }), chunk({ content: ' there' }), chunk({}, 'stop')]) response.write(`data: ${JSON.stringify(event)}\n\n`);
    response.write(`data: ${JSON.stringify({ id: 'chatcmpl-done', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } })}\n\n`);
    response.write('data: [DONE]\n\n');
    response.on('finish', () => finishedResponses++);
    if (afterDone === 'end') response.end();
    else if (afterDone === 'late-end') setTimeout(() => response.end(), 50);
    // Once what was written has left: the connection goes, without the body's terminating chunk.
    else if (afterDone === 'drop-connection') setTimeout(() => response.socket?.destroy(), 100);
  });
});

let relay: StartedRelay;
let client: OpenAI;

beforeAll(async () => {
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  relay = await startRelay({ HOLYSHEEP_API_KEY: 'hs-upstream-key-0123456789', HOLYSHEEP_BASE_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`, TIMEOUT_MS: '1500', MAX_RETRIES: '0' });
  client = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
});
afterAll(async () => {
  await relay.close();
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});
afterEach(() => {
  afterDone = 'end';
});

/** The raw SSE body a client gets for a streamed chat request, and its request id. */
async function streamedBody(): Promise<{ body: string; requestId: string }> {
  const response = await request(`${relay.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], stream: true }),
  });
  return { body: await response.body.text(), requestId: String(response.headers['x-request-id']) };
}

/** The access line of a request, once written. */
async function accessLine(requestId: string | null): Promise<Record<string, unknown>> {
  await expect.poll(() => relay.logs.some((line) => line.msg === 'request' && line.requestId === requestId)).toBe(true);
  return relay.logs.find((line) => line.msg === 'request' && line.requestId === requestId)!;
}

describe('a stream whose upstream sent [DONE]', () => {
  for (const [behaviour, words] of [
    ['drop-connection', 'then dropped the connection without ending the chunked body'],
    ['hold', 'then left the response open'],
  ] as const) {
    it(`is complete: one that ${words} reaches the client whole, ending with [DONE], and counts as a success`, async () => {
      afterDone = behaviour;
      const { body, requestId } = await streamedBody();
      expect(body).toContain('"content":"Hello"');
      expect(body).not.toContain('"error"');
      expect(body.endsWith('data: [DONE]\n\n')).toBe(true);

      afterDone = behaviour;
      const { data: stream, response } = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } }).withResponse();
      let text = '';
      let usage: unknown;
      for await (const part of stream) {
        text += part.choices[0]?.delta.content ?? '';
        usage ??= part.usage ?? undefined;
      }
      expect(text).toBe('Hello there');
      expect(usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 2 });

      // Neither is logged or counted as a failed request.
      for (const id of [requestId, response.headers.get('x-request-id')]) {
        const line = await accessLine(id);
        expect(line).toMatchObject({ status: 200, stream: true });
        expect(line.errorCode).toBeUndefined();
      }
      // Nor against the deployment's health: five in a row would eject a deployment that answers every request whole.
      for (let index = 0; index < 4; index++) {
        afterDone = behaviour;
        await streamedBody();
      }
      const deployments = await request(`${relay.url}/admin/deployments`, { headers: { authorization: `Bearer ${masterKey}` } });
      const { data } = (await deployments.body.json()) as { data: Array<{ id: string; state: string; errorRate: number }> };
      expect(data.find((deployment) => deployment.id === 'holysheep/gpt-4.1')).toMatchObject({ state: 'closed', errorRate: 0 });
    });
  }

  it('keeps the upstream connection for the next request when the upstream ends its body shortly after [DONE]', async () => {
    const reused = reusedAfterLateEnd;
    // The client has its answer at [DONE]; the upstream ends its response after it, on a connection
    // that stays open and serves a later request. (The next request may come before the relay has
    // read the body's end, and take a connection of its own: a few are sent, one after the other.)
    for (let round = 0; round < 4; round++) {
      afterDone = 'late-end';
      const finished = finishedResponses;
      expect((await streamedBody()).body.endsWith('data: [DONE]\n\n')).toBe(true);
      await expect.poll(() => finishedResponses).toBe(finished + 1);
    }
    expect(reusedAfterLateEnd).toBeGreaterThan(reused);
  });
});

/** What the upstream of every other stream format does after the event that ends its stream. */
let afterEnd: 'drop-connection' | 'hold' = 'drop-connection';
/** Whether each response the formats' upstream has written was closed (by the relay, when it held it open). */
const formatResponses: Array<{ closed: boolean }> = [];

const sse = (event: string | undefined, data: unknown) => `${event === undefined ? '' : `event: ${event}\n`}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
const responseObject = (status: string, text: string) => ({
  id: 'resp_done',
  object: 'response',
  created_at: 1,
  status,
  model: 'gpt-4.1',
  output: status === 'completed' ? [{ type: 'message', id: 'msg_done', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }] : [],
  usage: status === 'completed' ? { input_tokens: 9, input_tokens_details: { cached_tokens: 0 }, output_tokens: 2, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 11 } : null,
});

/**
 * A whole stream of each vendor's format, as the vendor sends it, by the path called: OpenAI's legacy
 * completions (`[DONE]`), chat completions (`[DONE]`) and Responses API (`response.completed`);
 * Anthropic's Messages API (`message_stop`); Gemini's `streamGenerateContent?alt=sse` (whose end is
 * the body's: its last event has the finish reason and the usage).
 * @see https://platform.openai.com/docs/api-reference/responses-streaming
 * @see https://docs.anthropic.com/en/docs/build-with-claude/streaming#event-types
 * @see https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
 */
function streamOf(path: string): string {
  if (path === '/v1/completions') {
    const text = (piece: string, finishReason: string | null) => ({ id: 'cmpl-done', object: 'text_completion', created: 1, model: 'gpt-3.5-turbo-instruct', choices: [{ text: piece, index: 0, logprobs: null, finish_reason: finishReason }] });
    return sse(undefined, text('Hello', null)) + sse(undefined, text(' there', null)) + sse(undefined, text('', 'stop')) + sse(undefined, '[DONE]');
  }
  if (path === '/v1/chat/completions') {
    return [chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hello' }), chunk({ content: ' there' }), chunk({}, 'stop')].map((event) => sse(undefined, event)).join('') + sse(undefined, { ...chunk({}), choices: [], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } }) + sse(undefined, '[DONE]');
  }
  if (path === '/v1/responses') {
    let sequence = 0;
    const event = (type: string, payload: Record<string, unknown>) => sse(type, { type, sequence_number: sequence++, ...payload });
    const delta = (text: string) => event('response.output_text.delta', { item_id: 'msg_done', output_index: 0, content_index: 0, delta: text, logprobs: [] });
    return event('response.created', { response: responseObject('in_progress', '') }) + delta('Hello') + delta(' there') + event('response.completed', { response: responseObject('completed', 'Hello there') });
  }
  if (path === '/v1/messages') {
    const delta = (text: string) => sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } });
    return (
      sse('message_start', { type: 'message_start', message: { id: 'msg_done', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 9, output_tokens: 1 } } }) +
      sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }) +
      delta('Hello') +
      delta(' there') +
      sse('content_block_stop', { type: 'content_block_stop', index: 0 }) +
      sse('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 2 } }) +
      sse('message_stop', { type: 'message_stop' })
    );
  }
  // Gemini separates its events with CRLF CRLF.
  const part = (text: string, last: boolean) => `data: ${JSON.stringify({ candidates: [{ content: { parts: [{ text }], role: 'model' }, ...(last ? { finishReason: 'STOP' } : {}), index: 0 }], usageMetadata: { promptTokenCount: 9, candidatesTokenCount: last ? 2 : 1, totalTokenCount: last ? 11 : 10 }, modelVersion: 'gemini-2.5-flash' })}\r\n\r\n`;
  return part('Hello', false) + part(' there', true);
}

const formats: Server = createServer((incoming, response) => {
  incoming.resume();
  incoming.on('end', () => {
    const written = { closed: false };
    formatResponses.push(written);
    response.on('close', () => (written.closed = true));
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(streamOf((incoming.url ?? '').split('?')[0]!.replace(/^\/v1beta\/models\/.*$/, 'gemini')));
    if (afterEnd === 'drop-connection') setTimeout(() => response.socket?.destroy(), 100);
  });
});

describe('a stream of another format whose upstream sent the event that ends it', () => {
  let formatsRelay: StartedRelay;
  let openai: OpenAI;
  let anthropic: Anthropic;
  beforeAll(async () => {
    await new Promise<void>((resolve) => formats.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(formats.address() as AddressInfo).port}`;
    const directory = mkdtempSync(join(tmpdir(), 'relay-stream-after-end-'));
    writeFileSync(
      join(directory, 'relay.yaml'),
      [
        'providers:',
        `  oai: { type: openai, baseUrl: "${origin}/v1", apiKey: oai-key-0123456789, responsesApi: true }`,
        `  ant: { type: anthropic, baseUrl: "${origin}", apiKey: ant-key-0123456789 }`,
        `  gem: { type: gemini, baseUrl: "${origin}", apiKey: gem-key-0123456789 }`,
        'models:',
        '  gpt-x: { targets: [{ provider: oai, model: gpt-4.1 }] }',
        '  claude-x: { targets: [{ provider: ant, model: claude-sonnet-4-5 }] }',
        '  gemini-x: { targets: [{ provider: gem, model: gemini-2.5-flash }] }',
        '',
      ].join('\n'),
    );
    formatsRelay = await startRelay({ TIMEOUT_MS: '1500', MAX_RETRIES: '0' }, directory);
    openai = new OpenAI({ apiKey: masterKey, baseURL: formatsRelay.baseURL, maxRetries: 0 });
    anthropic = new Anthropic({ apiKey: masterKey, baseURL: formatsRelay.url, maxRetries: 0 });
  });
  afterAll(async () => {
    await formatsRelay.close();
    formats.closeAllConnections();
    await new Promise((resolve) => formats.close(resolve));
  });

  /** Streams the chat answer of `model` through the OpenAI SDK: its text, and its request id. */
  async function chat(model: string): Promise<{ text: string; requestId: string | null }> {
    const { data, response } = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], stream: true }).withResponse();
    let text = '';
    for await (const part of data) text += part.choices[0]?.delta.content ?? '';
    return { text, requestId: response.headers.get('x-request-id') };
  }

  /** Streams a `/v1/messages` answer of `model` through the Anthropic SDK. */
  async function messages(model: string): Promise<{ text: string; requestId: string | null }> {
    const { data, response } = await anthropic.messages.create({ model, max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], stream: true }).withResponse();
    let text = '';
    let stopped = false;
    for await (const event of data) {
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
      stopped ||= event.type === 'message_stop';
    }
    expect(stopped).toBe(true);
    return { text, requestId: response.headers.get('x-request-id') };
  }

  const paths: Array<[string, () => Promise<{ text: string; requestId: string | null }>]> = [
    [
      'legacy /v1/completions (complete at [DONE])',
      async () => {
        const response = await request(`${formatsRelay.url}/v1/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-x', prompt: 'Say', stream: true }),
        });
        const body = await response.body.text();
        expect(body).not.toContain('"error"');
        expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
        const text = [...body.matchAll(/"text":"([^"]*)"/g)].map((match) => match[1]).join('');
        return { text, requestId: String(response.headers['x-request-id']) };
      },
    ],
    [
      '/v1/responses passed through (complete at response.completed)',
      async () => {
        const { data, response } = await openai.responses.create({ model: 'gpt-x', input: 'hi', stream: true }).withResponse();
        let text = '';
        let last: string | undefined;
        for await (const event of data) {
          if (event.type === 'response.output_text.delta') text += event.delta;
          last = event.type;
        }
        expect(last).toBe('response.completed');
        return { text, requestId: response.headers.get('x-request-id') };
      },
    ],
    ['/v1/messages passed through to Anthropic (complete at message_stop)', () => messages('claude-x')],
    ['/v1/messages translated from an OpenAI-compatible chat stream (complete at [DONE])', () => messages('gpt-x')],
    ['/v1/chat/completions translated from Anthropic (complete at message_stop)', () => chat('claude-x')],
    ['/v1/chat/completions translated from Gemini (whole once every candidate has its finish reason)', () => chat('gemini-x')],
  ];

  for (const [path, run] of paths) {
    for (const behaviour of ['drop-connection', 'hold'] as const) {
      it(`${path}: an upstream that then ${behaviour === 'hold' ? 'leaves the response open' : 'drops the connection'} has answered whole, and is let go of`, async () => {
        afterEnd = behaviour;
        const written = formatResponses.length;
        const { text, requestId } = await run();
        expect(text).toBe('Hello there');
        await expect.poll(() => formatsRelay.logs.some((line) => line.msg === 'request' && line.requestId === requestId)).toBe(true);
        const line = formatsRelay.logs.find((entry) => entry.msg === 'request' && entry.requestId === requestId)!;
        expect(line).toMatchObject({ status: 200, stream: true });
        expect(line.errorCode).toBeUndefined();
        // The relay closed the response the upstream left open (at the latest once its timeout passed).
        expect(formatResponses.length).toBe(written + 1);
        await expect.poll(() => formatResponses[written]!.closed, { timeout: 5000 }).toBe(true);
      });
    }
  }
});
