import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockAnthropicUpstream } from './support/mock-anthropic-upstream.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { freePort, spawnRelay, type SpawnedRelay } from './support/spawn-relay.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

const master = 'sk-relay-secrets-test-master-0123456789';
const providerKey = 'sk-upstream-provider-key-0123456789';
const headerToken = 'upstream-header-token-0123456789';
const deploymentKey = 'sk-upstream-deployment-key-0123456789';

/** What an upstream (or a gateway in front of it) says when it quotes the request it refused. */
function quotingError(status: number, quoted: string) {
  return { kind: 'status' as const, status, body: { error: { message: `Invalid request; headers were: ${quoted}`, type: 'invalid_request_error', param: null, code: null } } };
}

describe('upstream credentials quoted back by an upstream', () => {
  const upstream = new MockOpenAIUpstream();
  let relay: SpawnedRelay;
  let client: OpenAI;

  beforeAll(async () => {
    await upstream.start();
    const cwd = mkdtempSync(join(tmpdir(), 'relay-secrets-'));
    writeFileSync(
      join(cwd, 'relay.yaml'),
      [
        'providers:',
        `  gateway: { type: openai, baseUrl: "${upstream.url}", apiKey: ${providerKey}, headers: { x-gateway-token: ${headerToken} } }`,
        'models:',
        '  shared-model: { targets: [{ provider: gateway, model: upstream-model }] }',
        `  own-key-model: { targets: [{ provider: gateway, model: upstream-model, apiKey: ${deploymentKey} }] }`,
      ].join('\n'),
    );
    const port = await freePort();
    relay = spawnRelay(['serve', '--drain-delay-ms', '0'], { cwd, env: { PORT: String(port), HOST: '127.0.0.1', RELAY_MASTER_KEY: master, LOG_LEVEL: 'debug', MAX_RETRIES: '0' } });
    await relay.waitForLog(/relay listening/);
    client = new OpenAI({ apiKey: master, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
  });

  afterAll(async () => {
    relay.child.kill('SIGTERM');
    await relay.exited;
    await upstream.stop();
  });

  const refusal = async (model: string, stream = false) => {
    const error = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }], stream }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    return (error as InstanceType<typeof OpenAI.BadRequestError>).message;
  };

  it("passes an upstream's 400 through without the provider's key or its credential header", async () => {
    upstream.next(quotingError(400, `authorization: Bearer ${providerKey}; x-gateway-token: ${headerToken}`));
    const message = await refusal('shared-model');
    expect(upstream.requests.at(-1)?.headers['x-gateway-token']).toBe(headerToken);
    expect(message).toContain('Invalid request; headers were: authorization: Bearer [REDACTED]; x-gateway-token: [REDACTED]');
    expect(message).not.toContain(providerKey);
    expect(message).not.toContain(headerToken);
  });

  it("does the same for a deployment's own key, streamed or not", async () => {
    upstream.next(quotingError(400, `authorization: Bearer ${deploymentKey}`), quotingError(404, `Bearer ${deploymentKey}`));
    const json = await refusal('own-key-model');
    expect(upstream.requests.at(-1)?.headers.authorization).toBe(`Bearer ${deploymentKey}`);
    const streamed = await client.chat.completions.create({ model: 'own-key-model', messages: [{ role: 'user', content: 'x' }], stream: true }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(streamed).toBeInstanceOf(OpenAI.NotFoundError);
    for (const message of [json, (streamed as Error).message]) {
      expect(message).toContain('Bearer [REDACTED]');
      expect(message).not.toContain(deploymentKey);
    }
  });

  it("keeps the credentials out of an upstream error's type, param and code too", async () => {
    const quoted = { error: { message: 'Refused.', type: `header ${providerKey}`, param: `authorization: Bearer ${providerKey}`, code: `token_${headerToken}` } };
    upstream.next({ kind: 'status', status: 400, body: quoted });
    const error = await client.chat.completions.create({ model: 'shared-model', messages: [{ role: 'user', content: 'x' }] }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const refusal = (error as InstanceType<typeof OpenAI.BadRequestError>).error as Record<string, unknown>;
    expect(refusal).toMatchObject({ message: 'Refused.', type: 'header [REDACTED]', param: 'authorization: Bearer [REDACTED]', code: 'token_[REDACTED]' });
    expect(JSON.stringify(refusal)).not.toContain(providerKey);
    expect(JSON.stringify(refusal)).not.toContain(headerToken);
  });

  it('keeps every upstream credential out of the log, at debug level too', async () => {
    upstream.next(quotingError(500, `Bearer ${deploymentKey}, x-gateway-token: ${headerToken}`));
    await client.chat.completions.create({ model: 'own-key-model', messages: [{ role: 'user', content: 'x' }] }).catch(() => undefined);
    await relay.waitForLog(/"status":502/);
    const log = relay.stdout() + relay.stderr();
    expect(log).toContain('Bearer [REDACTED], x-gateway-token: [REDACTED]');
    for (const secret of [master, providerKey, headerToken, deploymentKey]) expect(log).not.toContain(secret);
  });
});

describe('upstream credentials quoted in an error event of a stream that is passed through', () => {
  const openaiKey = 'sk-upstream-openai-stream-0123456789';
  const anthropicKey = 'sk-ant-upstream-stream-0123456789';
  const openaiUpstream = new MockOpenAIUpstream();
  const anthropicUpstream = new MockAnthropicUpstream();
  let relay: StartedRelay;
  let client: OpenAI;

  beforeAll(async () => {
    await Promise.all([openaiUpstream.start(), anthropicUpstream.start()]);
    relay = await startRelay({ OPENAI_API_KEY: openaiKey, OPENAI_BASE_URL: openaiUpstream.url, ANTHROPIC_API_KEY: anthropicKey, ANTHROPIC_BASE_URL: anthropicUpstream.origin, MAX_RETRIES: '0' });
    client = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
  });
  afterAll(async () => {
    await relay.close();
    await Promise.all([openaiUpstream.stop(), anthropicUpstream.stop()]);
  });

  /** The whole body of a streamed request, as the client's socket got it. */
  const rawStream = async (path: string, body: Record<string, unknown>): Promise<string> => {
    const response = await fetch(`${relay.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, stream: true }),
    });
    return response.text();
  };
  const caught = (work: () => Promise<unknown>): Promise<unknown> => work().then(() => undefined, (error: unknown) => error);

  const responsesEvent = (type: string, sequence: number, payload: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence, ...payload })}\n\n`;
  const created = responsesEvent('response.created', 0, { response: { id: 'resp_err', object: 'response', status: 'in_progress', output: [] } });
  const delta = responsesEvent('response.output_text.delta', 1, { item_id: 'msg_err', output_index: 0, content_index: 0, delta: 'Partial ' });
  const errorEvent = responsesEvent('error', 2, { code: 'invalid_api_key', message: `Incorrect API key provided: ${openaiKey}.`, param: null });
  /** The error event in two network writes, cut inside the key. */
  const errorInTwo = [errorEvent.slice(0, errorEvent.indexOf(openaiKey) + 10), errorEvent.slice(errorEvent.indexOf(openaiKey) + 10)];

  it('redacts the key in a Responses API `error` event, even one cut between reads', async () => {
    openaiUpstream.next({ kind: 'events', events: [created, delta, ...errorInTwo], done: false });
    const stream = await client.responses.create({ model: 'gpt-4.1', input: 'hi', stream: true });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    expect(events.map((event) => event.type)).toEqual(['response.created', 'response.output_text.delta', 'error']);
    expect(events.at(-1)).toMatchObject({ code: 'invalid_api_key', message: 'Incorrect API key provided: [REDACTED].' });

    openaiUpstream.next({ kind: 'events', events: [created, delta, ...errorInTwo], done: false });
    const raw = await rawStream('/v1/responses', { model: 'gpt-4.1', input: 'hi' });
    expect(raw).not.toContain(openaiKey);
    expect(raw).toContain(`${created}${delta}event: error\ndata: `);
  });

  it('redacts the key in a `response.failed` event', async () => {
    const failed = responsesEvent('response.failed', 2, {
      response: { id: 'resp_err', object: 'response', status: 'failed', output: [], error: { code: 'server_error', message: `upstream said: Bearer ${openaiKey}` }, usage: null },
    });
    openaiUpstream.next({ kind: 'events', events: [created, delta, failed], done: false });
    const stream = await client.responses.create({ model: 'gpt-4.1', input: 'hi', stream: true });
    let last: OpenAI.Responses.ResponseStreamEvent | undefined;
    for await (const event of stream) last = event;
    expect(last?.type).toBe('response.failed');
    expect((last as OpenAI.Responses.ResponseFailedEvent).response.error?.message).toBe('upstream said: Bearer [REDACTED]');
    openaiUpstream.next({ kind: 'events', events: [created, delta, failed], done: false });
    expect(await rawStream('/v1/responses', { model: 'gpt-4.1', input: 'hi' })).not.toContain(openaiKey);
  });

  it('redacts the key in a legacy completions stream error event, and leaves the other events as they came', async () => {
    const text = { id: 'cmpl-err', object: 'text_completion', created: 1, model: 'gpt-3.5-turbo-instruct', choices: [{ text: 'an error-free start', index: 0, logprobs: null, finish_reason: null }] };
    const error = { error: { message: `The server had an error; request headers: authorization: Bearer ${openaiKey}`, type: 'server_error', param: null, code: null } };
    openaiUpstream.next({ kind: 'events', events: [text, error], done: false });
    const stream = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say', stream: true });
    const texts: string[] = [];
    const failure = await caught(async () => {
      for await (const chunk of stream) texts.push(chunk.choices[0]?.text ?? '');
    });
    expect(texts).toEqual(['an error-free start']);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as Error).message).toContain('authorization: Bearer [REDACTED]');
    expect((failure as Error).message).not.toContain(openaiKey);

    openaiUpstream.next({ kind: 'events', events: [text, error], done: false });
    const raw = await rawStream('/v1/completions', { model: 'gpt-3.5-turbo-instruct', prompt: 'Say' });
    expect(raw.startsWith(`data: ${JSON.stringify(text)}\n\n`)).toBe(true);
    expect(raw).not.toContain(openaiKey);
  });

  it('never relays a chat stream error event: the client gets the relay’s own, before or after the first byte', async () => {
    const error = { error: { message: `Bearer ${openaiKey} was refused`, type: 'server_error', param: null, code: null } };
    const chunk = { id: 'chatcmpl-err', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }] };
    for (const events of [[error], [chunk, error]]) {
      openaiUpstream.next({ kind: 'events', events, done: false });
      const raw = await rawStream('/v1/chat/completions', { model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] });
      expect(raw).toContain('"code":"upstream_error"');
      expect(raw).not.toContain(openaiKey);
    }
  });

  it("redacts the key in an Anthropic `error` event relayed on /v1/messages", async () => {
    anthropicUpstream.next({ kind: 'stream-error', errorType: 'authentication_error', message: `invalid x-api-key: ${anthropicKey}` });
    const anthropic = new Anthropic({ apiKey: masterKey, baseURL: relay.url, maxRetries: 0 });
    const error = await caught(() => anthropic.messages.stream({ model: 'claude-sonnet-4', max_tokens: 100, messages: [{ role: 'user', content: 'long' }] }).finalMessage());
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as Error).message).toContain('invalid x-api-key: [REDACTED]');
    expect((error as Error).message).not.toContain(anthropicKey);

    anthropicUpstream.next({ kind: 'stream-error', errorType: 'authentication_error', message: `invalid x-api-key: ${anthropicKey}` });
    expect(await rawStream('/v1/messages', { model: 'claude-sonnet-4', max_tokens: 100, messages: [{ role: 'user', content: 'long' }] })).not.toContain(anthropicKey);
  });
});

describe('an upstream URL with a user name and password', () => {
  it('is refused by relay check-config and relay serve, naming where it is and never printing the password', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-url-credentials-'));
    writeFileSync(join(cwd, 'relay.yaml'), 'providers:\n  vllm: { type: openai, baseUrl: "http://relay:url-password-0123456789@vllm.internal:8000/v1", apiKey: none }\n');
    const env = { RELAY_MASTER_KEY: master, HOLYSHEEP_API_KEY: providerKey, HOLYSHEEP_BASE_URL: 'https://user:env-password-0123456789@gateway.example/v1' };
    for (const command of ['check-config', 'serve']) {
      const run = spawnRelay([command], { cwd, env: { ...env, PORT: String(await freePort()) } });
      expect(await run.exited).toBe(2);
      const output = run.stdout() + run.stderr();
      expect(output).toContain('providers.vllm.baseUrl: the URL carries a user name or password (http://vllm.internal:8000…)');
      expect(output).toContain('HOLYSHEEP_BASE_URL: the URL carries a user name or password (https://gateway.example…)');
      expect(output).not.toContain('password-0123456789');
    }
  });
});

describe('a configuration error about a credential', () => {
  it('says what kind of value is wrong without printing it', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-secret-values-'));
    // YAML reads unquoted digits as numbers: the schema refuses them, and must not quote them.
    writeFileSync(join(cwd, 'relay.yaml'), 'providers:\n  x: { type: openai, baseUrl: "http://127.0.0.1:9/v1", apiKey: 918273645546372819, headers: { x-token: 5647382910564738 } }\nkeys:\n  - { name: a, key: 1029384756102938 }\n');
    const run = spawnRelay(['check-config'], { cwd, env: { RELAY_MASTER_KEY: master } });
    expect(await run.exited).toBe(2);
    const output = run.stdout() + run.stderr();
    expect(output).toContain('providers.x.apiKey: Expected string, got a number (not shown).');
    expect(output).toContain('providers.x.headers.x-token: Expected string, got a number (not shown).');
    expect(output).toContain('keys[0].key: Expected string, got a number (not shown).');
    for (const digits of ['9182736455', '5647382910', '1029384756']) expect(output).not.toContain(digits);
  });
});

describe('relay doctor', () => {
  const upstream = new MockOpenAIUpstream();
  beforeAll(async () => {
    await upstream.start();
  });
  afterAll(async () => {
    await upstream.stop();
  });

  it("never prints a provider's credential header that the upstream quotes back", async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'relay-doctor-headers-'));
    writeFileSync(join(cwd, 'relay.yaml'), `providers:\n  gateway: { type: openai, baseUrl: "${upstream.url}", headers: { x-gateway-token: ${headerToken} } }\n`);
    upstream.next(quotingError(401, `x-gateway-token: ${headerToken}`));
    const run = spawnRelay(['doctor'], { cwd, env: { RELAY_MASTER_KEY: master } });
    await run.exited;
    expect(upstream.requests[0]?.headers['x-gateway-token']).toBe(headerToken);
    const output = run.stdout() + run.stderr();
    expect(output).toMatch(/upstream gateway key/);
    expect(output).toContain('x-gateway-token: [redacted]');
    expect(output).not.toContain(headerToken);
  });
});
