import Anthropic, { InternalServerError as AnthropicInternalServerError, NotFoundError as AnthropicNotFoundError } from '@anthropic-ai/sdk';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { InternalServerError, NotFoundError } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

const emptyKey = 'sk-upstream-empty-page-0a1b2c3d4e5f';
const htmlKey = 'sk-upstream-html-page-6a7b8c9d0e1f';
const goodKey = 'sk-upstream-good-2b3c4d5e6f7a';

/** What a client caught, or undefined when the call succeeded. */
async function caught(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('an upstream base URL without its /v1', () => {
  // Two vendors behind web servers that serve the API under /v1 only: one answers other paths with
  // an empty 404, the other with nginx's HTML page. The relay is given their URLs without /v1.
  const emptyUpstream = new MockOpenAIUpstream();
  const htmlUpstream = new MockOpenAIUpstream();
  const goodUpstream = new MockOpenAIUpstream();
  let relay: StartedRelay;
  let emptyRoot: string;
  let htmlRoot: string;
  // The SDKs' own retries stay on (twice by default): `x-should-retry: false` must stop them.
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    await emptyUpstream.start();
    await htmlUpstream.start();
    await goodUpstream.start();
    emptyUpstream.serveOnlyUnderV1('empty');
    htmlUpstream.serveOnlyUnderV1('html');
    emptyRoot = emptyUpstream.url.replace(/\/v1$/, '');
    htmlRoot = htmlUpstream.url.replace(/\/v1$/, '');
    const directory = mkdtempSync(join(tmpdir(), 'relay-base-url-'));
    writeFileSync(
      join(directory, 'relay.yaml'),
      [
        'providers:',
        `  emptypage: { type: openai, baseUrl: "${emptyRoot}", apiKey: ${emptyKey} }`,
        `  htmlpage: { type: openai, baseUrl: "${htmlRoot}", apiKey: ${htmlKey} }`,
        `  good: { type: openai, baseUrl: "${goodUpstream.url}", apiKey: ${goodKey} }`,
        'models:',
        '  gpt-empty: { targets: [{ provider: emptypage, model: gpt-4.1 }] }',
        '  gpt-html: { targets: [{ provider: htmlpage, model: gpt-4.1 }] }',
        '  gpt-good: { targets: [{ provider: good, model: gpt-4.1 }] }',
        '  gpt-failover:',
        '    groups:',
        '      - targets: [{ provider: htmlpage, model: gpt-4o }]',
        '      - targets: [{ provider: good, model: gpt-4.1 }]',
        '',
      ].join('\n'),
    );
    relay = await startRelay({}, directory);
    openai = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL });
    anthropic = new Anthropic({ apiKey: masterKey, baseURL: relay.url });
  });

  afterAll(async () => {
    await relay?.close();
    await emptyUpstream.stop();
    await htmlUpstream.stop();
    await goodUpstream.stop();
  });

  beforeEach(() => {
    for (const upstream of [emptyUpstream, htmlUpstream, goodUpstream]) upstream.requests.length = 0;
  });

  /** Checks the client's error: a 502 the operator must fix, naming the provider, without the URL or a key. */
  function expectEndpointFailure(error: unknown, provider: string): void {
    expect(error).toBeInstanceOf(InternalServerError);
    const apiError = error as InstanceType<typeof InternalServerError>;
    expect(apiError.status).toBe(502);
    expect(apiError.headers?.get('x-should-retry')).toBe('false');
    expect(apiError.type).toBe('server_error');
    expect(apiError.code).toBe('upstream_endpoint_not_found');
    expect(apiError.message).toContain(`provider "${provider}" answered 404`);
    expect(apiError.message).toContain("base URL is most likely wrong (often a missing /v1). This is not your request: tell the relay's operator");
    for (const hidden of [emptyRoot, htmlRoot, emptyKey, htmlKey, '<html>']) expect(apiError.message).not.toContain(hidden);
  }

  it('answers a chat completion with 502 upstream_endpoint_not_found, neither retried by the relay nor by the SDK, and logs the URL for the operator', async () => {
    for (const [model, provider, upstream, root] of [
      ['gpt-empty', 'emptypage', emptyUpstream, emptyRoot],
      ['gpt-html', 'htmlpage', htmlUpstream, htmlRoot],
    ] as const) {
      const error = await caught(openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }));
      expectEndpointFailure(error, provider);
      expect(upstream.requests.map((request) => request.path)).toEqual(['/chat/completions']);
      const logged = relay.logs.find((line) => line.msg === 'upstream attempt failed' && String(line.detail).includes(`${root}/chat/completions`));
      expect(logged).toMatchObject({ reason: 'endpoint_not_found', status: 404 });
      expect(String(logged?.detail)).toContain("check the provider's base URL");
    }
    expect(relay.rawLogs()).not.toContain(emptyKey);
    expect(relay.rawLogs()).not.toContain(htmlKey);
  });

  it('does the same for a stream, embeddings and the Responses API', async () => {
    expectEndpointFailure(await caught(openai.chat.completions.create({ model: 'gpt-empty', messages: [{ role: 'user', content: 'hi' }], stream: true })), 'emptypage');
    expectEndpointFailure(await caught(openai.embeddings.create({ model: 'gpt-html', input: 'hi' })), 'htmlpage');
    expectEndpointFailure(await caught(openai.responses.create({ model: 'gpt-empty', input: 'hi' })), 'emptypage');
    expect(emptyUpstream.requests.map((request) => request.path)).toEqual(['/chat/completions', '/chat/completions']);
    expect(htmlUpstream.requests.map((request) => request.path)).toEqual(['/embeddings']);
  });

  it('answers /v1/messages with an Anthropic 502 api_error that the Anthropic SDK does not retry', async () => {
    const error = await caught(anthropic.messages.create({ model: 'gpt-html', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }));
    expect(error).toBeInstanceOf(AnthropicInternalServerError);
    const apiError = error as InstanceType<typeof AnthropicInternalServerError>;
    expect(apiError.status).toBe(502);
    expect(apiError.headers?.get('x-should-retry')).toBe('false');
    expect(apiError.error).toMatchObject({ type: 'error', error: { type: 'api_error', message: expect.stringContaining('provider "htmlpage" answered 404') } });
    expect(htmlUpstream.requests).toHaveLength(1);
  });

  it('fails over to the next deployment, and keeps the failed one out of the next requests', async () => {
    const first = await openai.chat.completions.create({ model: 'gpt-failover', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(first.response.headers.get('x-relay-attempts')).toBe('2');
    expect(first.response.headers.get('x-relay-provider')).toBe('good');
    expect(htmlUpstream.requests).toHaveLength(1);
    const second = await openai.chat.completions.create({ model: 'gpt-failover', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(second.response.headers.get('x-relay-attempts')).toBe('1');
    expect(second.response.headers.get('x-relay-provider')).toBe('good');
    expect(htmlUpstream.requests).toHaveLength(1);
    expect(goodUpstream.requests).toHaveLength(2);
  });

  it("passes an upstream's own 404 through as before: a model the upstream does not know", async () => {
    const modelNotFound = { error: { message: 'The model `gpt-4.1` does not exist or you do not have access to it.', type: 'invalid_request_error', param: null, code: 'model_not_found' } };
    goodUpstream.next({ kind: 'status', status: 404, body: modelNotFound }, { kind: 'status', status: 404, body: modelNotFound });
    const error = await caught(openai.chat.completions.create({ model: 'gpt-good', messages: [{ role: 'user', content: 'hi' }] }));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ status: 404, code: 'model_not_found', message: `404 ${modelNotFound.error.message}` });
    const anthropicError = await caught(anthropic.messages.create({ model: 'gpt-good', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }));
    expect(anthropicError).toBeInstanceOf(AnthropicNotFoundError);
    expect((anthropicError as InstanceType<typeof AnthropicNotFoundError>).error).toMatchObject({ error: { type: 'not_found_error', message: modelNotFound.error.message } });
    expect(goodUpstream.requests).toHaveLength(2);
  });

  it("passes through the 404 a FastAPI server answers for a model it does not serve ({detail}), but not FastAPI's own route 404", async () => {
    goodUpstream.next({ kind: 'status', status: 404, body: { detail: "Model 'gpt-4.1' not found" } }, { kind: 'status', status: 404, body: { detail: 'Not Found' } });
    const error = await caught(openai.chat.completions.create({ model: 'gpt-good', messages: [{ role: 'user', content: 'hi' }] }));
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).message).toContain("Model 'gpt-4.1' not found");
    expectEndpointFailure(await caught(openai.chat.completions.create({ model: 'gpt-good', messages: [{ role: 'user', content: 'hi' }] })), 'good');
    expect(goodUpstream.requests).toHaveLength(2);
  });

  it('reads OpenAI\'s own "Invalid URL" 404 as a wrong base URL too', async () => {
    goodUpstream.next({ kind: 'status', status: 404, body: { error: { message: 'Invalid URL (POST /chat/completions)', type: 'invalid_request_error', param: null, code: null } } });
    expectEndpointFailure(await caught(openai.chat.completions.create({ model: 'gpt-good', messages: [{ role: 'user', content: 'hi' }] })), 'good');
    expect(goodUpstream.requests).toHaveLength(1);
  });
});
