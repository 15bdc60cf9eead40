import Anthropic from '@anthropic-ai/sdk';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

/** Anthropic's pattern for `tool_use.id` and `tool_result.tool_use_id`. */
const anthropicToolIdPattern = /^[a-zA-Z0-9_-]+$/;
const weatherTool = { name: 'get_weather', description: 'Weather by city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] } };

type Received = { path: string; body: Record<string, unknown> };
type Reply = (body: Record<string, unknown>, response: ServerResponse) => void;

/**
 * One server speaking both wire formats the relay calls: OpenAI's chat completions under /v1 (as
 * HolySheep's base URL), Anthropic's Messages API at /v1/messages. Each checks a request as its
 * vendor does where the tests below need it, and answers with the reply a test scripts.
 */
class WireUpstream {
  server!: Server;
  origin = '';
  received: Received[] = [];
  chat: Reply = () => {};
  messages: Reply = () => {};

  async start(): Promise<void> {
    this.server = createServer((incoming: IncomingMessage, response: ServerResponse) => {
      let raw = '';
      incoming.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
      incoming.on('end', () => {
        const body = JSON.parse(raw || '{}') as Record<string, unknown>;
        this.received.push({ path: incoming.url ?? '', body });
        if (incoming.url === '/v1/messages') return this.answerMessages(body, response);
        return this.answerChat(body, response);
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /**
   * OpenAI refuses an assistant message whose content is null when it has no tool calls:
   * "Invalid value for 'content': expected a string, got null." (param `messages.[i].content`).
   */
  private answerChat(body: Record<string, unknown>, response: ServerResponse): void {
    const messages = (body.messages ?? []) as Array<{ role?: string; content?: unknown; tool_calls?: unknown[] }>;
    const index = messages.findIndex((message) => message.role === 'assistant' && (message.content === null || message.content === undefined) && !(Array.isArray(message.tool_calls) && message.tool_calls.length > 0));
    if (index !== -1) {
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { message: "Invalid value for 'content': expected a string, got null.", type: 'invalid_request_error', param: `messages.[${index}].content`, code: null } }));
      return;
    }
    this.chat(body, response);
  }

  /** Anthropic refuses a message without content but a final assistant one, in these words. */
  private answerMessages(body: Record<string, unknown>, response: ServerResponse): void {
    const messages = (body.messages ?? []) as Array<{ role?: string; content?: unknown }>;
    const last = messages.length - 1;
    const index = messages.findIndex((message, position) => (message.content === '' || (Array.isArray(message.content) && message.content.length === 0)) && !(position === last && message.role === 'assistant'));
    if (index !== -1) {
      response.writeHead(400, { 'content-type': 'application/json', 'request-id': 'req_upstream' });
      response.end(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: `messages.${index}: all messages must have non-empty content except for the optional final assistant message` } }));
      return;
    }
    this.messages(body, response);
  }
}

function chatAnswer(response: ServerResponse, model: unknown, message: Record<string, unknown>, finishReason: string): void {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ id: 'chatcmpl-wire', object: 'chat.completion', created: 1, model, choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finishReason }], usage: { prompt_tokens: 20, completion_tokens: 9, total_tokens: 29 } }));
}

function chatStream(response: ServerResponse, model: unknown, deltas: Array<Record<string, unknown>>, finishReason: string): void {
  const base = { id: 'chatcmpl-wire', object: 'chat.completion.chunk', created: 1, model };
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const delta of deltas) response.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`);
  response.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: finishReason }] })}\n\n`);
  response.write(`data: ${JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 20, completion_tokens: 9, total_tokens: 29 } })}\n\n`);
  response.end('data: [DONE]\n\n');
}

function claudeAnswer(response: ServerResponse, model: unknown): void {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ id: 'msg_wire', type: 'message', role: 'assistant', model, content: [{ type: 'text', text: 'Sunny.' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 30, output_tokens: 3 } }));
}

describe('/v1/messages: shapes of the Messages API the relay must take and give', () => {
  const upstream = new WireUpstream();
  let relay: StartedRelay;
  let client: Anthropic;

  beforeAll(async () => {
    await upstream.start();
    relay = await startRelay({ HOLYSHEEP_API_KEY: 'hs-upstream-key-0123456789', HOLYSHEEP_BASE_URL: `${upstream.origin}/v1`, ANTHROPIC_API_KEY: 'sk-ant-upstream-key-0123456789', ANTHROPIC_BASE_URL: upstream.origin, MAX_RETRIES: '0' });
    client = new Anthropic({ apiKey: masterKey, baseURL: relay.url, maxRetries: 0 });
  });
  afterAll(async () => {
    await relay.close();
    await upstream.stop();
  });
  beforeEach(() => {
    upstream.received = [];
    upstream.chat = (body, response) => chatAnswer(response, body.model, { content: 'Sunny.' }, 'stop');
    upstream.messages = (body, response) => claudeAnswer(response, body.model);
  });

  it('passes tools that have no name (an MCP connector toolset) to Claude, and counts their tokens, as Anthropic takes them', async () => {
    const mcpServers = [{ type: 'url' as const, url: 'https://mcp.example.com/mcp', name: 'example-mcp' }];
    const tools = [{ type: 'mcp_toolset' as const, mcp_server_name: 'example-mcp' }];
    const message = await client.beta.messages.create({ model: 'claude-sonnet-4', max_tokens: 200, mcp_servers: mcpServers, tools, messages: [{ role: 'user', content: 'What is in the example repo?' }], betas: ['mcp-client-2025-11-20'] });
    expect(message.content).toEqual([{ type: 'text', text: 'Sunny.' }]);
    expect(upstream.received[0]?.body.tools).toEqual(tools);
    expect(upstream.received[0]?.body.mcp_servers).toEqual(mcpServers);

    const counted = await client.beta.messages.countTokens({ model: 'claude-sonnet-4', mcp_servers: mcpServers, tools, messages: [{ role: 'user', content: 'What is in the example repo?' }], betas: ['mcp-client-2025-11-20'] });
    expect(counted.input_tokens).toBeGreaterThan(0);
  });

  it('drops such a tool for a translated model, which cannot use it, naming it, and refuses it so in strict mode', async () => {
    const mcpServers = [{ type: 'url' as const, url: 'https://mcp.example.com/mcp', name: 'example-mcp' }];
    const ask = { model: 'gpt-4.1', max_tokens: 200, mcp_servers: mcpServers, tools: [weatherTool, { type: 'mcp_toolset' as const, mcp_server_name: 'example-mcp' }], messages: [{ role: 'user' as const, content: 'Weather in Rome?' }], betas: ['mcp-client-2025-11-20'] };
    const { data, response } = await client.beta.messages.create(ask).withResponse();
    expect(data.content).toEqual([{ type: 'text', text: 'Sunny.' }]);
    expect(response.headers.get('x-relay-dropped-params')).toBe('tools[1],mcp_servers');
    // The custom tool still reaches the model, as a function.
    expect(upstream.received[0]?.body.tools).toEqual([{ type: 'function', function: { name: 'get_weather', description: 'Weather by city', parameters: weatherTool.input_schema } }]);

    const strict = (await client.beta.messages.create(ask, { headers: { 'x-relay-strict': '1' } }).catch((caught: unknown) => caught)) as InstanceType<typeof Anthropic.BadRequestError>;
    expect(strict).toBeInstanceOf(Anthropic.BadRequestError);
    expect(strict.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining(`'tools[1]'`) } });
    expect((strict.error as { error: { message: string } }).error.message).toContain('the server tool "mcp_toolset" of the MCP server "example-mcp" runs at Anthropic only');
    expect(upstream.received).toHaveLength(1);
  });

  it('still refuses a tool that has neither a name nor a type, and a custom tool without a name', async () => {
    for (const tool of [{ description: 'nameless' }, { type: 'custom', input_schema: { type: 'object' } }]) {
      const refused = (await client.messages.create({ model: 'claude-sonnet-4', max_tokens: 20, tools: [tool as unknown as Anthropic.Tool], messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught)) as InstanceType<typeof Anthropic.BadRequestError>;
      expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
      expect(refused.error).toMatchObject({ error: { type: 'invalid_request_error', message: "Missing required parameter: 'tools[0].name'." } });
    }
    expect(upstream.received).toHaveLength(0);
  });

  it("gives each tool_use block an id of its own when an OpenAI-compatible server's calls have an empty id or none (Gemini's OpenAI endpoint, LM Studio), JSON and stream", async () => {
    const calls = (id: Record<string, unknown>) => [
      { ...id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
      { ...id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
    ];
    const ask = { model: 'gpt-4.1', max_tokens: 200, tools: [weatherTool], messages: [{ role: 'user' as const, content: 'Rome and Paris?' }] };
    const expectUsableIds = (content: Anthropic.ContentBlock[]) => {
      const ids = content.filter((block) => block.type === 'tool_use').map((block) => (block as Anthropic.ToolUseBlock).id);
      expect(ids).toHaveLength(2);
      for (const id of ids) expect(id).toMatch(anthropicToolIdPattern);
      // A client pairs each tool_result with its call by this id.
      expect(new Set(ids).size).toBe(2);
    };

    upstream.chat = (body, response) => chatAnswer(response, body.model, { content: null, tool_calls: calls({ id: '' }) }, 'tool_calls');
    expectUsableIds((await client.messages.create(ask)).content);

    upstream.chat = (body, response) => chatAnswer(response, body.model, { content: null, tool_calls: calls({}) }, 'tool_calls');
    expectUsableIds((await client.messages.create(ask)).content);

    upstream.chat = (body, response) => chatStream(response, body.model, calls({ id: '' }).map((call, index) => ({ tool_calls: [{ index, ...call }] })), 'tool_calls');
    expectUsableIds((await client.messages.stream(ask).finalMessage()).content);

    // Streamed without ids (StepFun), turn after turn: a conversation's tool_use ids never repeat, as Anthropic requires of them.
    upstream.chat = (body, response) => chatStream(response, body.model, calls({}).map((call, index) => ({ tool_calls: [{ index, ...call }] })), 'tool_calls');
    const turns = [await client.messages.stream(ask).finalMessage(), await client.messages.stream(ask).finalMessage()];
    for (const turn of turns) expectUsableIds(turn.content);
    const allIds = turns.flatMap((turn) => turn.content.filter((block) => block.type === 'tool_use').map((block) => (block as Anthropic.ToolUseBlock).id));
    expect(new Set(allIds).size).toBe(4);
  });

  /** What the relay answers a thinking request on a reasoning server that reached max_tokens before any answer text. */
  async function thinkingOnlyAnswer(): Promise<Anthropic.Message> {
    upstream.chat = (body, response) => chatAnswer(response, body.model, { content: null, reasoning_content: 'The user asks about the weather in Rome; I should' }, 'length');
    const answer = await client.messages.create({ model: 'gpt-4.1', max_tokens: 50, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'Weather in Rome?' }] });
    expect(answer.stop_reason).toBe('max_tokens');
    expect(answer.content.map((block) => block.type)).toEqual(['thinking']);
    upstream.chat = (body, response) => chatAnswer(response, body.model, { content: 'Sunny.' }, 'stop');
    return answer;
  }

  const goOn = (answer: Anthropic.Message): Anthropic.MessageParam[] => [
    { role: 'user', content: 'Weather in Rome?' },
    { role: 'assistant', content: answer.content as Anthropic.ContentBlockParam[] },
    { role: 'user', content: 'Just tell me in one word.' },
  ];

  it("goes on with a conversation whose earlier answer was a translated model's thinking alone (it stopped at max_tokens while reasoning)", async () => {
    const next = await client.messages.create({ model: 'gpt-4.1', max_tokens: 50, messages: goOn(await thinkingOnlyAnswer()) });
    expect(next.content).toEqual([{ type: 'text', text: 'Sunny.' }]);
  });

  it('moves such a conversation on to Claude without leaving that turn empty', async () => {
    const next = await client.messages.create({ model: 'claude-sonnet-4', max_tokens: 50, messages: goOn(await thinkingOnlyAnswer()) });
    expect(next.content).toEqual([{ type: 'text', text: 'Sunny.' }]);
  });

  it('sends that turn as an empty text to the translated model, and to Claude leaves it out between user turns joined into one, or empty when it is the last', async () => {
    const answer = await thinkingOnlyAnswer();
    await client.messages.create({ model: 'gpt-4.1', max_tokens: 50, messages: goOn(answer) });
    expect((upstream.received.at(-1)?.body.messages as unknown[])[1]).toEqual({ role: 'assistant', content: '' });

    await client.messages.create({ model: 'claude-sonnet-4', max_tokens: 50, messages: goOn(answer) });
    expect(upstream.received.at(-1)?.body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in Rome?' }, { type: 'text', text: 'Just tell me in one word.' }] },
    ]);
    // A final assistant turn may be empty (Claude goes on from it); it stays where it is.
    await client.messages.create({ model: 'claude-sonnet-4', max_tokens: 50, messages: goOn(answer).slice(0, 2) });
    expect(upstream.received.at(-1)?.body.messages).toEqual([
      { role: 'user', content: 'Weather in Rome?' },
      { role: 'assistant', content: [] },
    ]);
  });
});

describe('/v1/messages: a body larger than the relay takes', () => {
  let relay: StartedRelay;

  beforeAll(async () => {
    const directory = mkdtempSync(join(tmpdir(), 'relay-wire-'));
    writeFileSync(join(directory, 'relay.yaml'), 'server:\n  bodyLimitBytes: 4096\n');
    relay = await startRelay({ HOLYSHEEP_API_KEY: 'hs-upstream-key-0123456789', HOLYSHEEP_BASE_URL: 'http://127.0.0.1:9/v1' }, directory);
  });
  afterAll(async () => {
    await relay.close();
  });

  it('is a 413 request_too_large, as Anthropic answers it, JSON and when a stream was asked', async () => {
    for (const stream of [false, true]) {
      const response = await request(`${relay.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': masterKey, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'gpt-4.1', max_tokens: 10, stream, messages: [{ role: 'user', content: 'x'.repeat(10_000) }] }),
      });
      expect(response.statusCode).toBe(413);
      const body = (await response.body.json()) as { type: string; error: { type: string } };
      expect(body.type).toBe('error');
      expect(body.error.type).toBe('request_too_large');
    }
  });
});
