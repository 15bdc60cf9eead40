import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { BadRequestError } from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.js';
import { MockAnthropicUpstream, redactedThinkingData, thinkingSignature } from './support/mock-anthropic-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

/**
 * Claude's extended thinking for OpenAI clients: `reasoning_effort` turns it on, the thinking comes
 * back as `reasoning_content`, and a tool loop keeps it from turn to turn — through the official
 * OpenAI SDK, against a mock Anthropic upstream that thinks and checks as Anthropic does.
 */

const anthropicKey = 'sk-ant-upstream-thinking-7a6b5c4d3e';
const searchTool: OpenAI.ChatCompletionFunctionTool = {
  type: 'function',
  function: { name: 'search_docs', description: 'Searches the documentation', parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } },
};

/** `reasoning_content` is not in the OpenAI SDK's types: read as clients of DeepSeek-style servers read it. */
const reasoningOf = (value: object | undefined) => (value as { reasoning_content?: string } | undefined)?.reasoning_content;

describe('reasoning_effort on Claude (extended thinking) through the OpenAI SDK', () => {
  const upstream = new MockAnthropicUpstream();
  let relay: StartedRelay;
  let openai: OpenAI;
  const environment = () => ({ ANTHROPIC_API_KEY: anthropicKey, ANTHROPIC_BASE_URL: upstream.origin });

  beforeAll(async () => {
    await upstream.start();
    relay = await startRelay(environment());
    openai = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
  });
  afterAll(async () => {
    await relay.close();
    await upstream.stop();
  });
  beforeEach(() => upstream.reset());

  it('thinks with the budget of the effort and answers the thinking as reasoning_content, apart from the content', async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'Why is the sky blue?' }], reasoning_effort: 'medium' })
      .withResponse();
    const message = data.choices[0]!.message;
    expect(message.content).toBe('echo: Why is the sky blue?');
    expect(reasoningOf(message)).toBe('Thinking about: Why is the sky blue?');
    expect(response.headers.get('x-relay-dropped-params')).toBeNull();
    // Thinking is output: Anthropic's output_tokens already count it, and so does completion_tokens.
    expect(data.usage).toMatchObject({ prompt_tokens: 17, completion_tokens: 6, total_tokens: 23 });
    const sent = upstream.requests[0]!.body;
    expect(sent.thinking).toEqual({ type: 'enabled', budget_tokens: 8192 });
    expect(sent.max_tokens).toBe(64_000);
  });

  it('streams the thinking as delta.reasoning_content, never in delta.content', async () => {
    const stream = await openai.chat.completions.create({
      model: 'claude-sonnet-4',
      messages: [{ role: 'user', content: 'Count to three' }],
      reasoning_effort: 'low',
      stream: true,
      stream_options: { include_usage: true },
    });
    let reasoning = '';
    let content = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta;
      reasoning += reasoningOf(delta) ?? '';
      content += delta?.content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(reasoning).toBe('Thinking about: Count to three');
    expect(content).toBe('echo: Count to three');
    expect(usage).toMatchObject({ completion_tokens: 6 });
    expect(upstream.requests[0]!.body.thinking).toEqual({ type: 'enabled', budget_tokens: 1024 });
  });

  it('keeps the budget under max_tokens, and leaves thinking off for none and for a max_tokens too small to think', async () => {
    await openai.chat.completions.create({ model: 'claude-sonnet-4.5', messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'high', max_completion_tokens: 3000 });
    expect(upstream.requests[0]!.body).toMatchObject({ model: 'claude-sonnet-4-5', max_tokens: 3000, thinking: { type: 'enabled', budget_tokens: 2999 } });

    const off = await openai.chat.completions.create({ model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'none' }).withResponse();
    expect(upstream.requests[1]!.body).not.toHaveProperty('thinking');
    expect(reasoningOf(off.data.choices[0]!.message)).toBeUndefined();
    expect(off.response.headers.get('x-relay-dropped-params')).toBeNull();

    const small = await openai.chat.completions.create({ model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'low', max_tokens: 800 }).withResponse();
    expect(upstream.requests[2]!.body).not.toHaveProperty('thinking');
    expect(small.response.headers.get('x-relay-dropped-params')).toBe('reasoning_effort');
  });

  it('keeps the thinking of a tool call for the next turn, so the tool loop thinks on (JSON, then a stream)', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Find the docs, and redact nothing' }];
    const first = await openai.chat.completions.create({ model: 'claude-sonnet-4', messages, tools: [searchTool], reasoning_effort: 'low' });
    const call = first.choices[0]!.message;
    expect(call.tool_calls).toHaveLength(1);
    expect(reasoningOf(call)).toBe('Thinking about: Find the docs, and redact nothing');
    // The assistant message as the client sends it back: OpenAI's fields only.
    messages.push({ role: 'assistant', content: call.content, tool_calls: call.tool_calls });
    const toolCall = call.tool_calls![0]!;
    messages.push({ role: 'tool', tool_call_id: toolCall.id, content: 'Relay docs, 3 hits' });

    const stream = await openai.chat.completions.create({ model: 'claude-sonnet-4', messages, tools: [searchTool], reasoning_effort: 'low', stream: true }).withResponse();
    let content = '';
    for await (const chunk of stream.data) content += chunk.choices[0]?.delta.content ?? '';
    expect(content).toBe('tool said: Relay docs, 3 hits');
    expect(stream.response.headers.get('x-relay-dropped-params')).toBeNull();

    const replayed = upstream.requests[1]!.body;
    expect(replayed.thinking).toEqual({ type: 'enabled', budget_tokens: 1024 });
    const thinking = 'Thinking about: Find the docs, and redact nothing';
    expect((replayed.messages as Array<{ role: string; content: unknown }>)[1]).toEqual({
      role: 'assistant',
      content: [
        { type: 'thinking', thinking, signature: thinkingSignature(thinking) },
        { type: 'redacted_thinking', data: redactedThinkingData },
        { type: 'text', text: 'Let me look that up.' },
        { type: 'tool_use', id: toolCall.id, name: 'search_docs', input: expect.any(Object) },
      ],
    });
  });

  it("recalls a tool loop's thinking for the key that made it alone: another key with the same call id gets none of it", async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Find the private notes' }];
    const first = await openai.chat.completions.create({ model: 'claude-sonnet-4', messages, tools: [searchTool], reasoning_effort: 'low' });
    const call = first.choices[0]!.message;
    messages.push({ role: 'assistant', content: call.content, tool_calls: call.tool_calls });
    messages.push({ role: 'tool', tool_call_id: call.tool_calls![0]!.id, content: 'Notes found' });

    const created = await request(`${relay.url}/admin/keys`, { method: 'POST', headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'other-team' }) });
    const other = new OpenAI({ apiKey: ((await created.body.json()) as { key: string }).key, baseURL: relay.baseURL, maxRetries: 0 });
    const { data, response } = await other.chat.completions.create({ model: 'claude-sonnet-4', messages, tools: [searchTool], reasoning_effort: 'low' }).withResponse();
    expect(data.choices[0]!.message.content).toBe('tool said: Notes found');
    // The other key's request goes as one the relay holds no thinking for: without thinking, and says so.
    expect(response.headers.get('x-relay-dropped-params')).toBe('reasoning_effort');
    const sent = upstream.requests[1]!.body;
    expect(sent.thinking).toBeUndefined();
    expect(JSON.stringify(sent.messages)).not.toContain('Thinking about: Find the private notes');
  });

  it('keeps the thinking of a streamed tool call as well, redacted blocks included', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Search, but redact your reasoning' }];
    const stream = await openai.chat.completions.create({ model: 'claude-sonnet-4', messages, tools: [searchTool], reasoning_effort: 'low', stream: true });
    const calls = new Map<number, { id: string; name: string; arguments: string }>();
    let reasoning = '';
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta;
      reasoning += reasoningOf(delta) ?? '';
      for (const fragment of delta?.tool_calls ?? []) {
        const seen = calls.get(fragment.index) ?? { id: '', name: '', arguments: '' };
        seen.id ||= fragment.id ?? '';
        seen.name ||= fragment.function?.name ?? '';
        seen.arguments += fragment.function?.arguments ?? '';
        calls.set(fragment.index, seen);
      }
    }
    // The redacted block has no text: only the readable thinking reaches the client.
    expect(reasoning).toBe('Thinking about: Search, but redact your reasoning');
    const toolCall = calls.get(0)!;
    messages.push({ role: 'assistant', content: null, tool_calls: [{ id: toolCall.id, type: 'function', function: { name: toolCall.name, arguments: toolCall.arguments } }] });
    messages.push({ role: 'tool', tool_call_id: toolCall.id, content: 'found it' });
    const answer = await openai.chat.completions.create({ model: 'claude-sonnet-4', messages, tools: [searchTool], reasoning_effort: 'low' }).withResponse();
    expect(answer.data.choices[0]!.message.content).toBe('tool said: found it');
    expect(answer.response.headers.get('x-relay-dropped-params')).toBeNull();
    const replayed = (upstream.requests[1]!.body.messages as Array<{ content: Array<{ type: string }> }>)[1]!.content;
    expect(replayed.map((block) => block.type)).toEqual(['thinking', 'redacted_thinking', 'tool_use']);
  });

  it('sends a tool loop another relay answered (or one from before a restart) without thinking, and says so, instead of failing', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Find the docs' }];
    const first = await openai.chat.completions.create({ model: 'claude-sonnet-4', messages, tools: [searchTool], reasoning_effort: 'low' });
    const call = first.choices[0]!.message;
    expect(reasoningOf(call)).toBe('Thinking about: Find the docs');
    messages.push({ role: 'assistant', content: call.content, tool_calls: call.tool_calls }, { role: 'tool', tool_call_id: call.tool_calls![0]!.id, content: 'Relay docs' });

    // What Anthropic answers to the loop with thinking on and without the thinking of its turn
    // (an Anthropic-format request, which the relay passes on as it came).
    const refused = await request(`${relay.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': masterKey, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({
        model: 'claude-sonnet-4',
        max_tokens: 4000,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        messages: [
          { role: 'user', content: 'Find the docs' },
          { role: 'assistant', content: [{ type: 'tool_use', id: call.tool_calls![0]!.id, name: 'search_docs', input: {} }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.tool_calls![0]!.id, content: 'Relay docs' }] },
        ],
      }),
    });
    expect(refused.statusCode).toBe(400);
    expect(((await refused.body.json()) as { error: { message: string } }).error.message).toMatch(/Expected `thinking` or `redacted_thinking`, but found `tool_use`/);

    const other = await startRelay(environment());
    try {
      const client = new OpenAI({ apiKey: masterKey, baseURL: other.baseURL, maxRetries: 0 });
      upstream.reset();
      const { data, response } = await client.chat.completions.create({ model: 'claude-sonnet-4', messages, tools: [searchTool], reasoning_effort: 'low' }).withResponse();
      expect(data.choices[0]!.message.content).toBe('tool said: Relay docs');
      expect(reasoningOf(data.choices[0]!.message)).toBeUndefined();
      expect(response.headers.get('x-relay-dropped-params')).toBe('reasoning_effort');
      expect(upstream.requests).toHaveLength(1);
      expect(upstream.requests[0]!.body).not.toHaveProperty('thinking');

      // In strict mode the relay refuses instead, naming the parameter.
      const strict = await client.chat.completions
        .create({ model: 'claude-sonnet-4', messages, tools: [searchTool], reasoning_effort: 'low' }, { headers: { 'x-relay-strict': '1' } })
        .catch((error: unknown) => error);
      expect(strict).toBeInstanceOf(BadRequestError);
      expect((strict as BadRequestError).param).toBe('reasoning_effort');
    } finally {
      await other.close();
    }
  });

  it('drops the sampling parameters Claude refuses while thinking, and leaves thinking off for a forced tool', async () => {
    const sampled = await openai.chat.completions
      .create({ model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'low', temperature: 0.2 })
      .withResponse();
    expect(sampled.response.headers.get('x-relay-dropped-params')).toBe('temperature');
    expect(reasoningOf(sampled.data.choices[0]!.message)).toBe('Thinking about: x');
    expect(upstream.requests[0]!.body).not.toHaveProperty('temperature');

    const strict = await openai.chat.completions
      .create({ model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'low', temperature: 0.2 }, { headers: { 'x-relay-strict': '1' } })
      .catch((error: unknown) => error);
    expect(strict).toBeInstanceOf(BadRequestError);
    expect((strict as BadRequestError).param).toBe('temperature');
    expect(upstream.requests).toHaveLength(1);

    const forced = await openai.chat.completions
      .create({ model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'x' }], tools: [searchTool], tool_choice: 'required', reasoning_effort: 'low' })
      .withResponse();
    expect((forced.data.choices[0]!.message.tool_calls?.[0] as OpenAI.ChatCompletionMessageFunctionToolCall | undefined)?.function.name).toBe('search_docs');
    expect(forced.response.headers.get('x-relay-dropped-params')).toBe('reasoning_effort');
    expect(upstream.requests[1]!.body).toMatchObject({ tool_choice: { type: 'any' } });
    expect(upstream.requests[1]!.body).not.toHaveProperty('thinking');
  });

  it('thinks adaptively on Claude 4.7 and later: thinking adaptive with output_config.effort, no budget, nothing dropped', async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: 'claude-opus-4-7', messages: [{ role: 'user', content: 'Why is the sky blue?' }], reasoning_effort: 'high' })
      .withResponse();
    expect(response.headers.get('x-relay-dropped-params')).toBeNull();
    expect(data.choices[0]!.message.content).toBe('echo: Why is the sky blue?');
    expect(reasoningOf(data.choices[0]!.message)).toBe('Thinking about: Why is the sky blue?');
    const sent = upstream.requests[0]!.body;
    // Claude 4.7 and later leave the thinking's text out unless asked for it (display): without it, reasoning_content above would be empty.
    expect(sent.thinking).toEqual({ type: 'adaptive', display: 'summarized' });
    expect(sent.output_config).toEqual({ effort: 'high' });
    expect(JSON.stringify(sent)).not.toContain('budget_tokens');

    // Streamed, on a Claude 5 model, with a max_tokens far below any budget (adaptive thinking has none).
    const stream = await openai.chat.completions.create({ model: 'claude-sonnet-5', messages: [{ role: 'user', content: 'Count to three' }], reasoning_effort: 'minimal', max_tokens: 600, stream: true }).withResponse();
    let reasoning = '';
    for await (const chunk of stream.data) reasoning += reasoningOf(chunk.choices[0]?.delta) ?? '';
    expect(reasoning).toBe('Thinking about: Count to three');
    expect(stream.response.headers.get('x-relay-dropped-params')).toBeNull();
    expect(upstream.requests[1]!.body).toMatchObject({ model: 'claude-sonnet-5', max_tokens: 600, thinking: { type: 'adaptive' }, output_config: { effort: 'low' } });

    // xhigh where the model takes it; Opus 4.6, which has no xhigh, gets max.
    await openai.chat.completions.create({ model: 'claude-opus-4-7', messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'xhigh' as OpenAI.ReasoningEffort });
    await openai.chat.completions.create({ model: 'claude-opus-4-6', messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'xhigh' as OpenAI.ReasoningEffort });
    expect(upstream.requests.slice(2).map((sent) => [sent.body.thinking, sent.body.output_config])).toEqual([
      [{ type: 'adaptive', display: 'summarized' }, { effort: 'xhigh' }],
      [{ type: 'adaptive' }, { effort: 'max' }],
    ]);

    // Models before 4.6 keep the budget form.
    await openai.chat.completions.create({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'high' });
    expect(upstream.requests[4]!.body.thinking).toEqual({ type: 'enabled', budget_tokens: 24576 });
    expect(upstream.requests[4]!.body).not.toHaveProperty('output_config');
  });

  it('keeps the thinking of a tool loop on Claude 4.7 and later, and drops what adaptive thinking refuses as the budget form did', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Find the docs' }];
    const first = await openai.chat.completions.create({ model: 'claude-opus-4-7', messages, tools: [searchTool], reasoning_effort: 'medium' });
    const call = first.choices[0]!.message;
    messages.push({ role: 'assistant', content: call.content, tool_calls: call.tool_calls }, { role: 'tool', tool_call_id: call.tool_calls![0]!.id, content: 'Relay docs' });
    const { data, response } = await openai.chat.completions.create({ model: 'claude-opus-4-7', messages, tools: [searchTool], reasoning_effort: 'medium' }).withResponse();
    expect(data.choices[0]!.message.content).toBe('tool said: Relay docs');
    expect(response.headers.get('x-relay-dropped-params')).toBeNull();
    const replayed = upstream.requests[1]!.body;
    expect(replayed).toMatchObject({ thinking: { type: 'adaptive' }, output_config: { effort: 'medium' } });
    expect((replayed.messages as Array<{ content: Array<{ type: string }> }>)[1]!.content.map((block) => block.type)).toEqual(['thinking', 'text', 'tool_use']);

    const sampled = await openai.chat.completions.create({ model: 'claude-opus-4-7', messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'low', temperature: 0.2 }).withResponse();
    expect(sampled.response.headers.get('x-relay-dropped-params')).toBe('temperature');
    expect(upstream.requests[2]!.body).not.toHaveProperty('temperature');

    const forced = await openai.chat.completions
      .create({ model: 'claude-sonnet-5', messages: [{ role: 'user', content: 'x' }], tools: [searchTool], tool_choice: 'required', reasoning_effort: 'low' })
      .withResponse();
    expect(forced.response.headers.get('x-relay-dropped-params')).toBe('reasoning_effort');
    expect(upstream.requests[3]!.body).not.toHaveProperty('thinking');
    expect(upstream.requests[3]!.body).not.toHaveProperty('output_config');
  });

  it('passes an Anthropic client\'s adaptive thinking and output_config to Claude as they came, and Claude 4.7 refuses the budget form as Anthropic does', async () => {
    const body = {
      model: 'claude-opus-4-7',
      max_tokens: 2000,
      thinking: { type: 'adaptive' },
      output_config: { effort: 'xhigh', format: { type: 'json_schema', schema: { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false } } },
      messages: [{ role: 'user', content: 'Why is the sky blue?' }],
    };
    const passed = await request(`${relay.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': masterKey, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: JSON.stringify(body) });
    expect(passed.statusCode).toBe(200);
    expect(passed.headers['x-relay-dropped-params']).toBeUndefined();
    const answer = (await passed.body.json()) as { content: Array<{ type: string }> };
    expect(answer.content.map((block) => block.type)).toEqual(['thinking', 'text']);
    expect(upstream.requests[0]!.body).toEqual(body);

    const refused = await request(`${relay.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': masterKey, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ ...body, thinking: { type: 'enabled', budget_tokens: 1024 }, output_config: undefined }),
    });
    expect(refused.statusCode).toBe(400);
    expect(((await refused.body.json()) as { error: { message: string } }).error.message).toMatch(/thinking\.type\.enabled is not supported for this model/);
  });

  it('sends Claude Opus 4.7 a request again without the sampling parameter it refuses as deprecated, reported, and its next requests without it at once', async () => {
    const messages = [{ role: 'user' as const, content: 'hello' }];
    const { data, response } = await openai.chat.completions.create({ model: 'claude-opus-4-7', messages, temperature: 0.7 }).withResponse();
    expect(data.choices[0]!.message.content).toBe('echo: hello');
    expect(response.headers.get('x-relay-dropped-params')).toBe('temperature');
    expect(response.headers.get('x-relay-attempts')).toBe('1');
    expect(upstream.requests.map((sent) => sent.body.temperature)).toEqual([0.7, undefined]);

    // Remembered for the model: a stream goes without it at once, reported all the same.
    upstream.reset();
    const stream = await openai.chat.completions.create({ model: 'claude-opus-4-7', messages, temperature: 0.7, stream: true }).withResponse();
    let text = '';
    for await (const chunk of stream.data) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).not.toBe('');
    expect(stream.response.headers.get('x-relay-dropped-params')).toBe('temperature');
    expect(upstream.requests.map((sent) => sent.body.temperature)).toEqual([undefined]);

    // Strict mode refuses it, naming it, before any call; a model before 4.7 still gets its temperature.
    upstream.reset();
    const strict = await openai.chat.completions.create({ model: 'claude-opus-4-7', messages, temperature: 0.7 }, { headers: { 'x-relay-strict': '1' } }).catch((caught: unknown) => caught);
    expect(strict).toBeInstanceOf(BadRequestError);
    expect((strict as BadRequestError).param).toBe('temperature');
    expect(upstream.requests).toHaveLength(0);
    await openai.chat.completions.create({ model: 'claude-sonnet-4-5', messages, temperature: 0.7 });
    expect(upstream.requests.map((sent) => sent.body.temperature)).toEqual([0.7]);
  });

  it("sends a Claude model of a later version max_tokens 64000 when the client gives none, and the model's own limit once a refusal names it", async () => {
    const messages = [{ role: 'user' as const, content: 'hello' }];
    upstream.setOutputLimits({ 'claude-haiku-5': 32_000 });
    const { data, response } = await openai.chat.completions.create({ model: 'claude-haiku-5', messages }).withResponse();
    expect(data.choices[0]!.message.content).toBe('echo: hello');
    expect(response.headers.get('x-relay-attempts')).toBe('1');
    expect(response.headers.get('x-relay-dropped-params')).toBeNull();
    expect(upstream.requests.map((sent) => sent.body.max_tokens)).toEqual([64_000, 32_000]);

    // Remembered for the model: a stream goes with its limit at once.
    upstream.reset();
    upstream.setOutputLimits({ 'claude-haiku-5': 32_000 });
    const stream = await openai.chat.completions.create({ model: 'claude-haiku-5', messages, stream: true });
    for await (const chunk of stream) void chunk;
    expect(upstream.requests.map((sent) => sent.body.max_tokens)).toEqual([32_000]);

    // A client's own max_tokens above the limit gets Anthropic's refusal, as from Anthropic itself.
    upstream.reset();
    upstream.setOutputLimits({ 'claude-haiku-5': 32_000 });
    const refused = await openai.chat.completions.create({ model: 'claude-haiku-5', messages, max_tokens: 50_000 }).catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(BadRequestError);
    expect((refused as BadRequestError).message).toContain('max_tokens: 50000 > 32000, which is the maximum allowed number of output tokens');
    expect(upstream.requests).toHaveLength(1);
  });

  it('serves response_format json_schema on Claude 5.5 and later by structured outputs (they refuse forced tool use), thinking beside it, and sends a forced tool_choice as auto, reported', async () => {
    const messages = [{ role: 'user' as const, content: 'Plan a trip' }];
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false };
    const responseFormat = { type: 'json_schema' as const, json_schema: { name: 'reply', schema, strict: true } };
    const { data, response } = await openai.chat.completions.create({ model: 'claude-sonnet-5-5', messages, response_format: responseFormat, reasoning_effort: 'low' }).withResponse();
    expect(JSON.parse(data.choices[0]!.message.content!)).toHaveProperty('answer');
    expect(response.headers.get('x-relay-dropped-params')).toBeNull();
    expect(upstream.requests[0]!.body).toMatchObject({ output_config: { format: { type: 'json_schema', schema }, effort: 'low' }, thinking: { type: 'adaptive' } });
    expect(upstream.requests[0]!.body).not.toHaveProperty('tool_choice');
    expect(upstream.requests[0]!.body).not.toHaveProperty('tools');

    const forced = await openai.chat.completions.create({ model: 'claude-sonnet-5-5', messages, tools: [searchTool], tool_choice: 'required' }).withResponse();
    expect(forced.response.headers.get('x-relay-dropped-params')).toBe('tool_choice');
    expect(upstream.requests[1]!.body.tool_choice).toEqual({ type: 'auto' });
    expect(forced.data.choices[0]!.message.tool_calls?.[0]).toBeDefined();

    // Claude 5, which takes forced tool use, still gets the forced tool.
    const before = await openai.chat.completions.create({ model: 'claude-sonnet-5', messages, response_format: responseFormat });
    expect(JSON.parse(before.choices[0]!.message.content!)).toHaveProperty('answer');
    expect(upstream.requests[2]!.body.tool_choice).toMatchObject({ type: 'tool' });
  });

  it('sends a tool loop on Claude 5 and later, which think unasked, its thinking blocks back though the client asked for no thinking', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Find the docs' }];
    const first = await openai.chat.completions.create({ model: 'claude-sonnet-5-5', messages, tools: [searchTool] });
    const call = first.choices[0]!.message;
    expect(call.tool_calls).toHaveLength(1);
    messages.push({ role: 'assistant', content: call.content, tool_calls: call.tool_calls }, { role: 'tool', tool_call_id: call.tool_calls![0]!.id, content: 'Relay docs' });
    const { data, response } = await openai.chat.completions.create({ model: 'claude-sonnet-5-5', messages, tools: [searchTool] }).withResponse();
    expect(data.choices[0]!.message.content).toBe('tool said: Relay docs');
    expect(response.headers.get('x-relay-dropped-params')).toBeNull();
    const replayed = upstream.requests[1]!.body;
    expect(replayed).not.toHaveProperty('thinking');
    expect((replayed.messages as Array<{ content: Array<{ type: string }> }>)[1]!.content.map((block) => block.type)).toEqual(['thinking', 'text', 'tool_use']);
  });

  it('reports reasoning_effort on a Claude model without extended thinking, as before', async () => {
    const { response } = await openai.chat.completions.create({ model: 'claude-3-5-haiku-20241022', messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'low' }).withResponse();
    expect(response.headers.get('x-relay-dropped-params')).toBe('reasoning_effort');
    expect(upstream.requests[0]!.body).not.toHaveProperty('thinking');
  });

  it('thinks for a Responses API request with reasoning.effort, whose thinking comes back as a reasoning item', async () => {
    const response = await openai.responses.create({ model: 'claude-sonnet-4', input: 'Why is the sky blue?', reasoning: { effort: 'medium' } });
    expect(upstream.requests[0]!.body.thinking).toEqual({ type: 'enabled', budget_tokens: 8192 });
    const reasoning = response.output.find((item) => item.type === 'reasoning') as OpenAI.Responses.ResponseReasoningItem | undefined;
    expect(reasoning?.summary.map((part) => part.text).join('')).toBe('Thinking about: Why is the sky blue?');
    expect(response.output_text).toBe('echo: Why is the sky blue?');
  });
});

describe('the thinking of a tool loop across the deployments of one relay', () => {
  const upstream = new MockAnthropicUpstream();
  let relay: StartedRelay;
  let openai: OpenAI;
  let directory: string;

  beforeAll(async () => {
    await upstream.start();
    directory = mkdtempSync(join(tmpdir(), 'relay-thinking-'));
    // Two keys of one Anthropic account: the second serves when the first is rate-limited.
    writeFileSync(
      join(directory, 'relay.yaml'),
      'models:\n  claude-sonnet-4:\n    groups:\n      - targets: [{ provider: anthropic, apiKey: sk-ant-first-key-0123456789 }]\n      - targets: [{ provider: anthropic, apiKey: sk-ant-second-key-0123456789 }]\n',
    );
    relay = await startRelay({ ANTHROPIC_API_KEY: anthropicKey, ANTHROPIC_BASE_URL: upstream.origin }, directory);
    openai = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
  });
  afterAll(async () => {
    await relay.close();
    await upstream.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  it('keeps thinking when the next turn of the loop is served with another key, and after a configuration reload', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Find the docs' }];
    const first = await openai.chat.completions.create({ model: 'claude-sonnet-4', messages, tools: [searchTool], reasoning_effort: 'low' });
    expect(upstream.requests[0]!.headers['x-api-key']).toBe('sk-ant-first-key-0123456789');
    const call = first.choices[0]!.message;
    messages.push({ role: 'assistant', content: call.content, tool_calls: call.tool_calls }, { role: 'tool', tool_call_id: call.tool_calls![0]!.id, content: 'Relay docs' });

    upstream.next({ kind: 'status', status: 429, message: 'Number of request tokens has exceeded your per-minute rate limit', headers: { 'retry-after': '30' } });
    const { data, response } = await openai.chat.completions.create({ model: 'claude-sonnet-4', messages, tools: [searchTool], reasoning_effort: 'low' }).withResponse();
    expect(data.choices[0]!.message.content).toBe('tool said: Relay docs');
    expect(response.headers.get('x-relay-dropped-params')).toBeNull();
    const served = upstream.requests[2]!;
    expect(served.headers['x-api-key']).toBe('sk-ant-second-key-0123456789');
    expect(served.body.thinking).toEqual({ type: 'enabled', budget_tokens: 1024 });
    expect((served.body.messages as Array<{ content: Array<{ type: string }> }>)[1]!.content.map((block) => block.type)).toEqual(['thinking', 'text', 'tool_use']);

    relay.server.reload(loadConfig({ environment: { RELAY_MASTER_KEY: masterKey, ANTHROPIC_API_KEY: anthropicKey, ANTHROPIC_BASE_URL: upstream.origin }, cwd: directory }));
    upstream.reset();
    const reloaded = await openai.chat.completions.create({ model: 'claude-sonnet-4', messages, tools: [searchTool], reasoning_effort: 'low' }).withResponse();
    expect(reloaded.response.headers.get('x-relay-dropped-params')).toBeNull();
    expect(upstream.requests.at(-1)!.body.thinking).toEqual({ type: 'enabled', budget_tokens: 1024 });
  });
});
