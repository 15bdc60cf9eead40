import Anthropic, {
  APIError as AnthropicAPIError,
  AuthenticationError as AnthropicAuthenticationError,
  BadRequestError as AnthropicBadRequestError,
  NotFoundError as AnthropicNotFoundError,
} from '@anthropic-ai/sdk';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import OpenAI, { APIError, BadRequestError } from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SseParser } from '../src/sse/sse-parser.js';
import { cacheWriteTokensPerBreakpoint, MockAnthropicUpstream } from './support/mock-anthropic-upstream.js';
import { MockOpenAIUpstream, openaiMaxStopSequences, openaiUserMaxLength } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';
import { adminJson } from './support/limited-relay.js';

const anthropicKey = 'sk-ant-upstream-secret-1a2b3c4d5e6f';
const holysheepKey = 'sk-upstream-holysheep-secret-9f8e7d6c5b4a';
const claude = 'claude-sonnet-4';
const searchTool = {
  type: 'function' as const,
  function: {
    name: 'search_docs',
    description: 'Searches the documentation',
    parameters: { type: 'object', properties: { query: { type: 'string' }, limit: { type: 'integer' } }, required: ['query'] },
  },
};
const weatherTool = { name: 'get_weather', description: 'Weather by city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] } };

/** Event names of a raw `/v1/messages` stream, as the wire carries them. */
async function streamEventNames(url: string, body: Record<string, unknown>): Promise<{ names: string[]; events: Array<{ event?: string; data: string }> }> {
  const response = await request(`${url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': masterKey, 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }) });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/event-stream/);
  const parser = new SseParser();
  const events: Array<{ event?: string; data: string }> = [];
  for await (const chunk of response.body) events.push(...parser.push(chunk as Buffer));
  return { names: events.map((event) => event.event ?? ''), events };
}

async function fetchMessagesAt(base: string, body: unknown) {
  const response = await request(`${base}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': masterKey, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify(body),
  });
  await response.body.dump();
  return response;
}

describe('Anthropic upstream and /v1/messages front door', () => {
  const anthropicUpstream = new MockAnthropicUpstream();
  const openaiUpstream = new MockOpenAIUpstream();
  let relay: StartedRelay;
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    await anthropicUpstream.start();
    await openaiUpstream.start();
    relay = await startRelay({ ANTHROPIC_API_KEY: anthropicKey, ANTHROPIC_BASE_URL: anthropicUpstream.origin, HOLYSHEEP_API_KEY: holysheepKey, HOLYSHEEP_BASE_URL: openaiUpstream.url });
    openai = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
    anthropic = new Anthropic({ apiKey: masterKey, baseURL: relay.url, maxRetries: 0 });
  });
  afterAll(async () => {
    await relay.close();
    await anthropicUpstream.stop();
    await openaiUpstream.stop();
  });
  beforeEach(() => {
    anthropicUpstream.reset();
    openaiUpstream.reset();
  });
  const fetchMessages = (body: unknown) => fetchMessagesAt(relay.url, body);

  describe('OpenAI SDK → Claude on an Anthropic upstream', () => {
    it('translates a chat completion, with the upstream key, headers, system prompt, default max_tokens and usage', async () => {
      const { data, response } = await openai.chat.completions
        .create({ model: claude, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello' }], temperature: 0.5, user: 'end-user-1' })
        .withResponse();
      expect(data.choices[0]?.message.content).toBe('echo: hello');
      expect(data.choices[0]?.finish_reason).toBe('stop');
      expect(data.usage).toEqual({ prompt_tokens: 17, completion_tokens: 6, total_tokens: 23, prompt_tokens_details: { cached_tokens: 3, cache_write_tokens: 2 } });
      expect(response.headers.get('x-relay-provider')).toBe('anthropic');
      expect(response.headers.get('x-relay-model')).toBe('claude-sonnet-4-0');
      const sent = anthropicUpstream.requests[0]!;
      expect(sent.path).toBe('/v1/messages');
      expect(sent.headers['x-api-key']).toBe(anthropicKey);
      expect(sent.headers['anthropic-version']).toBe('2023-06-01');
      expect(sent.headers.authorization).toBeUndefined();
      expect(JSON.stringify(sent.headers)).not.toContain(masterKey);
      expect(sent.body).toEqual({
        model: 'claude-sonnet-4-0',
        system: 'Be brief.',
        max_tokens: 64_000,
        temperature: 0.5,
        metadata: { user_id: 'end-user-1' },
        messages: [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }],
      });
    });

    it("passes prompt-cache breakpoints (cache_control in OpenAI's format) to Claude, and reports the cache's tokens", async () => {
      const ephemeral = { type: 'ephemeral' as const };
      // cache_control is Anthropic's, not in OpenAI's types: sent as clients that know Anthropic send it.
      const messages = [
        { role: 'system', content: [{ type: 'text', text: 'A long reference manual.', cache_control: ephemeral }] },
        { role: 'user', content: [{ type: 'text', text: 'A long document.', cache_control: ephemeral }, { type: 'text', text: 'Summarise it.' }] },
      ] as unknown as OpenAI.ChatCompletionMessageParam[];
      const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } }, cache_control: ephemeral }] as unknown as OpenAI.ChatCompletionTool[];
      const { data, response } = await openai.chat.completions.create({ model: claude, messages, tools, tool_choice: 'none' }).withResponse();
      expect(response.headers.get('x-relay-dropped-params')).toBeNull();
      // Three 5-minute breakpoints: the mock writes a prefix for each, as Anthropic does on a first request.
      expect(data.usage?.prompt_tokens_details).toEqual({ cached_tokens: 0, cache_write_tokens: 3 * cacheWriteTokensPerBreakpoint['5m'] });
      const sent = anthropicUpstream.requests[0]!.body;
      expect(sent.system).toEqual([{ type: 'text', text: 'A long reference manual.', cache_control: ephemeral }]);
      expect(sent.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'A long document.', cache_control: ephemeral }, { type: 'text', text: 'Summarise it.' }] }]);
      expect(sent.tools).toEqual([{ name: 'lookup', input_schema: { type: 'object', properties: {} }, cache_control: ephemeral }]);
    });

    it('streams with include_usage: role first, text, finish reason, then a usage-only chunk', async () => {
      const stream = await openai.chat.completions.create({ model: claude, messages: [{ role: 'user', content: 'stream please' }], stream: true, stream_options: { include_usage: true } });
      const chunks: OpenAI.ChatCompletionChunk[] = [];
      for await (const chunk of stream) chunks.push(chunk);
      expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
      expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('echo: stream please');
      expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
      expect(chunks.at(-1)?.choices).toEqual([]);
      expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 17, completion_tokens: 6, total_tokens: 23 });
      expect(anthropicUpstream.requests[0]!.body.stream).toBe(true);
    });

    it('strips the usage chunk when the client did not ask, and still meters the stream', async () => {
      const stream = await openai.chat.completions.create({ model: claude, messages: [{ role: 'user', content: 'x' }], stream: true });
      const chunks: OpenAI.ChatCompletionChunk[] = [];
      for await (const chunk of stream) chunks.push(chunk);
      expect(chunks.every((chunk) => chunk.choices.length > 0 && !chunk.usage)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const access = relay.logs.filter((line) => line.msg === 'request' && line.provider === 'anthropic' && line.stream === true).at(-1);
      expect(access).toMatchObject({ promptTokens: 17, completionTokens: 6 });
    });

    it('runs a full tool-call round trip', async () => {
      const first = await openai.chat.completions.create({ model: claude, messages: [{ role: 'user', content: 'find relay docs' }], tools: [searchTool], tool_choice: 'auto', parallel_tool_calls: false });
      const choice = first.choices[0]!;
      expect(choice.finish_reason).toBe('tool_calls');
      expect(choice.message.content).toBe('Let me look that up.');
      const call = choice.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
      expect(call.id).toBe('toolu_mock_search_docs');
      expect(call.function.name).toBe('search_docs');
      expect(JSON.parse(call.function.arguments)).toEqual({ query: 'find relay docs', limit: 3 });
      expect(anthropicUpstream.requests[0]!.body).toMatchObject({
        tools: [{ name: 'search_docs', description: 'Searches the documentation', input_schema: searchTool.function.parameters }],
        tool_choice: { type: 'auto', disable_parallel_tool_use: true },
      });
      const second = await openai.chat.completions.create({
        model: claude,
        messages: [{ role: 'user', content: 'find relay docs' }, choice.message, { role: 'tool', tool_call_id: call.id, content: '42 results' }],
        tools: [searchTool],
      });
      expect(second.choices[0]?.message.content).toBe('tool said: 42 results');
      const sent = anthropicUpstream.requests[1]!.body.messages as Array<{ role: string; content: unknown[] }>;
      expect(sent[1]).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'Let me look that up.' }, { type: 'tool_use', id: call.id, name: 'search_docs', input: { query: 'find relay docs', limit: 3 } }] });
      expect(sent[2]).toEqual({ role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '42 results' }] });
    });

    it('streams a tool call with its id and name on the first delta and index 0', async () => {
      const stream = await openai.chat.completions.create({ model: claude, messages: [{ role: 'user', content: 'weather?' }], tools: [searchTool], stream: true });
      const deltas: OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
      let finish: string | null | undefined;
      for await (const chunk of stream) {
        deltas.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      expect(deltas[0]).toMatchObject({ index: 0, id: 'toolu_mock_search_docs', function: { name: 'search_docs' } });
      expect(deltas.every((delta) => delta.index === 0)).toBe(true);
      expect(JSON.parse(deltas.map((delta) => delta.function?.arguments ?? '').join(''))).toEqual({ query: 'weather?', limit: 3 });
      expect(finish).toBe('tool_calls');
    });

    it("sends tool call ids Anthropic refuses (another model's, such as Kimi's functions.get_weather:0) as ids it takes, the same in the call and its result", async () => {
      const kimiId = 'functions.search_docs:0';
      const completion = await openai.chat.completions.create({
        model: claude,
        tools: [searchTool],
        messages: [
          { role: 'user', content: 'Find the setup guide' },
          { role: 'assistant', content: null, tool_calls: [{ id: kimiId, type: 'function', function: { name: 'search_docs', arguments: '{"query":"setup"}' } }] },
          { role: 'tool', tool_call_id: kimiId, content: 'setup.md' },
        ],
      });
      expect(completion.choices[0]!.message.content).toBe('tool said: setup.md');
      expect(anthropicUpstream.requests[0]!.body.messages).toEqual([
        { role: 'user', content: [{ type: 'text', text: 'Find the setup guide' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'functions_search_docs_0', name: 'search_docs', input: { query: 'setup' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'functions_search_docs_0', content: 'setup.md' }] },
      ]);
    });

    it('streams a tool called without arguments with "{}" as its arguments, as in the JSON answer', async () => {
      const clock = { type: 'function' as const, function: { name: 'current_time', parameters: { type: 'object', properties: {} } } };
      const reply = { kind: 'reply' as const, content: [{ type: 'tool_use', id: 'toolu_clock', name: 'current_time', input: {} }], stopReason: 'tool_use' };
      anthropicUpstream.next(reply, reply);
      const request = { model: claude, messages: [{ role: 'user' as const, content: 'what time is it?' }], tools: [clock] };
      const streamed = await openai.chat.completions.stream(request).finalChatCompletion();
      const json = await openai.chat.completions.create(request);
      for (const completion of [streamed, json]) {
        const call = completion.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
        expect(call).toMatchObject({ id: 'toolu_clock', function: { name: 'current_time', arguments: '{}' } });
        expect(completion.choices[0]!.finish_reason).toBe('tool_calls');
      }
    });

    it('sends images: data URLs as base64 sources, http URLs as url sources', async () => {
      const result = await openai.chat.completions.create({
        model: claude,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what is this' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
              { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
            ],
          },
        ],
      });
      expect(result.choices[0]?.message.content).toBe('echo: what is this [images: base64 image/png, url https://example.com/cat.jpg]');
      const content = (anthropicUpstream.requests[0]!.body.messages as Array<{ content: unknown }>)[0]!.content;
      expect(content).toEqual([
        { type: 'text', text: 'what is this' },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
        { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
      ]);
    });

    it('maps finish reasons: max_tokens → length, refusal → content_filter', async () => {
      anthropicUpstream.next({ kind: 'reply', content: [{ type: 'text', text: 'cut' }], stopReason: 'max_tokens' }, { kind: 'reply', content: [], stopReason: 'refusal' });
      const cut = await openai.chat.completions.create({ model: claude, messages: [{ role: 'user', content: 'x' }], max_tokens: 1 });
      expect(cut.choices[0]?.finish_reason).toBe('length');
      expect(anthropicUpstream.requests[0]!.body.max_tokens).toBe(1);
      const refused = await openai.chat.completions.create({ model: claude, messages: [{ role: 'user', content: 'x' }] });
      expect(refused.choices[0]?.finish_reason).toBe('content_filter');
    });

    it('retries a 529 overloaded_error and succeeds', async () => {
      anthropicUpstream.next({ kind: 'status', status: 529, message: 'Overloaded' });
      const { data, response } = await openai.chat.completions.create({ model: claude, messages: [{ role: 'user', content: 'again' }] }).withResponse();
      expect(data.choices[0]?.message.content).toBe('echo: again');
      expect(anthropicUpstream.requests).toHaveLength(2);
      expect(response.headers.get('x-relay-attempts')).toBe('2');
    });

    it('retries a stream whose first event is an error, before anything reached the client', async () => {
      anthropicUpstream.next({ kind: 'error-first' });
      const stream = await openai.chat.completions.create({ model: claude, messages: [{ role: 'user', content: 'retry me' }], stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe('echo: retry me');
      expect(anthropicUpstream.requests).toHaveLength(2);
    });

    it('ends a stream with an OpenAI error event when Anthropic sends error mid-stream', async () => {
      anthropicUpstream.next({ kind: 'stream-error' });
      const stream = await openai.chat.completions.create({ model: claude, messages: [{ role: 'user', content: 'long answer' }], stream: true });
      let text = '';
      const error = await (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      })().catch((caught: unknown) => caught);
      expect(text).toBe('echo: long answer');
      expect(error).toBeInstanceOf(APIError);
      expect(anthropicUpstream.requests).toHaveLength(1);
    });

    it('passes a 400 through with its message, without retrying', async () => {
      anthropicUpstream.next({ kind: 'status', status: 400, message: 'messages.0.content: Input should be a valid list' });
      const error = (await openai.chat.completions.create({ model: claude, messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught)) as BadRequestError;
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error.message).toMatch(/Input should be a valid list/);
      expect(anthropicUpstream.requests).toHaveLength(1);
    });

    it('reports dropped parameters, and refuses them in strict mode before calling upstream', async () => {
      const { response } = await openai.chat.completions.create({ model: claude, messages: [{ role: 'user', content: 'x' }], presence_penalty: 0.5, seed: 1 }).withResponse();
      expect(response.headers.get('x-relay-dropped-params')).toBe('presence_penalty,seed');
      anthropicUpstream.reset();
      const error = (await openai.chat.completions
        .create({ model: claude, messages: [{ role: 'user', content: 'x' }], seed: 1 }, { headers: { 'x-relay-strict': '1' } })
        .catch((caught: unknown) => caught)) as BadRequestError;
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error.code).toBe('unsupported_parameter');
      expect(error.param).toBe('seed');
      expect(anthropicUpstream.requests).toHaveLength(0);
    });

    it('sends temperature without top_p, which current Claude models refuse next to it; a top_p that restricts something is reported', async () => {
      const messages = [{ role: 'user' as const, content: 'x' }];
      // Chat clients often send both, top_p at its neutral 1.
      const { data, response } = await openai.chat.completions.create({ model: 'claude-sonnet-4.5', messages, temperature: 0.7, top_p: 1 }).withResponse();
      expect(data.choices[0]?.message.content).toBe('echo: x');
      expect(response.headers.get('x-relay-dropped-params')).toBeNull();
      const tuned = await openai.chat.completions.create({ model: 'claude-sonnet-4.5', messages, temperature: 0.2, top_p: 0.9 }).withResponse();
      expect(tuned.response.headers.get('x-relay-dropped-params')).toBe('top_p');
      await openai.chat.completions.create({ model: 'claude-sonnet-4.5', messages, top_p: 0.9 });
      expect(anthropicUpstream.requests.map((sent) => [sent.body.temperature, sent.body.top_p])).toEqual([
        [0.7, undefined],
        [0.2, undefined],
        [undefined, 0.9],
      ]);
      const strict = (await openai.chat.completions
        .create({ model: 'claude-sonnet-4.5', messages, temperature: 0.2, top_p: 0.9 }, { headers: { 'x-relay-strict': '1' } })
        .catch((caught: unknown) => caught)) as BadRequestError;
      expect(strict).toBeInstanceOf(BadRequestError);
      expect(strict.param).toBe('top_p');
      expect(anthropicUpstream.requests).toHaveLength(3);
    });

    it('leaves out the whitespace-only stop sequences Anthropic refuses, and says so', async () => {
      const { data, response } = await openai.chat.completions.create({ model: claude, messages: [{ role: 'user', content: 'x' }], stop: ['\n', 'END', '\n\n'] }).withResponse();
      expect(data.choices[0]?.message.content).toBe('echo: x');
      expect(response.headers.get('x-relay-dropped-params')).toBe('stop[0],stop[2]');
      expect(anthropicUpstream.requests[0]!.body.stop_sequences).toEqual(['END']);
      const single = await openai.chat.completions.create({ model: claude, messages: [{ role: 'user', content: 'y' }], stop: '\n' }).withResponse();
      expect(single.response.headers.get('x-relay-dropped-params')).toBe('stop');
      expect(anthropicUpstream.requests[1]!.body).not.toHaveProperty('stop_sequences');
    });

    it('sends an image/jpg data URL as the image/jpeg Anthropic accepts', async () => {
      const completion = await openai.chat.completions.create({
        model: claude,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this' }, { type: 'image_url', image_url: { url: 'data:image/jpg;base64,/9j/4AAQ' } }] }],
      });
      expect(completion.choices[0]?.message.content).toBe('echo: what is this [images: base64 image/jpeg]');
      const sent = anthropicUpstream.requests[0]!.body.messages as Array<{ content: unknown[] }>;
      expect(sent[0]!.content[1]).toEqual({ type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } });
    });

    it('refuses embeddings for a Claude model with a 400 that says why', async () => {
      const error = (await openai.embeddings.create({ model: claude, input: 'x' }).catch((caught: unknown) => caught)) as BadRequestError;
      expect(error).toBeInstanceOf(BadRequestError);
      expect(error.message).toMatch(/Anthropic, which has no embeddings endpoint/);
      expect(anthropicUpstream.requests).toHaveLength(0);
    });
  });

  describe('Anthropic SDK → /v1/messages', () => {
    it('passes a Claude request through untouched but for the model, and the answer byte for byte', async () => {
      const { data, response } = await anthropic.messages
        .create({ model: claude, max_tokens: 100, ...({ top_k: 5 } as object), system: 'Be brief.', messages: [{ role: 'user', content: 'hello' }] })
        .withResponse();
      expect(data.content).toEqual([{ type: 'text', text: 'echo: hello' }]);
      expect(data.model).toBe('claude-sonnet-4-0');
      expect(data.usage).toMatchObject({ input_tokens: 12, output_tokens: 6, cache_read_input_tokens: 3, cache_creation_input_tokens: 2 });
      expect(response.headers.get('x-relay-provider')).toBe('anthropic');
      expect(response.headers.get('request-id')).toBeTruthy();
      const sent = anthropicUpstream.requests[0]!;
      expect(sent.body).toEqual({ model: 'claude-sonnet-4-0', max_tokens: 100, top_k: 5, system: 'Be brief.', messages: [{ role: 'user', content: 'hello' }] });
      expect(sent.headers['x-api-key']).toBe(anthropicKey);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const access = relay.logs.filter((line) => line.msg === 'request' && line.path === '/v1/messages').at(-1);
      expect(access).toMatchObject({ promptTokens: 17, completionTokens: 6 });
    });

    it('relays a Claude stream untouched, usable by the SDK’s stream helpers', async () => {
      const texts: string[] = [];
      const stream = anthropic.messages.stream({ model: claude, max_tokens: 100, messages: [{ role: 'user', content: 'stream me' }] });
      stream.on('text', (text) => texts.push(text));
      const message = await stream.finalMessage();
      expect(texts.join('')).toBe('echo: stream me');
      expect(texts.length).toBeGreaterThan(1);
      expect(message.content).toEqual([{ type: 'text', text: 'echo: stream me' }]);
      expect(message.stop_reason).toBe('end_turn');
      expect(message.usage).toMatchObject({ input_tokens: 12, output_tokens: 6 });
      const { names } = await streamEventNames(relay.url, { model: claude, max_tokens: 10, messages: [{ role: 'user', content: 'ab' }] });
      // The mock sends "echo: ab" in two text deltas.
      expect(names).toEqual(['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    });

    it('passes Claude tool use through, both ways', async () => {
      const first = await anthropic.messages.create({ model: claude, max_tokens: 100, tools: [weatherTool], messages: [{ role: 'user', content: 'Paris?' }] });
      expect(first.stop_reason).toBe('tool_use');
      const toolUse = first.content.find((block) => block.type === 'tool_use')!;
      expect(toolUse).toMatchObject({ name: 'get_weather', input: { query: 'Paris?', limit: 3 } });
      const second = await anthropic.messages.create({
        model: claude,
        max_tokens: 100,
        tools: [weatherTool],
        messages: [{ role: 'user', content: 'Paris?' }, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: '18°C' }] }],
      });
      expect(second.content).toEqual([{ type: 'text', text: 'tool said: 18°C' }]);
    });

    it('sends the images of a tool result to a non-Claude model in the user message after the tool messages', async () => {
      const png = 'iVBORw0KGgo=';
      const { data, response } = await anthropic.messages
        .create({
          model: 'gpt-4.1',
          max_tokens: 100,
          tools: [{ name: 'screenshot', input_schema: { type: 'object', properties: {} } }, weatherTool],
          messages: [
            { role: 'user', content: 'What is on screen, and the weather?' },
            {
              role: 'assistant',
              content: [
                { type: 'tool_use', id: 'toolu_shot', name: 'screenshot', input: {} },
                { type: 'tool_use', id: 'toolu_weather', name: 'get_weather', input: { city: 'Paris' } },
              ],
            },
            {
              role: 'user',
              content: [
                { type: 'tool_result', tool_use_id: 'toolu_shot', content: [{ type: 'text', text: 'Captured.' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } }] },
                { type: 'tool_result', tool_use_id: 'toolu_weather', content: '18°C' },
                { type: 'text', text: 'Describe both.' },
              ],
            },
          ],
        })
        .withResponse();
      expect(data.type).toBe('message');
      expect(response.headers.get('x-relay-dropped-params')).toBeNull();
      expect((openaiUpstream.requests[0]!.body.messages as unknown[]).slice(2)).toEqual([
        { role: 'tool', tool_call_id: 'toolu_shot', content: 'Captured.\n(an attachment follows in the next user message)' },
        { role: 'tool', tool_call_id: 'toolu_weather', content: '18°C' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Attachments of the result of tool call toolu_shot:' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
            { type: 'text', text: 'Describe both.' },
          ],
        },
      ]);
    });

    it('translates to an OpenAI-compatible upstream for a non-Claude model', async () => {
      const message = await anthropic.messages.create({ model: 'gpt-4.1', max_tokens: 100, system: 'Be brief.', stop_sequences: ['###'], messages: [{ role: 'user', content: 'hello' }] });
      expect(message).toMatchObject({ type: 'message', role: 'assistant', model: 'gpt-4.1', stop_reason: 'end_turn', content: [{ type: 'text', text: 'echo: hello' }] });
      expect(message.id).toMatch(/^msg_/);
      expect(message.usage).toMatchObject({ input_tokens: 11, output_tokens: 7, cache_read_input_tokens: 0 });
      const sent = openaiUpstream.requests[0]!;
      expect(sent.path).toBe('/v1/chat/completions');
      expect(sent.body).toMatchObject({ model: 'gpt-4.1', max_tokens: 100, stop: ['###'], messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello' }] });
      expect(anthropicUpstream.requests).toHaveLength(0);
    });

    it("sends a metadata.user_id longer than OpenAI's user takes (Claude Code's) as a stable 64-character digest, JSON and stream", async () => {
      // What Claude Code sends: a JSON text of about 150 characters.
      const claudeCodeUser = JSON.stringify({ device_id: 'a3f1'.repeat(16), account_uuid: '6f1c2a9e-0b7d-4e58-9a63-2f4d8c1e7b50', session_id: '0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a' });
      expect(claudeCodeUser.length).toBeGreaterThan(openaiUserMaxLength);
      const request = { model: 'gpt-4.1', max_tokens: 100, metadata: { user_id: claudeCodeUser }, messages: [{ role: 'user' as const, content: 'hello' }] };
      const message = await anthropic.messages.create(request);
      expect(message.content).toEqual([{ type: 'text', text: 'echo: hello' }]);
      const streamed = await anthropic.messages.stream(request).finalMessage();
      expect(streamed.content).toEqual([{ type: 'text', text: 'word0 word1 word2 word3 word4 ' }]);
      await anthropic.messages.create({ ...request, metadata: { user_id: `${claudeCodeUser} ` } });
      await anthropic.messages.create({ ...request, metadata: { user_id: 'end-user-1' } });
      const users = openaiUpstream.requests.map((sent) => sent.body.user as string);
      expect(users[0]).toMatch(/^[0-9a-f]{64}$/);
      // One end user keeps one id, and another gets another; a short id goes as it came.
      expect(users[1]).toBe(users[0]);
      expect(users[2]).toMatch(/^[0-9a-f]{64}$/);
      expect(users[2]).not.toBe(users[0]);
      expect(users[3]).toBe('end-user-1');
    });

    it('re-encodes an OpenAI stream as Anthropic’s exact event sequence', async () => {
      const stream = anthropic.messages.stream({ model: 'gpt-4.1', max_tokens: 100, messages: [{ role: 'user', content: 'stream' }] });
      const message = await stream.finalMessage();
      expect(message.content).toEqual([{ type: 'text', text: 'word0 word1 word2 word3 word4 ' }]);
      expect(message.usage).toMatchObject({ input_tokens: 9, output_tokens: 5 });
      expect(openaiUpstream.requests[0]!.body.stream_options).toEqual({ include_usage: true });
      const { names } = await streamEventNames(relay.url, { model: 'gpt-4.1', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
      expect(names).toEqual(['message_start', 'content_block_start', 'ping', ...Array(5).fill('content_block_delta'), 'content_block_stop', 'message_delta', 'message_stop']);
    });

    it('translates tools to OpenAI functions and tool calls back to tool_use blocks, both ways', async () => {
      openaiUpstream.next({
        kind: 'status',
        status: 200,
        body: {
          id: 'chatcmpl-tools',
          object: 'chat.completion',
          created: 1,
          model: 'gpt-4.1',
          choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] }, finish_reason: 'tool_calls' }],
          usage: { prompt_tokens: 30, completion_tokens: 5, total_tokens: 35 },
        },
      });
      const first = await anthropic.messages.create({ model: 'gpt-4.1', max_tokens: 100, tools: [weatherTool], tool_choice: { type: 'any' }, messages: [{ role: 'user', content: 'Paris?' }] });
      expect(first.stop_reason).toBe('tool_use');
      expect(first.content).toEqual([{ type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } }]);
      expect(openaiUpstream.requests[0]!.body).toMatchObject({
        tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather by city', parameters: weatherTool.input_schema } }],
        tool_choice: 'required',
      });
      const second = await anthropic.messages.create({
        model: 'gpt-4.1',
        max_tokens: 100,
        tools: [weatherTool],
        messages: [{ role: 'user', content: 'Paris?' }, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: '18°C' }] }],
      });
      expect(second.content).toEqual([{ type: 'text', text: 'echo: 18°C' }]);
      expect(openaiUpstream.requests[1]!.body.messages).toEqual([
        { role: 'user', content: 'Paris?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '18°C' },
      ]);
    });

    it('stops with tool_use when the answer calls a tool, even when the upstream finished it with "stop" (a tool named in tool_choice), JSON and stream', async () => {
      // OpenAI ends the call of a function named in tool_choice with finish_reason "stop".
      const call = { id: 'call_named', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } };
      openaiUpstream.next({
        kind: 'status',
        status: 200,
        body: {
          id: 'chatcmpl-named',
          object: 'chat.completion',
          created: 1,
          model: 'gpt-4.1',
          choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [call] }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 30, completion_tokens: 5, total_tokens: 35 },
        },
      });
      const request = { model: 'gpt-4.1', max_tokens: 100, tools: [weatherTool], tool_choice: { type: 'tool' as const, name: 'get_weather' }, messages: [{ role: 'user' as const, content: 'Paris?' }] };
      const message = await anthropic.messages.create(request);
      expect(message.content).toEqual([{ type: 'tool_use', id: 'call_named', name: 'get_weather', input: { city: 'Paris' } }]);
      expect(message.stop_reason).toBe('tool_use');
      const chunk = (delta: unknown, finishReason: string | null = null) => ({ id: 'chatcmpl-named', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [{ index: 0, delta, finish_reason: finishReason }] });
      openaiUpstream.next({
        kind: 'events',
        events: [
          chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, ...call, function: { name: 'get_weather', arguments: '' } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":"Paris"}' } }] }),
          chunk({}, 'stop'),
        ],
      });
      const streamed = await anthropic.messages.stream(request).finalMessage();
      expect(streamed.content).toEqual([{ type: 'tool_use', id: 'call_named', name: 'get_weather', input: { city: 'Paris' } }]);
      expect(streamed.stop_reason).toBe('tool_use');
      expect(openaiUpstream.requests[1]!.body.tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } });
    });

    it("gives tool calls of a server whose ids Anthropic refuses (Kimi's functions.get_weather:0) ids Anthropic takes, JSON and stream, so the conversation can go on with Claude", async () => {
      const kimiId = 'functions.get_weather:0';
      const completion = {
        id: 'chatcmpl-kimi',
        object: 'chat.completion',
        created: 1,
        model: 'gpt-4.1',
        choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: kimiId, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] }, finish_reason: 'tool_calls' }],
        usage: { prompt_tokens: 30, completion_tokens: 5, total_tokens: 35 },
      };
      openaiUpstream.next({ kind: 'status', status: 200, body: completion });
      const chunk = (delta: unknown, finishReason: string | null = null) => ({ id: 'chatcmpl-kimi', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [{ index: 0, delta, finish_reason: finishReason }] });
      openaiUpstream.next({
        kind: 'events',
        events: [chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: kimiId, type: 'function', function: { name: 'get_weather', arguments: '{"city":' } }] }), chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }), chunk({}, 'tool_calls')],
      });
      const request = { model: 'gpt-4.1', max_tokens: 100, tools: [weatherTool], messages: [{ role: 'user' as const, content: 'Paris?' }] };
      const message = await anthropic.messages.create(request);
      const streamed = await anthropic.messages.stream(request).finalMessage();
      for (const answer of [message, streamed]) {
        expect(answer.content).toEqual([{ type: 'tool_use', id: 'functions_get_weather_0', name: 'get_weather', input: { city: 'Paris' } }]);
      }
      // The next turn, on Claude (passed through), is one Anthropic takes.
      const next = await anthropic.messages.create({
        ...request,
        model: claude,
        messages: [...request.messages, { role: 'assistant', content: message.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'functions_get_weather_0', content: '18°C' }] }],
      });
      expect(next.content).toEqual([{ type: 'text', text: 'tool said: 18°C' }]);
    });

    // Servers that number parallel calls otherwise than OpenAI: one leaves out index and repeats the id
    // on every fragment; another (Ollama, some SGLang builds) streams every call at index 0, each with its own id.
    const parallelCalls = {
      'leaves out index and repeats the id on every fragment': [
        { id: 'call_paris', type: 'function', function: { name: 'get_weather', arguments: '{"city":' } },
        { id: 'call_paris', type: 'function', function: { arguments: '"Paris"}' } },
        { id: 'call_rome', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
      ],
      'streams every call at index 0, each with its own id (Ollama)': [
        { index: 0, id: 'call_paris', type: 'function', function: { name: 'get_weather', arguments: '{"city":' } },
        { index: 0, function: { arguments: '"Paris"}' } },
        { index: 0, id: 'call_rome', type: 'function', function: { name: 'get_weather', arguments: '{"city":' } },
        { index: 0, function: { arguments: '"Rome"}' } },
      ],
    };
    it.each(Object.entries(parallelCalls))('assembles the streamed tool calls of a server that %s', async (_server, calls) => {
      const chunk = (delta: unknown, finishReason: string | null = null) => ({ id: 'chatcmpl-calls', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [{ index: 0, delta, finish_reason: finishReason }] });
      openaiUpstream.next({ kind: 'events', events: [chunk({ role: 'assistant', content: null }), ...calls.map((call) => chunk({ tool_calls: [call] })), chunk({}, 'tool_calls')] });
      const message = await anthropic.messages.stream({ model: 'gpt-4.1', max_tokens: 100, tools: [weatherTool], messages: [{ role: 'user', content: 'Paris and Rome?' }] }).finalMessage();
      expect(message.content).toEqual([
        { type: 'tool_use', id: 'call_paris', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'call_rome', name: 'get_weather', input: { city: 'Rome' } },
      ]);
      expect(message.stop_reason).toBe('tool_use');
    });

    it('sends o3 again without the parallel_tool_calls it refuses (made of disable_parallel_tool_use), reported, and its next request without it at once', async () => {
      const tools = [{ name: 'search_docs', description: 'Searches the documentation', input_schema: { type: 'object' as const, properties: { query: { type: 'string' } } } }];
      const body = { model: 'o3', max_tokens: 100, tools, tool_choice: { type: 'auto' as const, disable_parallel_tool_use: true }, messages: [{ role: 'user' as const, content: 'hello' }] };
      const { response } = await anthropic.messages.create(body).withResponse();
      expect(response.status).toBe(200);
      expect(response.headers.get('x-relay-dropped-params')).toBe('tool_choice.disable_parallel_tool_use');
      expect(openaiUpstream.requests.map((sent) => sent.body.parallel_tool_calls)).toEqual([false, undefined]);
      openaiUpstream.reset();
      const again = await anthropic.messages.create(body).withResponse();
      expect(again.response.headers.get('x-relay-dropped-params')).toBe('tool_choice.disable_parallel_tool_use');
      expect(openaiUpstream.requests.map((sent) => sent.body.parallel_tool_calls)).toEqual([undefined]);
    });

    it("sends a reasoning model again without the sampling parameters its upstream refuses (temperature, top_p, stop), reporting them, JSON and stream, counted once", async () => {
      // Two requests a minute: each refused call counted as a request would leave the stream nothing.
      const created = await adminJson<{ key: string }>(relay.url, '/admin/keys', 'POST', { name: 'two-a-minute', rpm: 2 });
      const limited = new Anthropic({ apiKey: created.key, baseURL: relay.url, maxRetries: 0 });
      const body = { model: 'o3-mini', max_tokens: 100, temperature: 0.2, top_p: 0.9, stop_sequences: ['###'], messages: [{ role: 'user' as const, content: 'hello' }] };
      const { data: message, response } = await limited.messages.create(body).withResponse();
      expect(message.content).toEqual([{ type: 'text', text: 'echo: hello' }]);
      expect(response.headers.get('x-relay-dropped-params')).toBe('temperature,top_p,stop_sequences');
      expect(response.headers.get('x-relay-attempts')).toBe('1');
      // OpenAI names one refused parameter at a time: each call goes without the one refused before.
      const sampling = () => openaiUpstream.requests.map((sent) => ['temperature', 'top_p', 'stop'].filter((field) => field in sent.body));
      expect(sampling()).toEqual([['temperature', 'top_p', 'stop'], ['top_p', 'stop'], ['stop'], []]);
      expect(openaiUpstream.requests.every((sent) => sent.body.max_completion_tokens === 100)).toBe(true);
      await expect.poll(() => relay.logs.filter((line) => line.msg === 'request' && line.path === '/v1/messages').at(-1)).toMatchObject({ status: 200, promptTokens: 11, completionTokens: 7 });

      // The same with a stream, on another model (the refusals of o3-mini are remembered: below).
      openaiUpstream.reset();
      const stream = limited.messages.stream({ ...body, model: 'o4-mini' });
      const streamed = await stream.finalMessage();
      expect(streamed.content).toEqual([{ type: 'text', text: 'word0 word1 word2 word3 word4 ' }]);
      expect((await stream.withResponse()).response.headers.get('x-relay-dropped-params')).toBe('temperature,top_p,stop_sequences');
      expect(sampling()).toEqual([['temperature', 'top_p', 'stop'], ['top_p', 'stop'], ['stop'], []]);

      // A model's refusals are remembered: its next request goes without them at once, reported all the same.
      openaiUpstream.reset();
      const again = await anthropic.messages.create(body).withResponse();
      expect(again.data.content).toEqual([{ type: 'text', text: 'echo: hello' }]);
      expect(again.response.headers.get('x-relay-dropped-params')).toBe('temperature,top_p,stop_sequences');
      expect(sampling()).toEqual([[]]);

      // Strict mode refuses instead, with the upstream's words; and an OpenAI client's own parameter gets OpenAI's 400.
      openaiUpstream.reset();
      const strict = (await anthropic.messages.create(body, { headers: { 'x-relay-strict': '1' } }).catch((caught: unknown) => caught)) as AnthropicAPIError;
      expect(strict).toBeInstanceOf(AnthropicBadRequestError);
      expect(strict.error).toMatchObject({ error: { type: 'invalid_request_error', message: "Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is supported." } });
      const direct = (await openai.chat.completions.create({ model: 'o3-mini', temperature: 0.2, messages: [{ role: 'user', content: 'hello' }] }).catch((caught: unknown) => caught)) as BadRequestError;
      expect(direct).toBeInstanceOf(BadRequestError);
      expect(direct.error).toMatchObject({ code: 'unsupported_value', param: 'temperature' });
      expect(openaiUpstream.requests).toHaveLength(2);
    });

    it("turns adaptive thinking with output_config.effort, or a thinking budget, into reasoning_effort, JSON and stream, and keeps output_config's other fields out, reported", async () => {
      const adaptive = { model: 'gpt-5', max_tokens: 1000, thinking: { type: 'adaptive' as const }, output_config: { effort: 'medium' as const }, messages: [{ role: 'user' as const, content: 'hello' }] };
      const { data: message, response } = await anthropic.messages.create(adaptive).withResponse();
      expect(message.content).toEqual([{ type: 'text', text: 'echo: hello' }]);
      expect(response.headers.get('x-relay-dropped-params')).toBeNull();
      expect(openaiUpstream.requests[0]!.body).toMatchObject({ model: 'gpt-5', reasoning_effort: 'medium', max_completion_tokens: 1000 });
      expect(openaiUpstream.requests[0]!.body).not.toHaveProperty('thinking');
      expect(openaiUpstream.requests[0]!.body).not.toHaveProperty('output_config');

      const stream = anthropic.messages.stream({ ...adaptive, output_config: { effort: 'max' } });
      expect((await stream.finalMessage()).content).toEqual([{ type: 'text', text: 'word0 word1 word2 word3 word4 ' }]);
      expect((await stream.withResponse()).response.headers.get('x-relay-dropped-params')).toBeNull();
      expect(openaiUpstream.requests[1]!.body.reasoning_effort).toBe('high');

      // Older clients: a budget becomes an effort by its size.
      await anthropic.messages.create({ ...adaptive, output_config: undefined, max_tokens: 20000, thinking: { type: 'enabled', budget_tokens: 10000 } });
      expect(openaiUpstream.requests[2]!.body.reasoning_effort).toBe('medium');

      // A structured output becomes a strict json_schema response_format, and the effort beside it still goes.
      const format = { type: 'json_schema' as const, schema: { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false } };
      const structured = await anthropic.messages.create({ ...adaptive, output_config: { effort: 'low', format } }).withResponse();
      expect(structured.response.headers.get('x-relay-dropped-params')).toBeNull();
      expect(openaiUpstream.requests[3]!.body).toMatchObject({ reasoning_effort: 'low', response_format: { type: 'json_schema', json_schema: { name: 'output', schema: format.schema, strict: true } } });
      const text = structured.data.content.find((block) => block.type === 'text');
      expect(JSON.parse((text as { text: string }).text)).toHaveProperty('answer');
    });

    it('answers a thinking request on a model that refuses reasoning_effort (gpt-4o; Azure\'s "Unrecognized request argument"), sent again without it and reported, JSON and stream', async () => {
      const body = { model: 'gpt-4o', max_tokens: 1000, thinking: { type: 'adaptive' as const }, output_config: { effort: 'high' as const }, messages: [{ role: 'user' as const, content: 'hello' }] };
      const { data: message, response } = await anthropic.messages.create(body).withResponse();
      expect(message.content).toEqual([{ type: 'text', text: 'echo: hello' }]);
      expect(response.headers.get('x-relay-dropped-params')).toBe('thinking,output_config.effort');
      expect(response.headers.get('x-relay-attempts')).toBe('1');
      expect(openaiUpstream.requests.map((sent) => sent.body.reasoning_effort)).toEqual(['high', undefined]);

      openaiUpstream.reset();
      const stream = anthropic.messages.stream({ ...body, model: 'gpt-35-turbo', output_config: undefined, thinking: { type: 'enabled', budget_tokens: 2048 } });
      expect((await stream.finalMessage()).content).toEqual([{ type: 'text', text: 'word0 word1 word2 word3 word4 ' }]);
      expect((await stream.withResponse()).response.headers.get('x-relay-dropped-params')).toBe('thinking');
      expect(openaiUpstream.requests.map((sent) => sent.body.reasoning_effort)).toEqual(['low', undefined]);

      // Strict mode refuses instead, in the upstream's words.
      openaiUpstream.reset();
      const strict = (await anthropic.messages.create(body, { headers: { 'x-relay-strict': '1' } }).catch((caught: unknown) => caught)) as AnthropicAPIError;
      expect(strict).toBeInstanceOf(AnthropicBadRequestError);
      expect(strict.error).toMatchObject({ error: { type: 'invalid_request_error', message: "Unsupported parameter: 'reasoning_effort' is not supported with this model." } });
      expect(openaiUpstream.requests).toHaveLength(1);

      // The refusal is remembered for the model: the next request goes without reasoning_effort at once, reported all the same.
      openaiUpstream.reset();
      const again = await anthropic.messages.create(body).withResponse();
      expect(again.data.content).toEqual([{ type: 'text', text: 'echo: hello' }]);
      expect(again.response.headers.get('x-relay-dropped-params')).toBe('thinking,output_config.effort');
      expect(openaiUpstream.requests.map((sent) => sent.body.reasoning_effort)).toEqual([undefined]);
      // Another model of the same upstream is asked as before.
      openaiUpstream.reset();
      await anthropic.messages.create({ ...body, model: 'gpt-5' });
      expect(openaiUpstream.requests.map((sent) => sent.body.reasoning_effort)).toEqual(['high']);
    });

    it('sends the first 4 of more stop_sequences than OpenAI takes and reports the others, JSON and stream; /v1/chat/completions gets OpenAI\'s 400', async () => {
      const stops = ['###', 'END', '\n\nHuman:', '</answer>', 'STOP', '---'];
      const body = { model: 'gpt-4.1', max_tokens: 100, stop_sequences: stops, messages: [{ role: 'user' as const, content: 'hello' }] };
      const { data: message, response } = await anthropic.messages.create(body).withResponse();
      expect(message.content).toEqual([{ type: 'text', text: 'echo: hello' }]);
      expect(response.headers.get('x-relay-dropped-params')).toBe('stop_sequences[4],stop_sequences[5]');
      expect(openaiUpstream.requests.map((sent) => sent.body.stop)).toEqual([stops, stops.slice(0, openaiMaxStopSequences)]);
      // The same with a stream, on another model; then the first model's next request, cut at once (the refusal is remembered).
      openaiUpstream.reset();
      const stream = anthropic.messages.stream({ ...body, model: 'gpt-4o' });
      expect((await stream.finalMessage()).content).toEqual([{ type: 'text', text: 'word0 word1 word2 word3 word4 ' }]);
      expect((await stream.withResponse()).response.headers.get('x-relay-dropped-params')).toBe('stop_sequences[4],stop_sequences[5]');
      expect(openaiUpstream.requests.map((sent) => sent.body.stop)).toEqual([stops, stops.slice(0, openaiMaxStopSequences)]);
      openaiUpstream.reset();
      const again = await anthropic.messages.create(body).withResponse();
      expect(again.response.headers.get('x-relay-dropped-params')).toBe('stop_sequences[4],stop_sequences[5]');
      expect(openaiUpstream.requests.map((sent) => sent.body.stop)).toEqual([stops.slice(0, openaiMaxStopSequences)]);
      openaiUpstream.reset();
      await anthropic.messages.create({ ...body, stop_sequences: stops.slice(0, 2) });
      expect(openaiUpstream.requests.map((sent) => sent.body.stop)).toEqual([stops.slice(0, 2)]);

      openaiUpstream.reset();
      const direct = (await openai.chat.completions.create({ model: 'gpt-4.1', stop: stops, messages: [{ role: 'user', content: 'hello' }] }).catch((caught: unknown) => caught)) as BadRequestError;
      expect(direct).toBeInstanceOf(BadRequestError);
      expect(direct.error).toMatchObject({ code: 'array_above_max_length', param: 'stop', message: "Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length 6 instead." });
      expect(openaiUpstream.requests).toHaveLength(1);
    });

    it('shows the reasoning a translated model sends apart (reasoning_content) as a thinking block when the client asks for thinking, JSON and stream, and never sends it back', async () => {
      const reasoning = 'The user greets me. ';
      openaiUpstream.setReasoning(reasoning);
      const thinkingBlock = { type: 'thinking', thinking: reasoning, signature: '' };
      const body = { model: 'deepseek-reasoner', max_tokens: 2048, thinking: { type: 'enabled' as const, budget_tokens: 1024 }, messages: [{ role: 'user' as const, content: 'hello' }] };
      const message = await anthropic.messages.create(body);
      expect(message.content).toEqual([thinkingBlock, { type: 'text', text: 'echo: hello' }]);
      const stream = anthropic.messages.stream(body);
      const thinkingDeltas: string[] = [];
      stream.on('thinking', (delta) => thinkingDeltas.push(delta));
      const streamed = await stream.finalMessage();
      expect(streamed.content).toEqual([thinkingBlock, { type: 'text', text: 'word0 word1 word2 word3 word4 ' }]);
      expect(thinkingDeltas).toEqual(['The ', 'user ', 'greets ', 'me. ']);
      const { names, events } = await streamEventNames(relay.url, body);
      expect(names).toEqual(['message_start', 'content_block_start', 'ping', ...Array(4).fill('content_block_delta'), 'content_block_stop', 'content_block_start', ...Array(5).fill('content_block_delta'), 'content_block_stop', 'message_delta', 'message_stop']);
      expect(JSON.parse(events[1]!.data)).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } });
      expect(JSON.parse(events[3]!.data)).toEqual({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'The ' } });
      expect(JSON.parse(events[8]!.data)).toMatchObject({ type: 'content_block_start', index: 1, content_block: { type: 'text' } });

      // The next turn carries the thinking block back: the upstream gets the answer's text only.
      openaiUpstream.reset();
      const next = await anthropic.messages.create({ ...body, messages: [...body.messages, { role: 'assistant', content: streamed.content }, { role: 'user', content: 'and?' }] });
      expect(next.content.at(-1)).toEqual({ type: 'text', text: 'echo: and?' });
      expect(openaiUpstream.requests[0]!.body.messages).toEqual([{ role: 'user', content: 'hello' }, { role: 'assistant', content: 'word0 word1 word2 word3 word4 ' }, { role: 'user', content: 'and?' }]);

      // A client that did not ask for thinking gets the answer alone, as Anthropic answers it.
      openaiUpstream.setReasoning(reasoning);
      const { thinking: _thinking, ...plain } = body;
      expect((await anthropic.messages.create(plain)).content).toEqual([{ type: 'text', text: 'echo: hello' }]);
      expect((await anthropic.messages.stream(plain).finalMessage()).content).toEqual([{ type: 'text', text: 'word0 word1 word2 word3 word4 ' }]);
    });

    it('shows reasoning sent as `reasoning` (vLLM since it renamed reasoning_content, OpenRouter) as a thinking block too, JSON and stream', async () => {
      openaiUpstream.setReasoning('The user greets me. ', 'reasoning');
      const thinkingBlock = { type: 'thinking', thinking: 'The user greets me. ', signature: '' };
      const body = { model: 'deepseek-reasoner', max_tokens: 2048, thinking: { type: 'enabled' as const, budget_tokens: 1024 }, messages: [{ role: 'user' as const, content: 'hello' }] };
      expect((await anthropic.messages.create(body)).content).toEqual([thinkingBlock, { type: 'text', text: 'echo: hello' }]);
      expect((await anthropic.messages.stream(body).finalMessage()).content).toEqual([thinkingBlock, { type: 'text', text: 'word0 word1 word2 word3 word4 ' }]);
    });

    it('moves a conversation whose earlier answer had a translated model\'s reasoning to Claude, without the thinking block Anthropic did not sign', async () => {
      openaiUpstream.setReasoning('The user greets me. ');
      const body = { model: 'deepseek-reasoner', max_tokens: 2048, thinking: { type: 'enabled' as const, budget_tokens: 1024 }, messages: [{ role: 'user' as const, content: 'hello' }] };
      const first = await anthropic.messages.create(body);
      expect(first.content[0]).toMatchObject({ type: 'thinking', signature: '' });
      const next = await anthropic.messages.create({ ...body, model: claude, messages: [...body.messages, { role: 'assistant', content: first.content }, { role: 'user', content: 'and?' }] });
      expect(next.content.at(-1)).toMatchObject({ type: 'text' });
      const sent = anthropicUpstream.requests.at(-1)!.body as { messages: Array<{ role: string; content: unknown }> };
      expect(sent.messages[1]).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'echo: hello' }] });
    });

    it('reports what cannot be translated, and refuses it in strict mode', async () => {
      const { response } = await anthropic.messages.create({ model: 'gpt-4.1', max_tokens: 10, ...({ top_k: 3 } as object), messages: [{ role: 'user', content: 'x' }] }).withResponse();
      expect(response.headers.get('x-relay-dropped-params')).toBe('top_k');
      const error = (await anthropic.messages
        .create({ model: 'gpt-4.1', max_tokens: 10, ...({ top_k: 3 } as object), messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-relay-strict': '1' } })
        .catch((caught: unknown) => caught)) as AnthropicBadRequestError;
      expect(error).toBeInstanceOf(AnthropicBadRequestError);
      expect(error.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringMatching(/'top_k'/) } });
    });

    it('forwards the beta features the client asks for, JSON and stream, and refuses a malformed anthropic-beta', async () => {
      // The SDK's beta API sends them as `anthropic-beta`.
      const message = await anthropic.beta.messages.create({
        model: claude,
        max_tokens: 50,
        messages: [{ role: 'user', content: 'hello' }],
        betas: ['interleaved-thinking-2025-05-14', 'context-1m-2025-08-07'],
      });
      expect(message.content).toEqual([{ type: 'text', text: 'echo: hello' }]);
      expect(anthropicUpstream.requests[0]?.headers['anthropic-beta']).toBe('interleaved-thinking-2025-05-14,context-1m-2025-08-07');
      const stream = await anthropic.messages.create(
        { model: claude, max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hello' }] },
        { headers: { 'anthropic-beta': 'fine-grained-tool-streaming-2025-05-14, fine-grained-tool-streaming-2025-05-14' } },
      );
      for await (const _event of stream) {
        // drain
      }
      expect(anthropicUpstream.requests[1]?.headers['anthropic-beta']).toBe('fine-grained-tool-streaming-2025-05-14');
      // Without the header, none goes upstream.
      await anthropic.messages.create({ model: claude, max_tokens: 50, messages: [{ role: 'user', content: 'hello' }] });
      expect(anthropicUpstream.requests[2]?.headers).not.toHaveProperty('anthropic-beta');
      const malformed = (await anthropic.messages
        .create({ model: claude, max_tokens: 50, messages: [{ role: 'user', content: 'hello' }] }, { headers: { 'anthropic-beta': 'tools-2024-04-04, drop table;' } })
        .catch((caught: unknown) => caught)) as AnthropicAPIError;
      expect(malformed.status).toBe(400);
      expect(malformed.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringMatching(/anthropic-beta header names "drop table;"/) } });
      expect(anthropicUpstream.requests).toHaveLength(3);
    });

    it('renders errors in Anthropic’s shape: auth from the hook, unknown model, invalid body', async () => {
      const stranger = new Anthropic({ apiKey: 'sk-not-a-relay-key-000000', baseURL: relay.url, maxRetries: 0 });
      const auth = (await stranger.messages.create({ model: claude, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught)) as AnthropicAPIError;
      expect(auth).toBeInstanceOf(AnthropicAuthenticationError);
      expect(auth.status).toBe(401);
      expect(auth.error).toMatchObject({ type: 'error', error: { type: 'authentication_error', message: expect.stringMatching(/key issued by this relay/) } });
      const unknown = (await anthropic.messages.create({ model: 'no-such-model-9', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught)) as AnthropicAPIError;
      expect(unknown).toBeInstanceOf(AnthropicNotFoundError);
      expect(unknown.error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
      const invalid = await request(`${relay.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': masterKey }, body: JSON.stringify({ model: claude, messages: [{ role: 'user', content: 'x' }] }) });
      expect(invalid.statusCode).toBe(400);
      expect(await invalid.body.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringMatching(/max_tokens/) } });
      expect(anthropicUpstream.requests).toHaveLength(0);
    });

    it('words a prompt too long for a translated model as Anthropic does, so that clients that compact on it (Claude Code) recognise it', async () => {
      const overflow = { message: "This model's maximum context length is 128000 tokens. However, your messages resulted in 130532 tokens. Please reduce the length of the messages.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' };
      openaiUpstream.next({ kind: 'status', status: 400, body: { error: overflow } });
      const error = (await anthropic.messages.create({ model: 'gpt-4.1', max_tokens: 10, messages: [{ role: 'user', content: 'a long story' }] }).catch((caught: unknown) => caught)) as AnthropicAPIError;
      expect(error).toBeInstanceOf(AnthropicBadRequestError);
      const message = (error.error as { error: { type: string; message: string } }).error.message;
      expect(error.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
      // What Anthropic answers ("prompt is too long: 208310 tokens > 200000 maximum"), read as Claude Code reads it.
      expect(message).toMatch(/^prompt is too long: 130532 tokens > 128000 maximum/);
      expect(/prompt is too long[^0-9]*(\d+)\s*tokens?\s*>\s*(\d+)/i.exec(message)?.slice(1)).toEqual(['130532', '128000']);
      expect(message).toContain(overflow.message);
      // The OpenAI side keeps OpenAI's words, and Anthropic's own are passed on as they are.
      openaiUpstream.next({ kind: 'status', status: 400, body: { error: overflow } });
      const openaiError = (await openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'a long story' }] }).catch((caught: unknown) => caught)) as BadRequestError;
      expect(openaiError.error).toMatchObject({ message: overflow.message, code: 'context_length_exceeded' });
      anthropicUpstream.next({ kind: 'status', status: 400, message: 'prompt is too long: 208310 tokens > 200000 maximum' });
      const claudeError = (await anthropic.messages.create({ model: claude, max_tokens: 10, messages: [{ role: 'user', content: 'a long story' }] }).catch((caught: unknown) => caught)) as AnthropicAPIError;
      expect(claudeError.error).toMatchObject({ error: { type: 'invalid_request_error', message: 'prompt is too long: 208310 tokens > 200000 maximum' } });
    });

    it('refuses a message without content as Anthropic does, naming it, before reserving anything or calling any upstream', async () => {
      // One request a minute: a refusal that reserved it would leave the last, valid request nothing.
      const created = await adminJson<{ key: string }>(relay.url, '/admin/keys', 'POST', { name: 'one-a-minute', rpm: 1 });
      const limited = new Anthropic({ apiKey: created.key, baseURL: relay.url, maxRetries: 0 });
      const cases: Array<[string, Anthropic.MessageParam[], number]> = [
        ['gpt-4.1', [{ role: 'user', content: [] }], 0],
        ['gpt-4.1', [{ role: 'user', content: '' }], 0],
        ['gpt-4.1', [{ role: 'user', content: 'hi' }, { role: 'assistant', content: '' }, { role: 'user', content: 'again' }], 1],
        [claude, [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }, { role: 'user', content: [] }], 2],
      ];
      for (const [model, messages, index] of cases) {
        for (const stream of [false, true]) {
          const error = await limited.messages.create({ model, max_tokens: 16, messages, stream }).then(
            () => undefined,
            (caught: unknown) => caught,
          );
          expect(error, `${model} ${JSON.stringify(messages)}`).toBeInstanceOf(AnthropicBadRequestError);
          expect((error as AnthropicAPIError).error).toMatchObject({
            type: 'error',
            error: { type: 'invalid_request_error', message: `messages.${index}: all messages must have non-empty content except for the optional final assistant message` },
          });
        }
      }
      const counted = await limited.messages.countTokens({ model: 'gpt-4.1', messages: [{ role: 'user', content: [] }] }).catch((caught: unknown) => caught);
      expect(counted).toBeInstanceOf(AnthropicBadRequestError);
      expect(openaiUpstream.requests).toHaveLength(0);
      expect(anthropicUpstream.requests).toHaveLength(0);
      // A final assistant message may be empty: the answer starts there.
      const answered = await limited.messages.create({ model: 'gpt-4.1', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: '' }] });
      expect(answered.type).toBe('message');
      expect(openaiUpstream.requests).toHaveLength(1);
    });

    it('retries a passthrough 529, passes a 400 through, and answers 502 api_error when every attempt fails', async () => {
      anthropicUpstream.next({ kind: 'status', status: 529 });
      const { response } = await anthropic.messages.create({ model: claude, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).withResponse();
      expect(response.headers.get('x-relay-attempts')).toBe('2');
      anthropicUpstream.next({ kind: 'status', status: 400, message: 'messages: roles must alternate between "user" and "assistant"' });
      const bad = (await anthropic.messages.create({ model: claude, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught)) as AnthropicAPIError;
      expect(bad).toBeInstanceOf(AnthropicBadRequestError);
      expect(bad.error).toMatchObject({ error: { type: 'invalid_request_error', message: expect.stringMatching(/roles must alternate/) } });
      const overloaded = { kind: 'status' as const, status: 529, headers: { 'retry-after': '0' } };
      anthropicUpstream.next(overloaded, overloaded, overloaded, overloaded);
      const failed = (await anthropic.messages.create({ model: claude, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught)) as AnthropicAPIError;
      expect(failed.status).toBe(502);
      expect(failed.error).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    });

    it('relays an error event of a passthrough stream to the SDK', async () => {
      anthropicUpstream.next({ kind: 'stream-error' });
      const stream = anthropic.messages.stream({ model: claude, max_tokens: 100, messages: [{ role: 'user', content: 'long' }] });
      const error = (await stream.finalMessage().catch((caught: unknown) => caught)) as AnthropicAPIError;
      expect(error).toBeInstanceOf(AnthropicAPIError);
      expect(error.error).toMatchObject({ error: { type: 'overloaded_error' } });
    });

    it('ends a passthrough stream that stops without message_stop with an error event, not a clean end', async () => {
      anthropicUpstream.next({ kind: 'stream-cut' });
      const stream = anthropic.messages.stream({ model: claude, max_tokens: 100, messages: [{ role: 'user', content: 'long' }] });
      const error = (await stream.finalMessage().catch((caught: unknown) => caught)) as AnthropicAPIError;
      expect(error).toBeInstanceOf(AnthropicAPIError);
      await expect.poll(() => relay.logs.filter((line) => line.msg === 'request' && line.path === '/v1/messages').at(-1)?.errorCode).toBe('upstream_error');
    });

    it('reports only the parameters the answering attempt dropped, and never sends "fallbacks" upstream', async () => {
      const overloaded = { kind: 'status' as const, status: 529, headers: { 'retry-after-ms': '1' } };
      anthropicUpstream.next(overloaded, overloaded, overloaded, overloaded);
      const { response } = await openai.chat.completions
        .create({ model: claude, seed: 7, messages: [{ role: 'user', content: 'x' }], ...({ fallbacks: ['gpt-4.1'] } as object) })
        .withResponse();
      expect(response.headers.get('x-relay-fallback')).toBe('claude-sonnet-4->gpt-4.1');
      // Anthropic could not honour seed, but HolySheep answered and received it.
      expect(response.headers.get('x-relay-dropped-params')).toBeNull();
      expect(openaiUpstream.requests[0]?.body.seed).toBe(7);

      anthropicUpstream.reset();
      openaiUpstream.reset();
      anthropicUpstream.next(overloaded, overloaded, overloaded, overloaded);
      const messages = await fetchMessages({ model: claude, max_tokens: 20, fallbacks: ['gpt-4.1'], messages: [{ role: 'user', content: 'x' }] });
      expect(messages.headers['x-relay-fallback']).toBe('claude-sonnet-4->gpt-4.1');
      expect(anthropicUpstream.requests.every((sent) => !('fallbacks' in sent.body))).toBe(true);
      expect(openaiUpstream.requests[0]?.body).not.toHaveProperty('fallbacks');
    });

    it('estimates count_tokens with a tokenizer', async () => {
      const { data, response } = await anthropic.messages
        .countTokens({ model: claude, system: 'You are a helpful assistant.', messages: [{ role: 'user', content: 'The quick brown fox jumps over the lazy dog. '.repeat(20) }] })
        .withResponse();
      expect(data.input_tokens).toBeGreaterThan(180);
      expect(data.input_tokens).toBeLessThan(260);
      expect(response.headers.get('x-relay-token-count')).toBe('estimate');
      expect(anthropicUpstream.requests).toHaveLength(0);
    });
  });

  describe('DeepSeek in thinking mode, through a translation: a tool turn goes back with its reasoning', () => {
    const toolLoop = (model: string): Anthropic.MessageCreateParamsNonStreaming => ({
      model,
      max_tokens: 200,
      thinking: { type: 'enabled', budget_tokens: 100 },
      tools: [{ name: 'weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        // The relay's own translation of DeepSeek's reasoning: a thinking block without a signature.
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'Need the weather.', signature: '' }, { type: 'tool_use', id: 'call_1', name: 'weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: 'Sunny.' }] },
      ],
    });
    const sentAssistant = () => (openaiUpstream.requests[0]?.body as { messages: Array<Record<string, unknown>> }).messages.find((message) => message.role === 'assistant');

    it("sends a Messages client's thinking of a tool turn to DeepSeek as that turn's reasoning_content", async () => {
      await anthropic.messages.create(toolLoop('deepseek-reasoner'));
      expect(sentAssistant()).toMatchObject({ role: 'assistant', reasoning_content: 'Need the weather.', tool_calls: [{ id: 'call_1' }] });
    });

    it('gives an OpenAI client’s tool turn that came back without it an empty reasoning_content, which DeepSeek takes', async () => {
      await openai.chat.completions.create({
        model: 'deepseek-reasoner',
        messages: [
          { role: 'user', content: 'Weather in Paris?' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: 'Sunny.' },
        ],
      });
      expect(sentAssistant()).toMatchObject({ reasoning_content: '', tool_calls: [{ id: 'call_1' }] });
    });

    it("sends a Responses client's reasoning item to DeepSeek as the reasoning_content of the tool turn after it", async () => {
      await openai.responses.create({
        model: 'deepseek-reasoner',
        input: [
          { role: 'user', content: 'Weather in Paris?' },
          { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'Need the weather.' }] },
          { type: 'function_call', call_id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' },
          { type: 'function_call_output', call_id: 'call_1', output: 'Sunny.' },
        ],
        tools: [{ type: 'function', name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false }],
      });
      expect(sentAssistant()).toMatchObject({ role: 'assistant', content: null, reasoning_content: 'Need the weather.', tool_calls: [{ id: 'call_1' }] });
      expect((openaiUpstream.requests[0]?.body as { messages: unknown[] }).messages).toHaveLength(3);
    });

    it('sends no reasoning_content to another model, whose server would refuse the field', async () => {
      await anthropic.messages.create(toolLoop('gpt-4.1'));
      expect(sentAssistant()).toMatchObject({ role: 'assistant', tool_calls: [{ id: 'call_1' }] });
      expect(sentAssistant()).not.toHaveProperty('reasoning_content');
    });
  });

  describe('an Anthropic provider with its own anthropic-beta', () => {
    let betaRelay: StartedRelay;

    beforeAll(async () => {
      const directory = mkdtempSync(join(tmpdir(), 'relay-anthropic-beta-'));
      writeFileSync(join(directory, 'relay.yaml'), `providers:\n  anthropic: { type: anthropic, baseUrl: "${anthropicUpstream.origin}", headers: { Anthropic-Beta: "token-efficient-tools-2025-02-19" } }\n`);
      betaRelay = await startRelay({ ANTHROPIC_API_KEY: anthropicKey }, directory);
    });
    afterAll(async () => {
      await betaRelay.close();
    });

    it('sends its own features with every request, and the client’s after them, each once', async () => {
      const client = new Anthropic({ apiKey: masterKey, baseURL: betaRelay.url, maxRetries: 0 });
      await client.messages.create({ model: claude, max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });
      await client.beta.messages.create({ model: claude, max_tokens: 20, messages: [{ role: 'user', content: 'hi' }], betas: ['token-efficient-tools-2025-02-19', 'context-1m-2025-08-07'] });
      expect(anthropicUpstream.requests.map((sent) => sent.headers['anthropic-beta'])).toEqual(['token-efficient-tools-2025-02-19', 'token-efficient-tools-2025-02-19,context-1m-2025-08-07']);
    });
  });

  describe('a streamed tool call translated from an OpenAI upstream', () => {
    let toolServer: Server;
    let toolRelay: StartedRelay;

    beforeAll(async () => {
      // An OpenAI-compatible upstream that streams one tool call in fragments, as OpenAI does.
      toolServer = createServer((_request, response) => {
        const base = { id: 'chatcmpl-stream-tools', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1' };
        const deltas = [
          { role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '' } }] },
          { tool_calls: [{ index: 0, function: { arguments: '{"ci' } }] },
          { tool_calls: [{ index: 0, function: { arguments: 'ty":"Rome"}' } }] },
        ];
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const delta of deltas) response.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`);
        response.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] })}\n\n`);
        response.write(`data: ${JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 20, completion_tokens: 8, total_tokens: 28 } })}\n\n`);
        response.end('data: [DONE]\n\n');
      });
      await new Promise<void>((resolve) => toolServer.listen(0, '127.0.0.1', resolve));
      toolRelay = await startRelay({ HOLYSHEEP_API_KEY: holysheepKey, HOLYSHEEP_BASE_URL: `http://127.0.0.1:${(toolServer.address() as AddressInfo).port}/v1` });
    });
    afterAll(async () => {
      await toolRelay.close();
      toolServer.closeAllConnections();
      await new Promise<void>((resolve) => toolServer.close(() => resolve()));
    });

    it('arrives as a tool_use block with input_json_delta events', async () => {
      const client = new Anthropic({ apiKey: masterKey, baseURL: toolRelay.url, maxRetries: 0 });
      const jsonFragments: string[] = [];
      const stream = client.messages.stream({ model: 'gpt-4.1', max_tokens: 100, tools: [weatherTool], messages: [{ role: 'user', content: 'Rome?' }] });
      stream.on('inputJson', (fragment) => jsonFragments.push(fragment));
      const message = await stream.finalMessage();
      expect(jsonFragments).toEqual(['{"ci', 'ty":"Rome"}']);
      expect(message.content).toEqual([{ type: 'tool_use', id: 'call_9', name: 'get_weather', input: { city: 'Rome' } }]);
      expect(message.stop_reason).toBe('tool_use');
      expect(message.usage).toMatchObject({ input_tokens: 20, output_tokens: 8 });
    });
  });
});
