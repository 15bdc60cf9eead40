import { createOpenAI } from '@ai-sdk/openai';
import { generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import OpenAI, { APIError, AuthenticationError, BadRequestError, NotFoundError } from 'openai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SseParser } from '../src/sse/sse-parser.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';
import { threeVendors } from './support/three-vendors.js';

/**
 * `/v1/responses`, OpenAI's Responses API, served by translation to chat for every upstream: the
 * same program written against `client.responses` of the OpenAI SDK (and the Vercel AI SDK, whose
 * `openai(model)` speaks the Responses API) gets equivalent answers from a GPT, a Claude and a
 * Gemini model, each upstream a mock speaking its vendor's wire format.
 */

const holysheepKey = 'sk-upstream-holysheep-responses-0a1b2c3d';
const anthropicKey = 'sk-ant-upstream-responses-4e5f6a7b';
const geminiKey = 'AIzaSy-upstream-gemini-responses-8c9d0e';

const models = [
  { family: 'GPT', model: 'gpt-4.1', provider: 'holysheep' },
  { family: 'Claude', model: 'claude-sonnet-4', provider: 'anthropic' },
  { family: 'Gemini', model: 'gemini-2.5-flash', provider: 'gemini' },
] as const;

const prompt = 'Say hello to the relay';
const toolPrompt = 'Find the relay docs';
const toolResult = JSON.stringify({ title: 'Relay docs', hits: 3 });
const searchTool: OpenAI.Responses.FunctionTool = {
  type: 'function',
  name: 'search_docs',
  description: 'Searches the documentation',
  parameters: { type: 'object', properties: { query: { type: 'string' }, limit: { type: 'integer' } }, required: ['query', 'limit'] },
  strict: false,
};

function functionCalls(response: OpenAI.Responses.Response): OpenAI.Responses.ResponseFunctionToolCall[] {
  return response.output.filter((item): item is OpenAI.Responses.ResponseFunctionToolCall => item.type === 'function_call');
}

/** The text of a response's message items (what the SDK's `output_text` gives on a non-streamed response). */
function outputText(response: OpenAI.Responses.Response): string {
  return response.output.flatMap((item) => (item.type === 'message' ? item.content.flatMap((part) => (part.type === 'output_text' ? [part.text] : [])) : [])).join('');
}

function expectUsage(response: OpenAI.Responses.Response): void {
  expect(response.usage?.input_tokens).toBeGreaterThan(0);
  expect(response.usage?.output_tokens).toBeGreaterThan(0);
  expect(response.usage?.total_tokens).toBe((response.usage?.input_tokens ?? 0) + (response.usage?.output_tokens ?? 0));
}

/** A stream read as an application reads it, checking the wire's promises on the way. */
async function readStream(stream: AsyncIterable<OpenAI.Responses.ResponseStreamEvent>): Promise<{ types: string[]; deltas: string[]; final: OpenAI.Responses.Response }> {
  const types: string[] = [];
  const deltas: string[] = [];
  let final: OpenAI.Responses.Response | undefined;
  let sequence = -1;
  for await (const event of stream) {
    types.push(event.type);
    expect(event.sequence_number).toBe(sequence + 1);
    sequence = event.sequence_number;
    if (event.type === 'response.output_text.delta') deltas.push(event.delta);
    if (event.type === 'response.completed') final = event.response;
  }
  expect(final).toBeDefined();
  return { types, deltas, final: final! };
}

/** A key of the relay's, made through its admin API. */
async function createKey(relayUrl: string, name: string): Promise<{ key: string; id: string }> {
  const created = await request(`${relayUrl}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  return (await created.body.json()) as { key: string; id: string };
}

/** A key's usage by model, from the admin API. */
async function usageByModel(relayUrl: string, keyId: string): Promise<Array<{ group: string; requests: number; prompt_tokens: number; completion_tokens: number; cached_tokens: number }>> {
  const usage = await request(`${relayUrl}/admin/usage?group_by=model&key=${keyId}`, { headers: { authorization: `Bearer ${masterKey}` } });
  return ((await usage.body.json()) as { data: Awaited<ReturnType<typeof usageByModel>> }).data;
}

/** A `/v1/responses` stream's events as the wire carries them. */
async function rawEvents(relayUrl: string, body: Record<string, unknown>): Promise<Array<{ event?: string; data: string }>> {
  const raw = await request(`${relayUrl}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true }),
  });
  const parser = new SseParser();
  const events: Array<{ event?: string; data: string }> = [];
  for await (const chunk of raw.body) events.push(...parser.push(chunk as Buffer));
  return events;
}

describe('/v1/responses: one Responses API program, three vendors', () => {
  const vendors = threeVendors({ holysheep: holysheepKey, anthropic: anthropicKey, gemini: geminiKey });
  const { holysheep } = vendors;
  let relay: StartedRelay;
  let openai: OpenAI;

  beforeAll(async () => {
    relay = await vendors.start();
    openai = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
  });
  afterAll(() => vendors.stop());
  beforeEach(() => {
    holysheep.reset();
    // A real model streams the answer it would have given; the OpenAI mock does so on request.
    holysheep.setStreamDefaults({ likeJson: true });
  });

  describe.each(models)('$family ($model)', ({ model, provider }) => {
    it('answers a plain request with the text, a completed status and usage', async () => {
      const { data, response } = await openai.responses.create({ model, input: prompt }).withResponse();
      expect(data.object).toBe('response');
      expect(data.id).toMatch(/^resp_/);
      expect(data.status).toBe('completed');
      expect(data.model).toBe(model);
      expect(data.output_text).toBe(`echo: ${prompt}`);
      expect(data.output).toHaveLength(1);
      expect(data.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed' });
      expectUsage(data);
      expect(response.headers.get('x-relay-provider')).toBe(provider);
    });

    it('streams the same text as events in order, ending with the whole response', async () => {
      const { types, deltas, final } = await readStream(await openai.responses.create({ model, input: prompt, stream: true }));
      expect(deltas.join('')).toBe(`echo: ${prompt}`);
      expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
      expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
      expect(outputText(final)).toBe(`echo: ${prompt}`);
      expect(final.status).toBe('completed');
      expectUsage(final);
    });

    it('makes a function call and answers from its output (JSON, the items sent back whole)', async () => {
      const call = await openai.responses.create({ model, input: toolPrompt, tools: [searchTool] });
      const calls = functionCalls(call);
      expect(calls).toHaveLength(1);
      expect(calls[0]!.name).toBe('search_docs');
      expect(calls[0]!.call_id).not.toBe('');
      expect(Object.keys(JSON.parse(calls[0]!.arguments) as object).sort()).toEqual(['limit', 'query']);
      expectUsage(call);
      const answer = await openai.responses.create({
        model,
        tools: [searchTool],
        input: [{ role: 'user', content: toolPrompt }, ...(call.output as OpenAI.Responses.ResponseInputItem[]), { type: 'function_call_output', call_id: calls[0]!.call_id, output: toolResult }],
      });
      expect(functionCalls(answer)).toHaveLength(0);
      expect(answer.output_text).toContain(toolResult);
    });

    it('streams a function call, and takes it back by item reference', async () => {
      const streamed = await readStream(await openai.responses.create({ model, input: toolPrompt, tools: [searchTool], stream: true }));
      expect(streamed.types).toContain('response.function_call_arguments.delta');
      const calls = functionCalls(streamed.final);
      expect(calls).toHaveLength(1);
      expect(calls[0]!.id).toMatch(/^fc_/);
      const answer = await readStream(
        await openai.responses.create({
          model,
          tools: [searchTool],
          stream: true,
          input: [{ role: 'user', content: toolPrompt }, { type: 'item_reference', id: calls[0]!.id! }, { type: 'function_call_output', call_id: calls[0]!.call_id, output: toolResult }],
        }),
      );
      expect(outputText(answer.final)).toContain(toolResult);
    });
  });

  it('serves a custom tool as a function of one text argument, and its calls as custom_tool_call items', async () => {
    const patchTool: OpenAI.Responses.CustomTool = { type: 'custom', name: 'apply_patch', description: 'Applies a patch', format: { type: 'grammar', syntax: 'lark', definition: 'start: /.+/' } };
    const call = await openai.responses.create({ model: 'gpt-4.1', input: 'fix the bug', tools: [patchTool] });
    expect(call.output).toEqual([expect.objectContaining({ type: 'custom_tool_call', name: 'apply_patch', input: 'sample input', status: 'completed' })]);
    const item = call.output[0] as OpenAI.Responses.ResponseCustomToolCall;
    expect(item.id).toMatch(/^ctc_/);
    const sentTool = (holysheep.requests.at(-1)!.body.tools as Array<{ function: { name: string; description: string; parameters: unknown } }>)[0]!;
    expect(sentTool.function.name).toBe('apply_patch');
    expect(sentTool.function.description).toContain('start: /.+/');
    expect(sentTool.function.parameters).toMatchObject({ type: 'object', required: ['input'] });

    const streamed = await readStream(await openai.responses.create({ model: 'gpt-4.1', input: 'fix the bug', tools: [patchTool], stream: true }));
    expect(streamed.types).toContain('response.custom_tool_call_input.done');
    expect(streamed.types).not.toContain('response.function_call_arguments.delta');
    expect(streamed.final.output).toEqual([expect.objectContaining({ type: 'custom_tool_call', name: 'apply_patch', input: 'sample input' })]);

    const question = { role: 'user' as const, content: 'fix the bug' };
    const output = { type: 'custom_tool_call_output' as const, call_id: item.call_id, output: 'patched' };
    const answer = await openai.responses.create({ model: 'gpt-4.1', tools: [patchTool], input: [question, { type: 'custom_tool_call', call_id: item.call_id, name: 'apply_patch', input: 'sample input' }, output] });
    expect(answer.output_text).toBe('echo: patched');
    expect((holysheep.requests.at(-1)!.body.messages as unknown[])[1]).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [{ id: item.call_id, type: 'function', function: { name: 'apply_patch', arguments: '{"input":"sample input"}' } }],
    });
    const byReference = await openai.responses.create({ model: 'gpt-4.1', tools: [patchTool], input: [question, { type: 'item_reference', id: item.id! }, output] });
    expect(byReference.output_text).toBe('echo: patched');
  });

  // `reasoning_content` as DeepSeek sends it, `reasoning` as vLLM (since it renamed the field) and OpenRouter do.
  it.each(['reasoning_content', 'reasoning'] as const)('gives the reasoning a chat server sends apart (%s) as a reasoning item, JSON and streamed', async (field) => {
    holysheep.setReasoning('Weighing the question. ', field);
    const answer = await openai.responses.create({ model: 'gpt-4.1', input: prompt });
    expect(answer.output.map((item) => item.type)).toEqual(['reasoning', 'message']);
    expect(answer.output[0]).toMatchObject({ type: 'reasoning', summary: [{ type: 'summary_text', text: 'Weighing the question. ' }] });
    expect(answer.output_text).toBe(`echo: ${prompt}`);
    const streamed = await readStream(await openai.responses.create({ model: 'gpt-4.1', input: prompt, stream: true }));
    expect(streamed.types.slice(2, 5)).toEqual(['response.output_item.added', 'response.reasoning_summary_part.added', 'response.reasoning_summary_text.delta']);
    expect(streamed.types.indexOf('response.reasoning_summary_part.done')).toBeLessThan(streamed.types.indexOf('response.output_text.delta'));
    expect(streamed.final.output).toEqual([
      expect.objectContaining({ type: 'reasoning', summary: [{ type: 'summary_text', text: 'Weighing the question. ' }] }),
      expect.objectContaining({ type: 'message' }),
    ]);
  });

  it('keeps apart the parallel calls of a server that streams them all at index 0, each with its own id (Ollama)', async () => {
    const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({ id: 'chatcmpl-ollama', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [{ index: 0, delta, finish_reason: finishReason }] });
    // A call's first fragment has its id and name, the next ones only more arguments; every call is at index 0.
    const call = (id: string | undefined, text: string) => ({ index: 0, ...(id === undefined ? {} : { id, type: 'function' }), function: { ...(id === undefined ? {} : { name: 'search_docs' }), arguments: text } });
    holysheep.next({
      kind: 'events',
      events: [
        chunk({ role: 'assistant', content: null }),
        chunk({ tool_calls: [call('call_relay', '{"query":"relay",')] }),
        chunk({ tool_calls: [call(undefined, '"limit":1}')] }),
        chunk({ tool_calls: [call('call_docs', '{"query":"docs",')] }),
        chunk({ tool_calls: [call(undefined, '"limit":2}')] }),
        chunk({}, 'tool_calls'),
        { id: 'chatcmpl-ollama', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [], usage: { prompt_tokens: 12, completion_tokens: 20, total_tokens: 32 } },
      ],
    });
    const final = await openai.responses.stream({ model: 'gpt-4.1', input: toolPrompt, tools: [searchTool] }).finalResponse();
    expect(functionCalls(final).map((item) => [item.call_id, item.arguments])).toEqual([
      ['call_relay', '{"query":"relay","limit":1}'],
      ['call_docs', '{"query":"docs","limit":2}'],
    ]);
  });

  it("gives each function call a call_id of its own when the upstream's calls have an empty id or none (Gemini's OpenAI endpoint, LM Studio, StepFun), JSON and streamed", async () => {
    const calls = (id: Record<string, unknown>) => [
      { ...id, type: 'function', function: { name: 'search_docs', arguments: '{"query":"relay","limit":1}' } },
      { ...id, type: 'function', function: { name: 'search_docs', arguments: '{"query":"docs","limit":2}' } },
    ];
    const completion = (toolCalls: unknown[]) => ({
      id: 'chatcmpl-no-ids',
      object: 'chat.completion',
      created: 1,
      model: 'gpt-4.1',
      choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: toolCalls }, finish_reason: 'tool_calls' }],
      usage: { prompt_tokens: 12, completion_tokens: 20, total_tokens: 32 },
    });
    const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({ id: 'chatcmpl-no-ids', object: 'chat.completion.chunk', created: 1, model: 'gpt-4.1', choices: [{ index: 0, delta, finish_reason: finishReason }] });
    const streamed = (id: Record<string, unknown>) => ({
      kind: 'events' as const,
      events: [...calls(id).map((call, index) => chunk({ tool_calls: [{ index, ...call }] })), chunk({}, 'tool_calls'), { ...chunk({}), choices: [], usage: { prompt_tokens: 12, completion_tokens: 20, total_tokens: 32 } }],
    });
    holysheep.next({ kind: 'status', status: 200, body: completion(calls({ id: '' })) }, { kind: 'status', status: 200, body: completion(calls({})) }, streamed({ id: '' }), streamed({}), streamed({}));
    const ask = { model: 'gpt-4.1', input: toolPrompt, tools: [searchTool] };
    const answers = [
      await openai.responses.create(ask),
      await openai.responses.create(ask),
      await openai.responses.stream(ask).finalResponse(),
      // Turn after turn: a client pairs each output with its call by call_id, so none may come back.
      await openai.responses.stream(ask).finalResponse(),
      await openai.responses.stream(ask).finalResponse(),
    ];
    const callIds = answers.flatMap((answer) => {
      expect(functionCalls(answer).map((item) => item.arguments)).toEqual(['{"query":"relay","limit":1}', '{"query":"docs","limit":2}']);
      return functionCalls(answer).map((item) => item.call_id);
    });
    for (const callId of callIds) expect(callId).toMatch(/^call_[0-9a-f]{24}$/);
    expect(new Set(callIds).size).toBe(10);
  });

  it('answers with a usage of zeros, never null, when the upstream reports none (JSON and streamed)', async () => {
    holysheep.omitUsage();
    const zeros = { input_tokens: 0, input_tokens_details: { cached_tokens: 0 }, output_tokens: 0, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 0 };
    const answer = await openai.responses.create({ model: 'gpt-4.1', input: prompt });
    expect(answer.output_text).toBe(`echo: ${prompt}`);
    expect(answer.usage).toEqual(zeros);
    const streamed = await readStream(await openai.responses.create({ model: 'gpt-4.1', input: prompt, stream: true }));
    expect(outputText(streamed.final)).toBe(`echo: ${prompt}`);
    expect(streamed.final.usage).toEqual(zeros);
    expect(holysheep.requests.at(-1)!.body.stream_options).toEqual({ include_usage: true }); // asked for, not given
  });

  it("works with the SDK's stream helper", async () => {
    const deltas: string[] = [];
    const stream = openai.responses.stream({ model: 'gpt-4.1', input: prompt }).on('response.output_text.delta', (event) => deltas.push(event.delta));
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(`echo: ${prompt}`);
    expect(deltas.join('')).toBe(final.output_text);
  });

  it('sends instructions as the system message and max_output_tokens as the token limit', async () => {
    await openai.responses.create({ model: 'gpt-4.1', instructions: 'Be brief.', input: prompt, max_output_tokens: 64, temperature: 0.2 });
    const sent = holysheep.requests.at(-1)!.body;
    expect(sent.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: prompt },
    ]);
    expect(sent.max_tokens).toBe(64);
    expect(sent.temperature).toBe(0.2);
    expect(sent.model).toBe('gpt-4.1');
  });

  it('gives the model the image a function returned, in the user turn after the tool results', async () => {
    const png = 'data:image/png;base64,iVBORw0KGgo=';
    const { response } = await openai.responses
      .create({
        model: 'claude-sonnet-4',
        tools: [searchTool],
        input: [
          { role: 'user', content: 'Show me the docs page' },
          { type: 'function_call', call_id: 'call_shot', name: 'search_docs', arguments: '{"query":"docs","limit":1}' },
          { type: 'function_call_output', call_id: 'call_shot', output: [{ type: 'input_text', text: 'One page.' }, { type: 'input_image', image_url: png, detail: 'auto' }] },
        ],
      })
      .withResponse();
    expect(response.headers.get('x-relay-dropped-params')).toBeNull();
    const sent = vendors.anthropic.requests.at(-1)!.body.messages as Array<{ role: string; content: unknown }>;
    expect(sent.at(-1)).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'call_shot', content: 'One page.\n(an attachment follows in the next user message)' },
        { type: 'text', text: 'Attachments of the result of tool call call_shot:' },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      ],
    });
  });

  it('refuses what needs state the relay does not keep, naming the parameter', async () => {
    const error = await openai.responses.create({ model: 'gpt-4.1', input: prompt, previous_response_id: 'resp_earlier' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).code).toBe('unsupported_parameter');
    expect((error as BadRequestError).param).toBe('previous_response_id');
    const unknown = await openai.responses.create({ model: 'gpt-4.1', input: [{ type: 'item_reference', id: 'fc_unknown' }] }).catch((caught: unknown) => caught);
    expect(unknown).toBeInstanceOf(BadRequestError);
    expect((unknown as BadRequestError).message).toContain('"store": false');
    expect(holysheep.requests).toHaveLength(0);
  });

  it('does not resolve an item reference for another key', async () => {
    const { key } = await createKey(relay.url, 'other-app');
    const call = await openai.responses.create({ model: 'gpt-4.1', input: toolPrompt, tools: [searchTool] });
    const other = new OpenAI({ apiKey: key, baseURL: relay.baseURL, maxRetries: 0 });
    const error = await other.responses.create({ model: 'gpt-4.1', input: [{ type: 'item_reference', id: functionCalls(call)[0]!.id! }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
  });

  it('reports what it cannot honour in x-relay-dropped-params, and refuses it in strict mode', async () => {
    const tools = [searchTool, { type: 'web_search' as const }];
    const { data, response } = await openai.responses.create({ model: 'gpt-4.1', input: prompt, tools, include: ['message.output_text.logprobs'] }).withResponse();
    expect(data.status).toBe('completed');
    expect(response.headers.get('x-relay-dropped-params')?.split(',').sort()).toEqual(['include', 'tools[]']);
    expect(holysheep.requests.at(-1)!.body.tools).toHaveLength(1);
    const strict = await openai.responses.create({ model: 'gpt-4.1', input: prompt, tools }, { headers: { 'x-relay-strict': '1' } }).catch((caught: unknown) => caught);
    expect(strict).toBeInstanceOf(BadRequestError);
    expect((strict as BadRequestError).param).toBe('tools[1]');
  });

  it('asks a model that refuses reasoning.effort again without it, reported, and sends the next requests for it without it at once', async () => {
    // The mock refuses reasoning_effort for gpt-4.1 as OpenAI does for its models that do not reason.
    const body = { model: 'gpt-4.1', input: prompt, reasoning: { effort: 'high' as const } };
    const { data, response } = await openai.responses.create(body).withResponse();
    expect(outputText(data)).not.toBe('');
    expect(response.headers.get('x-relay-dropped-params')).toBe('reasoning.effort');
    expect(response.headers.get('x-relay-attempts')).toBe('1');
    expect(holysheep.requests.map((sent) => sent.body.reasoning_effort)).toEqual(['high', undefined]);

    holysheep.reset();
    const stream = await openai.responses.create({ ...body, stream: true }).withResponse();
    expect((await readStream(stream.data)).final.status).toBe('completed');
    expect(stream.response.headers.get('x-relay-dropped-params')).toBe('reasoning.effort');
    expect(holysheep.requests.map((sent) => sent.body.reasoning_effort)).toEqual([undefined]);

    // Strict mode leaves nothing out: the upstream's refusal reaches the client.
    holysheep.reset();
    const strict = await openai.responses.create(body, { headers: { 'x-relay-strict': '1' } }).catch((caught: unknown) => caught);
    expect(strict).toBeInstanceOf(BadRequestError);
    expect(holysheep.requests).toHaveLength(1);
  });

  it('answers bad keys, unknown models and bad bodies as the other OpenAI routes do', async () => {
    const badKey = new OpenAI({ apiKey: 'sk-wrong', baseURL: relay.baseURL, maxRetries: 0 });
    await expect(badKey.responses.create({ model: 'gpt-4.1', input: prompt })).rejects.toBeInstanceOf(AuthenticationError);
    await expect(openai.responses.create({ model: 'no-such-model', input: prompt })).rejects.toBeInstanceOf(BadRequestError);
    const missing = await request(`${relay.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4.1' }),
    });
    expect(missing.statusCode).toBe(400);
    expect(((await missing.body.json()) as { error: { param: string } }).error.param).toBe('input');
  });

  it('says that it stores no response when one is asked for by id', async () => {
    const error = await openai.responses.retrieve('resp_anything').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).code).toBe('response_not_stored');
    await expect(openai.responses.delete('resp_anything')).rejects.toBeInstanceOf(NotFoundError);
    await expect(openai.responses.inputItems.list('resp_anything')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('ends a stream cut by the upstream with an error event, which the SDK throws', async () => {
    holysheep.setStreamDefaults({ likeJson: false });
    holysheep.next({ kind: 'stream', chunks: 5, cutAfter: 2 });
    const stream = await openai.responses.create({ model: 'gpt-4.1', input: prompt, stream: true });
    const types: string[] = [];
    const error = await (async () => {
      for await (const event of stream) types.push(event.type);
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(APIError);
    expect(types).toContain('response.output_text.delta');
    expect(types).not.toContain('response.completed');

    // On the wire: OpenAI's documented fields at the top, and its error object nested.
    holysheep.next({ kind: 'stream', chunks: 5, cutAfter: 2 });
    const events = await rawEvents(relay.url, { model: 'gpt-4.1', input: prompt });
    const last = events.at(-1)!;
    expect(last.event).toBe('error');
    const payload = JSON.parse(last.data) as { type: string; code: string; message: string; error: { code: string; type: string } };
    expect(payload.type).toBe('error');
    expect(payload.code).toBe(payload.error.code);
    expect(payload.message).not.toContain(holysheepKey);
  });

  it('meters the tokens in the ledger like any other request', async () => {
    const { key, id } = await createKey(relay.url, 'metered-app');
    const client = new OpenAI({ apiKey: key, baseURL: relay.baseURL, maxRetries: 0 });
    await client.responses.create({ model: 'gpt-4.1', input: prompt });
    await readStream(await client.responses.create({ model: 'claude-sonnet-4', input: prompt, stream: true }));
    await expect
      .poll(async () => {
        const rows = await usageByModel(relay.url, id);
        return rows.map((row) => ({ model: row.group, requests: row.requests, counted: row.prompt_tokens > 0 && row.completion_tokens > 0 })).sort((a, b) => a.model.localeCompare(b.model));
      })
      .toEqual([
        { model: 'claude-sonnet-4', requests: 1, counted: true },
        { model: 'gpt-4.1', requests: 1, counted: true },
      ]);
  });

  describe('the Vercel AI SDK, whose openai(model) speaks the Responses API', () => {
    const weather = tool({
      description: 'The weather now in a city',
      inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false }),
      execute: async ({ city }) => ({ city, temperature: 21 }),
    });
    let provider: ReturnType<typeof createOpenAI>;
    /** The text a `streamText` result streams; an error part fails the test. */
    async function streamedText(result: ReturnType<typeof streamText>): Promise<string> {
      let text = '';
      for await (const part of result.fullStream) {
        if (part.type === 'text-delta') text += part.text;
        if (part.type === 'error') throw part.error;
      }
      return text;
    }
    /** The bodies the AI SDK sent to the relay. */
    const sent: Array<{ input: Array<{ type?: string }> }> = [];
    beforeAll(() => {
      provider = createOpenAI({
        baseURL: relay.baseURL,
        apiKey: masterKey,
        fetch: async (url, init) => {
          if (typeof init?.body === 'string') sent.push(JSON.parse(init.body) as (typeof sent)[number]);
          return fetch(url, init);
        },
      });
    });

    it.each(['gpt-4.1', 'claude-sonnet-4'])('generateText with %s calls the tool and answers from its result (the call sent back by reference)', async (model) => {
      sent.length = 0;
      const result = await generateText({ model: provider(model), tools: { weather }, stopWhen: stepCountIs(3), prompt: 'What is the weather in Paris?', maxRetries: 0 });
      expect(result.steps.map((step) => step.finishReason)).toEqual(['tool-calls', 'stop']);
      // The mocks make up the call's arguments (the Anthropic one always the same): only the tool is checked.
      expect(result.steps[0]!.toolCalls[0]).toMatchObject({ toolName: 'weather' });
      expect(result.text).toContain('"temperature":21');
      // The second step named the relay's items (the call, and any text before it) by reference, which the relay resolved.
      const types = sent[1]!.input.map((item) => item.type);
      expect(types).toContain('item_reference');
      expect(types).not.toContain('function_call');
      expect(types.at(-1)).toBe('function_call_output');
      expect(result.totalUsage.inputTokens).toBeGreaterThan(0);
      expect(result.totalUsage.outputTokens).toBeGreaterThan(0);
    });

    it('shows the reasoning, and takes the reasoning item back by reference in the next step', async () => {
      holysheep.setReasoning('Checking the weather first. ');
      sent.length = 0;
      const result = await generateText({ model: provider('gpt-4.1'), tools: { weather }, stopWhen: stepCountIs(3), prompt: 'What is the weather in Paris?', maxRetries: 0 });
      expect(result.steps.map((step) => step.finishReason)).toEqual(['tool-calls', 'stop']);
      expect(result.steps[0]!.reasoningText).toBe('Checking the weather first. ');
      expect(sent[1]!.input.filter((item) => item.type === 'item_reference')).toHaveLength(2);
    });

    it('generateText and streamText take the answer of an upstream that reports no usage, with finish reason stop and zero usage', async () => {
      holysheep.omitUsage();
      const generated = await generateText({ model: provider('gpt-4.1'), prompt, maxRetries: 0 });
      expect(generated.text).toBe(`echo: ${prompt}`);
      expect(generated.finishReason).toBe('stop');
      expect(generated.usage).toMatchObject({ inputTokens: 0, outputTokens: 0, totalTokens: 0 });
      const streamed = streamText({ model: provider('gpt-4.1'), prompt, maxRetries: 0 });
      expect(await streamedText(streamed)).toBe(`echo: ${prompt}`);
      expect(await streamed.finishReason).toBe('stop');
      expect(await streamed.totalUsage).toMatchObject({ inputTokens: 0, outputTokens: 0, totalTokens: 0 });
    });

    it('streamText streams text deltas and finishes with usage', async () => {
      const result = streamText({ model: provider('gpt-4.1'), prompt, maxRetries: 0 });
      expect(await streamedText(result)).toBe(`echo: ${prompt}`);
      expect(await result.finishReason).toBe('stop');
      const usage = await result.totalUsage;
      expect(usage.totalTokens).toBe((usage.inputTokens ?? 0) + (usage.outputTokens ?? 0));
      expect(usage.inputTokens).toBeGreaterThan(0);
    });
  });
});

describe('/v1/responses to an upstream that serves the Responses API (OpenAI): passed through', () => {
  const openaiUpstream = new MockOpenAIUpstream();
  const holysheep = new MockOpenAIUpstream();
  const openaiKey = 'sk-upstream-openai-native-5e6f7a8b';
  let relay: StartedRelay;
  let openai: OpenAI;

  beforeAll(async () => {
    await Promise.all([openaiUpstream.start(), holysheep.start()]);
    // GPT models go to OpenAI's own API (which serves /v1/responses); the rest to HolySheep, by translation.
    relay = await startRelay({ OPENAI_API_KEY: openaiKey, OPENAI_BASE_URL: openaiUpstream.url, HOLYSHEEP_API_KEY: holysheepKey, HOLYSHEEP_BASE_URL: holysheep.url });
    openai = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
  });
  afterAll(async () => {
    await relay.close();
    await Promise.all([openaiUpstream.stop(), holysheep.stop()]);
  });
  beforeEach(() => {
    openaiUpstream.reset();
    holysheep.reset();
  });

  it('sends the request as it came (stateful fields and built-in tools included) and relays the answer untouched', async () => {
    const params = { model: 'gpt-4.1', input: prompt, previous_response_id: 'resp_earlier', tools: [{ type: 'web_search' as const }], store: true, include: ['web_search_call.action.sources' as const] };
    const { data, response } = await openai.responses.create(params).withResponse();
    expect(data.id).toBe('resp_mock');
    expect(data.previous_response_id).toBe('resp_earlier');
    expect(data.output_text).toBe(`echo: ${prompt}`);
    expect(response.headers.get('x-relay-provider')).toBe('openai');
    expect(response.headers.get('x-relay-dropped-params')).toBeNull();
    const sent = openaiUpstream.requests.at(-1)!;
    expect(sent.path).toBe('/v1/responses');
    expect(sent.body).toEqual(params);
    expect(sent.headers.authorization).toBe(`Bearer ${openaiKey}`);
    expect(holysheep.requests).toHaveLength(0);
  });

  it('passes a request without input on (the conversation is stored upstream)', async () => {
    const answer = await openai.responses.create({ model: 'gpt-4.1', previous_response_id: 'resp_earlier' });
    expect(answer.id).toBe('resp_mock');
    expect(openaiUpstream.requests.at(-1)!.body).toEqual({ model: 'gpt-4.1', previous_response_id: 'resp_earlier' });
  });

  it('relays the upstream events byte for byte and meters the usage of response.completed', async () => {
    const { key, id } = await createKey(relay.url, 'native-stream-app');
    const client = new OpenAI({ apiKey: key, baseURL: relay.baseURL, maxRetries: 0 });
    const { types, deltas, final } = await readStream(await client.responses.create({ model: 'gpt-4.1', input: prompt, stream: true }));
    expect(final.id).toBe('resp_mock');
    expect(deltas.join('')).toBe(`echo: ${prompt}`);
    expect(types.at(-1)).toBe('response.completed');
    expect(openaiUpstream.requests.at(-1)!.body.stream).toBe(true);
    const events = await rawEvents(relay.url, { model: 'gpt-4.1', input: prompt });
    expect(events.map((event) => `event: ${event.event}\ndata: ${event.data}\n\n`).join('')).toBe(openaiUpstream.lastResponsesStream);
    await expect
      .poll(async () => (await usageByModel(relay.url, id))[0])
      .toMatchObject({ requests: 1, prompt_tokens: 11, completion_tokens: 7, cached_tokens: 4 });
  });

  it('ends a passed-through stream that the upstream cut with an error event numbered after the last one', async () => {
    openaiUpstream.next({ kind: 'stream', cutAfter: 2 });
    const events = await rawEvents(relay.url, { model: 'gpt-4.1', input: prompt });
    const numbers = events.map((event) => (JSON.parse(event.data) as { sequence_number: number }).sequence_number);
    expect(numbers).toEqual(numbers.map((_number, index) => index));
    expect(events.at(-1)!.event).toBe('error');
    expect(events.at(-2)!.event).toBe('response.output_text.delta');
  });

  it('refuses a background response even where the upstream serves it: its usage would never be metered', async () => {
    const error = await openai.responses.create({ model: 'gpt-4.1', input: prompt, background: true }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).param).toBe('background');
    expect(openaiUpstream.requests).toHaveLength(0);
  });

  it('still translates for the upstreams that do not serve it, refusing there what needs state', async () => {
    const translated = await openai.responses.create({ model: 'claude-sonnet-4', input: prompt });
    expect(translated.id).not.toBe('resp_mock');
    expect(holysheep.requests.at(-1)!.path).toBe('/v1/chat/completions');
    const error = await openai.responses.create({ model: 'claude-sonnet-4', input: prompt, previous_response_id: 'resp_earlier' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).param).toBe('previous_response_id');
    expect(holysheep.requests).toHaveLength(1);
  });
});

describe('/v1/responses with server.keepResponseItems: false', () => {
  const holysheep = new MockOpenAIUpstream();
  let relay: StartedRelay;
  let openai: OpenAI;

  beforeAll(async () => {
    await holysheep.start();
    const directory = mkdtempSync(join(tmpdir(), 'relay-responses-keep-'));
    writeFileSync(join(directory, 'relay.yaml'), 'server:\n  keepResponseItems: false\n');
    relay = await startRelay({ HOLYSHEEP_API_KEY: holysheepKey, HOLYSHEEP_BASE_URL: holysheep.url }, directory);
    openai = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
  });
  afterAll(async () => {
    await relay.close();
    await holysheep.stop();
  });

  it('keeps no model output: a reference to an answer is refused, whole items still work', async () => {
    const call = await openai.responses.create({ model: 'gpt-4.1', input: toolPrompt, tools: [searchTool] });
    const item = functionCalls(call)[0]!;
    const output = { type: 'function_call_output' as const, call_id: item.call_id, output: toolResult };
    const refused = await openai.responses.create({ model: 'gpt-4.1', tools: [searchTool], input: [{ role: 'user', content: toolPrompt }, { type: 'item_reference', id: item.id! }, output] }).catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(BadRequestError);
    expect((refused as BadRequestError).param).toBe('input[1]');
    const whole = await openai.responses.create({ model: 'gpt-4.1', tools: [searchTool], input: [{ role: 'user', content: toolPrompt }, item, output] });
    expect(whole.output_text).toContain(toolResult);
  });
});
