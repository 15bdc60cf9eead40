import Anthropic, { APIError as AnthropicAPIError } from '@anthropic-ai/sdk';
import OpenAI, { APIError, AuthenticationError, BadRequestError, NotFoundError } from 'openai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream, type Behaviour } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

const upstreamKey = 'sk-upstream-holysheep-secret-9f8e7d6c5b4a';

/**
 * Starts the upstream and a relay in front of it (with `env` added) for the enclosing describe block,
 * and hands both to `use`; stops them after the block, and forgets the upstream's requests before each test.
 */
function relayInFrontOf(upstream: MockOpenAIUpstream, env: Record<string, string>, use: (relay: StartedRelay, client: OpenAI) => void): void {
  let relay: StartedRelay | undefined;
  beforeAll(async () => {
    await upstream.start();
    relay = await startRelay({ HOLYSHEEP_API_KEY: upstreamKey, HOLYSHEEP_BASE_URL: upstream.url, ...env });
    use(relay, new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 }));
  });
  afterAll(async () => {
    await relay?.close();
    await upstream.stop();
  });
  beforeEach(() => upstream.reset());
}

describe('relay core through the official openai SDK', () => {
  const upstream = new MockOpenAIUpstream();
  let relay: StartedRelay;
  let client: OpenAI;
  relayInFrontOf(upstream, {}, (started, sdk) => {
    relay = started;
    client = sdk;
  });

  it('relays a chat completion, with the upstream key and the served model, never the client key', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hello' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('echo: hello');
    expect(data.usage?.total_tokens).toBe(18);
    expect(response.headers.get('x-relay-provider')).toBe('holysheep');
    expect(response.headers.get('x-relay-model')).toBe('gpt-4.1');
    expect(response.headers.get('x-relay-attempts')).toBe('1');
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const sent = upstream.requests[0]!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe(`Bearer ${upstreamKey}`);
    expect(JSON.stringify(sent.headers)).not.toContain(masterKey);
    expect(sent.body).toEqual({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hello' }] });
    // Without a stream, stream options are not sent (upstreams refuse them) and the stream stays off.
    await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'again' }], stream: false, stream_options: { include_usage: true } } as never);
    expect(upstream.requests[1]!.body).toEqual({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'again' }], stream: false });
  });

  it('maps the seed aliases (gpt-4 → gpt-4.1) and passes unknown fields through untouched', async () => {
    await client.chat.completions.create({
      model: 'gpt-4',
      messages: [{ role: 'user', content: 'hi' }],
      temperature: 0.7,
      max_tokens: 1000,
      // A field the relay does not know must reach the upstream as it is.
      ...({ vendor_extension: { nested: [1, 2, 3] } } as object),
    });
    const body = upstream.requests[0]!.body;
    expect(body.model).toBe('gpt-4.1');
    expect(body.temperature).toBe(0.7);
    expect(body.max_tokens).toBe(1000);
    expect(body.vendor_extension).toEqual({ nested: [1, 2, 3] });
  });

  it('streams text chunk by chunk, with usage when the client asks for it', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4.1',
      messages: [{ role: 'user', content: 'stream please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('word0 word1 word2 word3 word4 ');
    expect(usage).toEqual({ prompt_tokens: 9, completion_tokens: 5, total_tokens: 14 });
  });

  it('asks the upstream for usage on every stream but strips it when the client did not ask', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }], stream: true });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((chunk) => chunk.choices.length > 0)).toBe(true);
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
    expect(upstream.requests[0]!.body.stream_options).toEqual({ include_usage: true });
    // The relay still metered the stream from the upstream's usage chunk.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const access = relay.logs.filter((line) => line.msg === 'request' && line.stream === true).at(-1);
    expect(access?.completionTokens).toBe(5);
  });

  it('relays embeddings', async () => {
    const result = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] });
    expect(result.data).toHaveLength(2);
    expect(result.usage.prompt_tokens).toBe(8);
    expect(upstream.requests[0]!.path).toBe('/v1/embeddings');
  });

  it('relays legacy completions', async () => {
    const result = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say' });
    expect(result.choices[0]?.text).toBe(' completed');
    expect(upstream.requests[0]!.path).toBe('/v1/completions');
  });

  it('lists served models in the OpenAI list shape', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(expect.arrayContaining(['gpt-4.1', 'claude-sonnet-4', 'gemini-2.5-flash', 'deepseek-v3.2', 'gpt-4']));
    const one = await client.models.retrieve('gpt-4.1');
    expect(one).toMatchObject({ id: 'gpt-4.1', object: 'model' });
  });

  it('refuses a wrong key with AuthenticationError and says what to check', async () => {
    const stranger = new OpenAI({ apiKey: 'sk-not-a-relay-key-000000', baseURL: relay.baseURL, maxRetries: 0 });
    const error = await stranger.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).code).toBe('invalid_api_key');
    expect((error as AuthenticationError).message).toMatch(/key issued by this relay/);
    // The seed playbook's Error 1: "HTTP 401 response with 'Invalid API key' message".
    expect((error as AuthenticationError).message).toMatch(/^401 Invalid API key: sk-no…0000 is not a key of this relay/);
    expect(upstream.requests).toHaveLength(0);
  });

  it('accepts the key in x-api-key too, and refuses a request without any key', async () => {
    const withHeader = await request(`${relay.baseURL}/models`, { headers: { 'x-api-key': masterKey } });
    expect(withHeader.statusCode).toBe(200);
    await withHeader.body.dump();
    const without = await request(`${relay.baseURL}/models`);
    expect(without.statusCode).toBe(401);
    expect(((await without.body.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
  });

  it("answers an unknown model with the seed playbook's 400 \"Model not found\" and the closest served names", async () => {
    const error = await client.chat.completions.create({ model: 'gtp-4.1', messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    const notFound = error as BadRequestError;
    expect(notFound.status).toBe(400);
    expect(notFound.code).toBe('model_not_found');
    expect(notFound.param).toBe('model');
    expect(notFound.message).toMatch(/^400 Model not found: "gtp-4\.1"/);
    expect(notFound.message).toMatch(/Did you mean "gpt-4\.1"/);
    const typo = await client.chat.completions.create({ model: 'clade-sonnet-4', messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught);
    expect((typo as BadRequestError).message).toMatch(/"claude-sonnet-4"/);
    const embeddings = await client.embeddings.create({ model: 'no-such-embedder', input: 'x' }).catch((caught: unknown) => caught);
    expect(embeddings).toBeInstanceOf(BadRequestError);
    expect((embeddings as BadRequestError).code).toBe('model_not_found');
    // Looking the model up as a resource stays a 404, as OpenAI answers it.
    await expect(client.models.retrieve('gtp-4.1')).rejects.toBeInstanceOf(NotFoundError);
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers a bad body with BadRequestError naming the field', async () => {
    const missing = await client.chat.completions.create({ model: 'gpt-4.1' } as never).catch((caught: unknown) => caught);
    expect(missing).toBeInstanceOf(BadRequestError);
    expect((missing as BadRequestError).param).toBe('messages');
    expect((missing as BadRequestError).message).toMatch(/messages/);
    const wrongType = await client.chat.completions.create({ model: 42, messages: [] } as never).catch((caught: unknown) => caught);
    expect(wrongType).toBeInstanceOf(BadRequestError);
    expect((wrongType as BadRequestError).param).toBe('model');
    const badRole = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ content: 'x' }] } as never).catch((caught: unknown) => caught);
    expect((badRole as BadRequestError).param).toBe('messages[0].role');
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers malformed JSON with 400 and an oversized body with 413, both OpenAI-shaped', async () => {
    const malformed = await request(`${relay.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
      body: '{"model": "gpt-4.1", "messages": [',
    });
    expect(malformed.statusCode).toBe(400);
    const malformedBody = (await malformed.body.json()) as { error: Record<string, unknown> };
    expect(malformedBody.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json', param: null });
    expect(malformedBody.error.message).toMatch(/could not parse the JSON body/);

    // A blank body says so.
    const blank = await request(`${relay.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
      body: '  \n',
    });
    expect(blank.statusCode).toBe(400);
    expect(((await blank.body.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'invalid_json', message: expect.stringMatching(/body is empty/) });

    const oversized = await request(`${relay.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x'.repeat(51 * 1024 * 1024) }] }),
    });
    expect(oversized.statusCode).toBe(413);
    expect(((await oversized.body.json()) as { error: Record<string, unknown> }).error).toMatchObject({ type: 'invalid_request_error', code: 'request_too_large' });
    expect(upstream.requests).toHaveLength(0);
  });

  it('reads a body sent as form data (curl -d) or without a content type as the JSON it is', async () => {
    for (const contentType of ['application/x-www-form-urlencoded', 'application/json; charset=utf-8', undefined]) {
      const response = await request(`${relay.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${masterKey}`, ...(contentType === undefined ? {} : { 'content-type': contentType }) },
        body: JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: `sent as ${contentType}` }] }),
      });
      expect(response.statusCode).toBe(200);
      expect(((await response.body.json()) as { object: string }).object).toBe('chat.completion');
    }
    expect(upstream.requests.map((sent) => (sent.body as { messages: Array<{ content: string }> }).messages[0]?.content)).toEqual([
      'sent as application/x-www-form-urlencoded',
      'sent as application/json; charset=utf-8',
      'sent as undefined',
    ]);
  });

  it('keeps an incoming x-request-id', async () => {
    const response = await request(`${relay.baseURL}/models`, { headers: { authorization: `Bearer ${masterKey}`, 'x-request-id': 'trace-abc-123' } });
    await response.body.dump();
    expect(response.headers['x-request-id']).toBe('trace-abc-123');
  });

  it('retries an upstream 500 and succeeds, honouring retry-after-ms', async () => {
    upstream.next({ kind: 'status', status: 500, headers: { 'retry-after-ms': '20' } });
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'again' }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe('echo: again');
    expect(upstream.requests).toHaveLength(2);
    expect(response.headers.get('x-relay-attempts')).toBe('2');
  });

  it('retries a connection reset and a 429 with retry-after', async () => {
    upstream.next({ kind: 'reset' }, { kind: 'status', status: 429, headers: { 'retry-after': '0' }, body: { error: { message: 'slow down', type: 'requests', code: 'rate_limit_exceeded' } } });
    const { response } = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] }).withResponse();
    expect(response.headers.get('x-relay-attempts')).toBe('3');
    expect(upstream.requests).toHaveLength(3);
  });

  it('gives up after MAX_RETRIES with a 502 and a fixed message that leaks nothing', async () => {
    const failure = { kind: 'status' as const, status: 503, headers: { 'retry-after-ms': '1' }, body: { error: { message: `internal detail ${upstreamKey}` } } };
    upstream.next(failure, failure, failure, failure);
    const error = (await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught)) as APIError;
    expect(error.status).toBe(502);
    expect(error.code).toBe('upstream_error');
    expect(error.message).not.toContain('internal detail');
    expect(upstream.requests).toHaveLength(4); // one attempt and MAX_RETRIES=3 retries
    expect(relay.rawLogs()).not.toContain(upstreamKey);
    expect(relay.rawLogs()).not.toContain(masterKey);
  });

  it('passes an upstream 4xx through with its message, and does not retry it', async () => {
    upstream.next({ kind: 'status', status: 400, body: { error: { message: "Invalid value for 'temperature': must be <= 2.", type: 'invalid_request_error', param: 'temperature', code: 'invalid_value' } } });
    const error = (await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }], temperature: 5 }).catch((caught: unknown) => caught)) as BadRequestError;
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.message).toMatch(/must be <= 2/);
    expect(error.param).toBe('temperature');
    expect(upstream.requests).toHaveLength(1);
  });

  it("answers 502, not 401, when the upstream refuses the relay's own key", async () => {
    upstream.next({ kind: 'status', status: 401, body: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } } });
    const error = (await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught)) as APIError;
    expect(error.status).toBe(502);
    expect(error.code).toBe('upstream_auth_failed');
    expect(error.message).toMatch(/not your key/);
  });

  it("tells the SDKs not to retry a failure only the relay's operator can fix: the upstream refusing the relay's key, or its quota spent", async () => {
    // Both SDKs retry every 5xx twice by default: each retry would only repeat the failure upstream.
    const retrying = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL });
    const anthropic = new Anthropic({ apiKey: masterKey, baseURL: relay.url });
    const refusals: Behaviour[] = [
      { kind: 'status', status: 401, body: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } } },
      { kind: 'status', status: 429, body: { error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', code: 'insufficient_quota' } } },
    ];
    for (const [index, refusal] of refusals.entries()) {
      const code = index === 0 ? 'upstream_auth_failed' : 'upstream_quota_exhausted';
      upstream.reset();
      upstream.next(refusal, refusal, refusal);
      const error = (await retrying.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught)) as APIError;
      expect(error.status).toBe(502);
      expect(error.code).toBe(code);
      expect(error.headers?.get('x-should-retry')).toBe('false');
      expect(upstream.requests).toHaveLength(1);
      upstream.reset();
      upstream.next(refusal, refusal, refusal);
      const anthropicError = (await anthropic.messages.create({ model: 'gpt-4.1', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught)) as AnthropicAPIError;
      expect(anthropicError.status).toBe(502);
      expect(anthropicError.error).toMatchObject({ type: 'error', error: { type: 'api_error' } });
      expect(upstream.requests).toHaveLength(1);
    }
  });

  it('ends a stream cut by the upstream after its first byte with one OpenAI-shaped error event, without retrying', async () => {
    upstream.next({ kind: 'stream', chunks: 5, cutAfter: 2 });
    const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }], stream: true });
    let text = '';
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((caught: unknown) => caught);
    expect(text).toBe('word0 word1 ');
    expect(error).toBeInstanceOf(APIError);
    expect(upstream.requests).toHaveLength(1);
  });

  it('aborts the upstream request when the client goes away before a JSON answer, and logs the client as gone', async () => {
    upstream.next({ kind: 'hang' });
    const controller = new AbortController();
    const pending = client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'wait' }] }, { signal: controller.signal, maxRetries: 0 });
    await expect.poll(() => upstream.requests.length, { timeout: 5000 }).toBe(1);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await expect.poll(() => upstream.requests[0]?.aborted, { timeout: 5000 }).toBe(true);
    await expect.poll(() => relay.logs.filter((line) => line.msg === 'request').at(-1), { timeout: 5000 }).toMatchObject({ status: 499, errorCode: 'client_closed_request' });
  });

  it('aborts the upstream request when the client goes away mid-stream', async () => {
    upstream.next({ kind: 'stream', chunks: 200, delayMs: 20 });
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }], stream: true },
      { signal: controller.signal },
    );
    let received = 0;
    await (async () => {
      for await (const _chunk of stream) {
        received++;
        if (received === 3) controller.abort();
      }
    })().catch(() => undefined);
    await expect.poll(() => upstream.requests[0]?.aborted, { timeout: 5000 }).toBe(true);
  });

  it('reads a stream from the upstream only as fast as the client reads it, and loses nothing', async () => {
    // 4000 events of 16 KB: 64 MB, far more than the sockets between upstream, relay and client hold.
    const events = 4000;
    upstream.next({ kind: 'firehose', chunks: events, chunkBytes: 16_384 });
    const response = await request(`${relay.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }], stream: true }),
    });
    expect(response.statusCode).toBe(200);
    // The client reads nothing for a while: the upstream is held back, not drained into the relay's memory.
    await expect.poll(() => upstream.firehoseWritten, { timeout: 5000 }).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 700));
    const writtenWhileIdle = upstream.firehoseWritten;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(upstream.firehoseWritten).toBe(writtenWhileIdle);
    expect(writtenWhileIdle).toBeLessThan(events / 2);
    // Then it reads: every event arrives whole, in order, and the stream ends with [DONE].
    const received = (await response.body.text()).split('\n\n').filter((event) => event !== '');
    // Counted before asserting: a failure must not print 64 MB.
    const whole = received.filter((event) => event.startsWith('data: {') && event.endsWith('"finish_reason":null}]}') && event.includes(`"content":"${'x'.repeat(16_384)}"`)).length;
    expect({ whole, last: received.at(-1), count: received.length }).toEqual({ whole: events, last: 'data: [DONE]', count: events + 2 });
    expect(upstream.firehoseWritten).toBe(events);
  });
});

describe('per-attempt timeout (TIMEOUT_MS)', () => {
  const upstream = new MockOpenAIUpstream();
  let relay: StartedRelay;
  let client: OpenAI;
  relayInFrontOf(upstream, { TIMEOUT_MS: '300', MAX_RETRIES: '0' }, (started, sdk) => {
    relay = started;
    client = sdk;
  });

  it('answers 504 upstream_timeout when the upstream sends no status line in time', async () => {
    upstream.next({ kind: 'hang' });
    const error = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).status).toBe(504);
    expect((error as APIError).code).toBe('upstream_timeout');
  });

  it('ends a stream whose upstream goes quiet for longer than the timeout with one error event', async () => {
    // The first event leaves at once, the next only after a second: the stream is committed, then times out.
    upstream.next({ kind: 'stream', chunks: 3, delayMs: 1000 });
    const stream = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }], stream: true });
    let chunks = 0;
    const error = await (async () => {
      for await (const _chunk of stream) chunks++;
    })().catch((caught: unknown) => caught);
    expect(chunks).toBe(1);
    expect(error).toBeInstanceOf(APIError);
    expect(String((error as APIError).message)).toContain('did not answer in time');
    await expect.poll(() => relay.logs.filter((line) => line.msg === 'request').at(-1), { timeout: 5000 }).toMatchObject({ errorCode: 'upstream_timeout', stream: true });
  });
});

describe("a model's own timeout (models.<name>.timeoutMs)", () => {
  const upstream = new MockOpenAIUpstream();
  let relay: StartedRelay;
  let client: OpenAI;
  beforeAll(async () => {
    await upstream.start();
    const directory = mkdtempSync(join(tmpdir(), 'relay-route-timeout-'));
    // A reasoning model that may think for a while before each piece of its answer, beside the global 300 ms.
    writeFileSync(join(directory, 'relay.yaml'), 'models:\n  thinker: { timeoutMs: 2000, targets: [{ provider: holysheep, model: o3 }] }\n');
    relay = await startRelay({ HOLYSHEEP_API_KEY: upstreamKey, HOLYSHEEP_BASE_URL: upstream.url, TIMEOUT_MS: '300', MAX_RETRIES: '0' }, directory);
    client = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
  });
  afterAll(async () => {
    await relay.close();
    await upstream.stop();
  });
  beforeEach(() => upstream.reset());

  it('waits as long as the model allows between pieces of a JSON answer and of a stream, while other models keep the global timeout', async () => {
    upstream.next({ kind: 'trickle', pieces: 3, delayMs: 600 });
    const answer = await client.chat.completions.create({ model: 'thinker', messages: [{ role: 'user', content: 'think' }] });
    expect(answer.choices[0]!.message.content).toBe('echo: think');

    upstream.next({ kind: 'stream', chunks: 3, delayMs: 600 });
    let chunks = 0;
    for await (const _chunk of await client.chat.completions.create({ model: 'thinker', messages: [{ role: 'user', content: 'x' }], stream: true })) chunks++;
    expect(chunks).toBeGreaterThanOrEqual(3);

    upstream.next({ kind: 'trickle', pieces: 3, delayMs: 600 });
    const error = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'quick' }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).status).toBe(504);
  });
});
