import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

/** What the upstream does once it has written a whole chat stream, `[DONE]` included. */
let afterDone: 'end' | 'drop-connection' | 'hold' = 'end';

const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({ id: 'chatcmpl-done', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [{ index: 0, delta, finish_reason: finishReason }] });

/**
 * An OpenAI-compatible upstream that streams a complete answer, as OpenAI does (chunks, the finish
 * reason, the usage chunk `include_usage` asks for, `data: [DONE]`), and then either ends its
 * response, drops the connection without the chunked body's last chunk, or leaves it open.
 * @see https://platform.openai.com/docs/api-reference/chat-streaming
 */
const upstream: Server = createServer((incoming, response) => {
  incoming.resume();
  incoming.on('end', () => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const event of [chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hello' }), chunk({ content: ' there' }), chunk({}, 'stop')]) response.write(`data: ${JSON.stringify(event)}\n\n`);
    response.write(`data: ${JSON.stringify({ id: 'chatcmpl-done', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } })}\n\n`);
    response.write('data: [DONE]\n\n');
    if (afterDone === 'end') response.end();
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
});
