import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { masterKey } from './support/start-relay.js';
import { useTwoUpstreams } from './support/two-upstreams.js';

const { upstreamA, upstreamB, relay: currentRelay, startWith, startIn } = useTwoUpstreams('relay-keepalive-comments-');

/**
 * What OpenRouter (an OpenAI-compatible upstream) sends while a model has not started answering:
 * an SSE comment, "to prevent connection timeouts", which clients ignore as the SSE format says.
 * @see https://openrouter.ai/docs/api-reference/streaming
 */
const processing = ': OPENROUTER PROCESSING\n\n';

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads a stream to its end: the text it carried, and the error that ended it, if one did. */
async function readChat(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>): Promise<{ text: string; error: unknown }> {
  let text = '';
  try {
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    return { text, error: undefined };
  } catch (error) {
    return { text, error };
  }
}

const twoGroups = 'models:\n  gpt-4.1:\n    groups:\n      - targets: [{ provider: a }]\n      - targets: [{ provider: b }]\n';
/** One retry: moving to the other deployment is one (`MAX_RETRIES` bounds the attempts on a model's deployments). */
const oneRetry = { MAX_RETRIES: '1' };

describe('an upstream that sends SSE keep-alive comments before its first chunk', () => {
  it('has not started its answer: an error event after the comment is failed over to the next deployment', async () => {
    const { client } = await startWith(twoGroups, oneRetry);
    // The comment, then the upstream's provider fails before any token: OpenRouter's mid-stream error event.
    upstreamA.next({ kind: 'events', events: [processing, wait(100), { error: { message: 'Provider returned error', code: 502 } }], done: false });
    const { data: stream, response } = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], stream: true }).withResponse();
    const { text, error } = await readChat(stream);
    expect(error).toBeUndefined();
    expect(text).toBe('word0 word1 word2 word3 word4 ');
    expect(response.headers.get('x-relay-provider')).toBe('b');
    expect(upstreamB.requests).toHaveLength(1);
  });

  it('has not started its answer: the request deadline still ends it with 504 upstream_timeout, not a 200 stream', async () => {
    const { client } = await startWith('models:\n  gpt-4.1: { targets: [{ provider: a }] }\nupstream:\n  deadlineMs: 1500\n', { MAX_RETRIES: '0', TIMEOUT_MS: '1000' });
    // A comment every 200 ms for 4 s (each within TIMEOUT_MS, all of them past the deadline), and no chunk.
    // (The mock holds the events after a promise until it settles: each one settles 200 ms after the one before.)
    const events: unknown[] = [];
    for (let index = 0; index < 20; index++) events.push(processing, wait(200 * (index + 1)));
    upstreamA.next({ kind: 'events', events, done: false });
    const outcome = await client.chat.completions
      .create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], stream: true })
      .withResponse()
      .then(
        async ({ data, response }) => ({ status: response.status, ...(await readChat(data)) }),
        (error: unknown) => ({ status: (error as APIError).status, text: '', error }),
      );
    expect(outcome.status).toBe(504);
    expect(outcome.error).toBeInstanceOf(APIError);
    expect((outcome.error as APIError).code).toBe('upstream_timeout');
    await expect.poll(() => currentRelay()!.logs.find((line) => line.msg === 'request')).toMatchObject({ status: 504, errorCode: 'upstream_timeout' });
  });

  it('has not started a legacy completions stream either: an error event after the comment is failed over', async () => {
    const { client } = await startWith(twoGroups, oneRetry);
    upstreamA.next({ kind: 'events', events: [processing, wait(100), { error: { message: 'Provider returned error', code: 502 } }], done: false });
    const { data: stream, response } = await client.completions.create({ model: 'gpt-4.1', prompt: 'Say this is a test', stream: true }).withResponse();
    let text = '';
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    })().catch((caught: unknown) => caught);
    expect(error).toBeUndefined();
    expect(text).toBe('word0 word1 word2 word3 word4 ');
    expect(response.headers.get('x-relay-provider')).toBe('b');
  });

  it('has not started a /v1/responses stream passed through either: an error event after the comment is failed over', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'relay-keepalive-comments-'));
    writeFileSync(
      join(directory, 'relay.yaml'),
      `providers:\n  a: { type: openai, baseUrl: "${upstreamA.url}", apiKey: key-a-0123456789, responsesApi: true }\n  b: { type: openai, baseUrl: "${upstreamB.url}", apiKey: key-b-0123456789, responsesApi: true }\n${twoGroups}`,
    );
    const relay = await startIn(directory, oneRetry);
    const client = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
    // The Responses API's error event, after the keep-alive comment and before any event of a response.
    const failed = `event: error\ndata: ${JSON.stringify({ type: 'error', code: 'server_error', message: 'The server had an error while processing your request.', param: null, sequence_number: 0 })}\n\n`;
    upstreamA.next({ kind: 'events', events: [processing, wait(100), failed], done: false });
    const { data: stream, response } = await client.responses.create({ model: 'gpt-4.1', input: 'hi', stream: true }).withResponse();
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(response.headers.get('x-relay-provider')).toBe('b');
  });
});
