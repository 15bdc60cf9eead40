import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { masterKey, type StartedRelay } from './support/start-relay.js';
import { threeVendors } from './support/three-vendors.js';

/**
 * The promise of the relay, checked end to end: ONE program written against the OpenAI SDK (and one
 * against the Anthropic SDK) gets equivalent answers whichever vendor serves the model it names. One
 * relay has three upstreams — an OpenAI-compatible one (HolySheep) for GPT, Anthropic for Claude and
 * Gemini for Gemini — each a mock speaking its vendor's real wire format.
 */

const holysheepKey = 'sk-upstream-holysheep-cross-0a1b2c3d4e';
const anthropicKey = 'sk-ant-upstream-cross-5f6a7b8c9d';
const geminiKey = 'AIzaSy-upstream-gemini-cross-1e2f3a4b';

const models = [
  { family: 'GPT', model: 'gpt-4.1', provider: 'holysheep' },
  { family: 'Claude', model: 'claude-sonnet-4', provider: 'anthropic' },
  { family: 'Gemini', model: 'gemini-2.5-flash', provider: 'gemini' },
] as const;
type Provider = (typeof models)[number]['provider'];

const prompt = 'Say hello to the relay';
const toolPrompt = 'Find the relay docs';
/** What the (pretend) tool returns; every model's final answer must have seen it. */
const toolResult = JSON.stringify({ title: 'Relay docs', hits: 3 });
const searchParameters = {
  type: 'object' as const,
  properties: { query: { type: 'string' }, limit: { type: 'integer' } },
  required: ['query', 'limit'],
};
const searchTool: OpenAI.ChatCompletionFunctionTool = {
  type: 'function',
  function: { name: 'search_docs', description: 'Searches the documentation', parameters: searchParameters },
};
const anthropicSearchTool: Anthropic.Tool = { name: 'search_docs', description: 'Searches the documentation', input_schema: searchParameters };

// ---------------------------------------------------------------------------------------------
// The OpenAI SDK program: the same code for every model.
// ---------------------------------------------------------------------------------------------

interface ToolCallSeen {
  id: string;
  name: string;
  arguments: string;
}

interface AnswerSeen {
  text: string | null;
  finishReason: string | null | undefined;
  toolCalls: ToolCallSeen[];
  usage: OpenAI.CompletionUsage | undefined;
}

interface StreamSeen extends AnswerSeen {
  chunks: OpenAI.ChatCompletionChunk[];
}

interface RoundTripSeen {
  call: AnswerSeen;
  answer: AnswerSeen;
}

interface OpenAIProgramResult {
  plain: AnswerSeen;
  plainProvider: string | null;
  plainDropped: string | null;
  streamed: StreamSeen;
  streamProvider: string | null;
  toolsJson: RoundTripSeen;
  toolsStreamed: RoundTripSeen;
}

function seen(completion: OpenAI.ChatCompletion): AnswerSeen {
  const choice = completion.choices[0]!;
  const toolCalls = (choice.message.tool_calls ?? []).map((call) => {
    const functionCall = call as OpenAI.ChatCompletionMessageFunctionToolCall;
    return { id: functionCall.id, name: functionCall.function.name, arguments: functionCall.function.arguments };
  });
  return { text: choice.message.content, finishReason: choice.finish_reason, toolCalls, usage: completion.usage };
}

/** Assembles a chat stream the way applications do: text deltas joined, tool call deltas merged by index. */
async function collect(stream: AsyncIterable<OpenAI.ChatCompletionChunk>): Promise<StreamSeen> {
  const chunks: OpenAI.ChatCompletionChunk[] = [];
  let text = '';
  let finishReason: string | null | undefined;
  let usage: OpenAI.CompletionUsage | undefined;
  const calls = new Map<number, ToolCallSeen>();
  for await (const chunk of stream) {
    chunks.push(chunk);
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (choice === undefined) continue;
    text += choice.delta.content ?? '';
    for (const delta of choice.delta.tool_calls ?? []) {
      const call = calls.get(delta.index) ?? { id: '', name: '', arguments: '' };
      call.id = delta.id ?? call.id;
      call.name += delta.function?.name ?? '';
      call.arguments += delta.function?.arguments ?? '';
      calls.set(delta.index, call);
    }
    finishReason = choice.finish_reason ?? finishReason;
  }
  return { chunks, text: text === '' ? null : text, finishReason, toolCalls: [...calls.values()], usage };
}

/** The assistant turn to send back after a streamed tool call, as an application builds it. */
function assistantTurn(answer: AnswerSeen): OpenAI.ChatCompletionAssistantMessageParam {
  return {
    role: 'assistant',
    content: answer.text,
    tool_calls: answer.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } })),
  };
}

/**
 * The program under test. It knows nothing of vendors: it names a model and uses the OpenAI SDK as
 * the OpenAI documentation shows — a chat completion, a stream with usage, and a tool-call round
 * trip (the call, the tool's result in a `tool` message, the final answer), JSON and streamed.
 */
async function runOpenAIProgram(client: OpenAI, model: string): Promise<OpenAIProgramResult> {
  const { data: plainCompletion, response: plainResponse } = await client.chat.completions
    .create({ model, messages: [{ role: 'user', content: prompt }] })
    .withResponse();

  const { data: stream, response: streamResponse } = await client.chat.completions
    .create({ model, messages: [{ role: 'user', content: prompt }], stream: true, stream_options: { include_usage: true } })
    .withResponse();
  const streamed = await collect(stream);

  const question: OpenAI.ChatCompletionMessageParam = { role: 'user', content: toolPrompt };
  const callCompletion = await client.chat.completions.create({ model, messages: [question], tools: [searchTool] });
  const call = seen(callCompletion);
  const answerCompletion = await client.chat.completions.create({
    model,
    messages: [question, callCompletion.choices[0]!.message, ...call.toolCalls.map((toolCall) => ({ role: 'tool' as const, tool_call_id: toolCall.id, content: toolResult }))],
    tools: [searchTool],
  });

  const streamedCall = await collect(
    await client.chat.completions.create({ model, messages: [question], tools: [searchTool], stream: true, stream_options: { include_usage: true } }),
  );
  const streamedAnswer = await collect(
    await client.chat.completions.create({
      model,
      messages: [question, assistantTurn(streamedCall), ...streamedCall.toolCalls.map((toolCall) => ({ role: 'tool' as const, tool_call_id: toolCall.id, content: toolResult }))],
      tools: [searchTool],
      stream: true,
      stream_options: { include_usage: true },
    }),
  );

  return {
    plain: seen(plainCompletion),
    plainProvider: plainResponse.headers.get('x-relay-provider'),
    plainDropped: plainResponse.headers.get('x-relay-dropped-params'),
    streamed,
    streamProvider: streamResponse.headers.get('x-relay-provider'),
    toolsJson: { call, answer: seen(answerCompletion) },
    toolsStreamed: { call: streamedCall, answer: streamedAnswer },
  };
}

// ---------------------------------------------------------------------------------------------
// The Anthropic SDK program against /v1/messages: the same code for every model.
// ---------------------------------------------------------------------------------------------

interface MessageSeen {
  text: string;
  stopReason: string | null;
  toolUses: Array<{ id: string; name: string; input: unknown }>;
  usage: { input_tokens: number; output_tokens: number; cache_read_input_tokens: number };
  content: Anthropic.ContentBlock[];
}

interface AnthropicProgramResult {
  plain: MessageSeen;
  plainProvider: string | null;
  streamed: MessageSeen;
  streamedTexts: string[];
  toolsJson: { call: MessageSeen; answer: MessageSeen };
  toolsStreamed: { call: MessageSeen; answer: MessageSeen };
}

function messageSeen(message: Anthropic.Message): MessageSeen {
  return {
    text: message.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join(''),
    stopReason: message.stop_reason,
    toolUses: message.content.flatMap((block) => (block.type === 'tool_use' ? [{ id: block.id, name: block.name, input: block.input }] : [])),
    usage: { input_tokens: message.usage.input_tokens, output_tokens: message.usage.output_tokens, cache_read_input_tokens: message.usage.cache_read_input_tokens ?? 0 },
    content: message.content,
  };
}

async function streamMessage(client: Anthropic, params: Anthropic.MessageCreateParamsNonStreaming): Promise<{ message: MessageSeen; texts: string[] }> {
  const texts: string[] = [];
  const stream = client.messages.stream(params);
  stream.on('text', (text) => texts.push(text));
  return { message: messageSeen(await stream.finalMessage()), texts };
}

function toolResults(call: MessageSeen): Anthropic.MessageParam {
  return { role: 'user', content: call.toolUses.map((toolUse) => ({ type: 'tool_result' as const, tool_use_id: toolUse.id, content: toolResult })) };
}

/** The Anthropic-SDK program: a message, the same message streamed with the SDK's helper, and a tool_use round trip both ways. */
async function runAnthropicProgram(client: Anthropic, model: string): Promise<AnthropicProgramResult> {
  const { data: plain, response } = await client.messages.create({ model, max_tokens: 256, messages: [{ role: 'user', content: prompt }] }).withResponse();
  const streamed = await streamMessage(client, { model, max_tokens: 256, messages: [{ role: 'user', content: prompt }] });

  const question: Anthropic.MessageParam = { role: 'user', content: toolPrompt };
  const call = messageSeen(await client.messages.create({ model, max_tokens: 256, tools: [anthropicSearchTool], messages: [question] }));
  const answer = messageSeen(
    await client.messages.create({ model, max_tokens: 256, tools: [anthropicSearchTool], messages: [question, { role: 'assistant', content: call.content }, toolResults(call)] }),
  );

  const streamedCall = (await streamMessage(client, { model, max_tokens: 256, tools: [anthropicSearchTool], messages: [question] })).message;
  const streamedAnswer = (
    await streamMessage(client, { model, max_tokens: 256, tools: [anthropicSearchTool], messages: [question, { role: 'assistant', content: streamedCall.content }, toolResults(streamedCall)] })
  ).message;

  return {
    plain: messageSeen(plain),
    plainProvider: response.headers.get('x-relay-provider'),
    streamed: streamed.message,
    streamedTexts: streamed.texts,
    toolsJson: { call, answer },
    toolsStreamed: { call: streamedCall, answer: streamedAnswer },
  };
}

// ---------------------------------------------------------------------------------------------
// Shapes: what "equivalent" means once vendor-specific values (ids, token counts) are set aside.
// ---------------------------------------------------------------------------------------------

function usageShape(usage: OpenAI.CompletionUsage | undefined) {
  return {
    prompt: typeof usage?.prompt_tokens === 'number' && usage.prompt_tokens > 0,
    completion: typeof usage?.completion_tokens === 'number' && usage.completion_tokens > 0,
    totalIsSum: usage !== undefined && usage.total_tokens === usage.prompt_tokens + usage.completion_tokens,
  };
}

function argumentShape(text: string): Record<string, string> {
  const parsed = JSON.parse(text) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(parsed).map(([key, value]) => [key, typeof value]));
}

function openAIShape(result: OpenAIProgramResult) {
  const callShape = (answer: AnswerSeen) => ({
    finishReason: answer.finishReason,
    calls: answer.toolCalls.map((call) => ({ name: call.name, hasId: call.id !== '', arguments: argumentShape(call.arguments) })),
    usage: usageShape(answer.usage),
  });
  const answerShape = (answer: AnswerSeen) => ({
    finishReason: answer.finishReason,
    sawToolResult: answer.text?.includes(toolResult) ?? false,
    calls: answer.toolCalls.length,
    usage: usageShape(answer.usage),
  });
  return {
    plain: { text: result.plain.text, finishReason: result.plain.finishReason, usage: usageShape(result.plain.usage) },
    streamed: { text: result.streamed.text, finishReason: result.streamed.finishReason, usage: usageShape(result.streamed.usage) },
    toolsJson: { call: callShape(result.toolsJson.call), answer: answerShape(result.toolsJson.answer) },
    toolsStreamed: { call: callShape(result.toolsStreamed.call), answer: answerShape(result.toolsStreamed.answer) },
  };
}

function anthropicShape(result: AnthropicProgramResult) {
  const usage = (message: MessageSeen) => ({ input: message.usage.input_tokens > 0, output: message.usage.output_tokens > 0 });
  const call = (message: MessageSeen) => ({
    stopReason: message.stopReason,
    toolUses: message.toolUses.map((toolUse) => ({ name: toolUse.name, hasId: toolUse.id !== '', input: argumentShape(JSON.stringify(toolUse.input)) })),
    usage: usage(message),
  });
  const answer = (message: MessageSeen) => ({ stopReason: message.stopReason, sawToolResult: message.text.includes(toolResult), toolUses: message.toolUses.length, usage: usage(message) });
  return {
    plain: { text: result.plain.text, stopReason: result.plain.stopReason, usage: usage(result.plain) },
    streamed: { text: result.streamed.text, stopReason: result.streamed.stopReason, usage: usage(result.streamed) },
    toolsJson: { call: call(result.toolsJson.call), answer: answer(result.toolsJson.answer) },
    toolsStreamed: { call: call(result.toolsStreamed.call), answer: answer(result.toolsStreamed.answer) },
  };
}

/** The expected shape, written out once: every model must produce exactly this. */
const expectedOpenAIShape = {
  plain: { text: `echo: ${prompt}`, finishReason: 'stop', usage: { prompt: true, completion: true, totalIsSum: true } },
  streamed: { text: `echo: ${prompt}`, finishReason: 'stop', usage: { prompt: true, completion: true, totalIsSum: true } },
  toolsJson: {
    call: { finishReason: 'tool_calls', calls: [{ name: 'search_docs', hasId: true, arguments: { query: 'string', limit: 'number' } }], usage: { prompt: true, completion: true, totalIsSum: true } },
    answer: { finishReason: 'stop', sawToolResult: true, calls: 0, usage: { prompt: true, completion: true, totalIsSum: true } },
  },
  toolsStreamed: {
    call: { finishReason: 'tool_calls', calls: [{ name: 'search_docs', hasId: true, arguments: { query: 'string', limit: 'number' } }], usage: { prompt: true, completion: true, totalIsSum: true } },
    answer: { finishReason: 'stop', sawToolResult: true, calls: 0, usage: { prompt: true, completion: true, totalIsSum: true } },
  },
};

const expectedAnthropicShape = {
  plain: { text: `echo: ${prompt}`, stopReason: 'end_turn', usage: { input: true, output: true } },
  streamed: { text: `echo: ${prompt}`, stopReason: 'end_turn', usage: { input: true, output: true } },
  toolsJson: {
    call: { stopReason: 'tool_use', toolUses: [{ name: 'search_docs', hasId: true, input: { query: 'string', limit: 'number' } }], usage: { input: true, output: true } },
    answer: { stopReason: 'end_turn', sawToolResult: true, toolUses: 0, usage: { input: true, output: true } },
  },
  toolsStreamed: {
    call: { stopReason: 'tool_use', toolUses: [{ name: 'search_docs', hasId: true, input: { query: 'string', limit: 'number' } }], usage: { input: true, output: true } },
    answer: { stopReason: 'end_turn', sawToolResult: true, toolUses: 0, usage: { input: true, output: true } },
  },
};

describe('one program, three vendors: equivalent answers from GPT, Claude and Gemini on one relay', () => {
  const vendors = threeVendors({ holysheep: holysheepKey, anthropic: anthropicKey, gemini: geminiKey });
  const { holysheep, anthropic: anthropicUpstream, gemini } = vendors;
  const upstreamRequests: Record<Provider, () => number> = {
    holysheep: () => holysheep.requests.length,
    anthropic: () => anthropicUpstream.requests.length,
    gemini: () => gemini.requests.length,
  };
  let relay: StartedRelay;
  let openai: OpenAI;
  let anthropic: Anthropic;
  const openAIResults = new Map<string, OpenAIProgramResult>();
  const anthropicResults = new Map<string, AnthropicProgramResult>();

  beforeAll(async () => {
    relay = await vendors.start();
    openai = new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 });
    // The Anthropic SDK takes the origin: it appends /v1/messages itself.
    anthropic = new Anthropic({ apiKey: masterKey, baseURL: relay.url, maxRetries: 0 });
    // A real model streams the answer it would have given; the OpenAI mock does so on request.
    holysheep.setStreamDefaults({ likeJson: true });
  });
  afterAll(() => vendors.stop());

  /** Runs a program and counts the requests each upstream received meanwhile. */
  async function run<T>(program: () => Promise<T>): Promise<{ result: T; requests: Record<Provider, number> }> {
    const before = { holysheep: upstreamRequests.holysheep(), anthropic: upstreamRequests.anthropic(), gemini: upstreamRequests.gemini() };
    const result = await program();
    const requests = { holysheep: 0, anthropic: 0, gemini: 0 };
    for (const name of Object.keys(before) as Provider[]) requests[name] = upstreamRequests[name]() - before[name];
    return { result, requests };
  }

  describe.each(models)('the OpenAI SDK program with $family ($model)', ({ model, provider }) => {
    let requests: Record<Provider, number>;
    beforeAll(async () => {
      const outcome = await run(() => runOpenAIProgram(openai, model));
      openAIResults.set(model, outcome.result);
      requests = outcome.requests;
    });

    it('is served by its own upstream, and only by it', () => {
      const result = openAIResults.get(model)!;
      expect(result.plainProvider).toBe(provider);
      expect(result.streamProvider).toBe(provider);
      // Six chat calls: plain, streamed, and two per tool round trip.
      expect(requests).toEqual({ holysheep: 0, anthropic: 0, gemini: 0, [provider]: 6 });
      // Nothing the program sends needs dropping on any upstream.
      expect(result.plainDropped).toBeNull();
    });

    it('gets a plain answer and the same answer streamed, with usage on the last chunk', () => {
      const result = openAIResults.get(model)!;
      expect(result.plain.text).toBe(`echo: ${prompt}`);
      expect(result.plain.finishReason).toBe('stop');
      expect(result.streamed.text).toBe(result.plain.text);
      expect(result.streamed.finishReason).toBe(result.plain.finishReason);
      expect(result.streamed.usage).toEqual(result.plain.usage);
      expect(result.streamed.chunks[0]?.choices[0]?.delta.role).toBe('assistant');
      expect(result.streamed.chunks.length).toBeGreaterThan(3);
      // include_usage: the finish reason on the last choice chunk, then one usage-only chunk.
      expect(result.streamed.chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
      expect(result.streamed.chunks.at(-1)?.choices).toEqual([]);
      expect(result.streamed.chunks.slice(0, -1).every((chunk) => !chunk.usage)).toBe(true);
      const shape = openAIShape(result);
      expect(shape.plain).toEqual(expectedOpenAIShape.plain);
      expect(shape.streamed).toEqual(expectedOpenAIShape.streamed);
    });

    it('runs a tool-call round trip, with the same call in JSON and streamed', () => {
      const { toolsJson, toolsStreamed } = openAIResults.get(model)!;
      for (const { call, answer } of [toolsJson, toolsStreamed]) {
        expect(call.finishReason).toBe('tool_calls');
        expect(call.toolCalls).toHaveLength(1);
        expect(call.toolCalls[0]).toMatchObject({ id: expect.stringMatching(/\S/), name: 'search_docs' });
        const args = JSON.parse(call.toolCalls[0]!.arguments) as Record<string, unknown>;
        expect(args).toEqual({ query: expect.any(String), limit: expect.any(Number) });
        expect(answer.finishReason).toBe('stop');
        expect(answer.toolCalls).toEqual([]);
        expect(answer.text).toContain(toolResult);
      }
      // Streaming changes how the answer travels, not what it is.
      expect(toolsStreamed.call.toolCalls.map(({ name, arguments: text }) => ({ name, args: JSON.parse(text) as unknown }))).toEqual(
        toolsJson.call.toolCalls.map(({ name, arguments: text }) => ({ name, args: JSON.parse(text) as unknown })),
      );
      expect(toolsStreamed.call.text).toBe(toolsJson.call.text);
      expect(toolsStreamed.call.usage).toEqual(toolsJson.call.usage);
      expect(toolsStreamed.answer.text).toBe(toolsJson.answer.text);
      expect(toolsStreamed.answer.usage).toEqual(toolsJson.answer.usage);
      const shape = openAIShape(openAIResults.get(model)!);
      expect(shape.toolsJson).toEqual(expectedOpenAIShape.toolsJson);
      expect(shape.toolsStreamed).toEqual(expectedOpenAIShape.toolsStreamed);
    });
  });

  describe.each(models)('the Anthropic SDK program against /v1/messages with $family ($model)', ({ model, provider }) => {
    let requests: Record<Provider, number>;
    beforeAll(async () => {
      const outcome = await run(() => runAnthropicProgram(anthropic, model));
      anthropicResults.set(model, outcome.result);
      requests = outcome.requests;
    });

    it('is served by its own upstream, and only by it', () => {
      expect(anthropicResults.get(model)!.plainProvider).toBe(provider);
      expect(requests).toEqual({ holysheep: 0, anthropic: 0, gemini: 0, [provider]: 6 });
    });

    it('gets a message and the same message through the SDK’s stream helper', () => {
      const result = anthropicResults.get(model)!;
      expect(result.plain.text).toBe(`echo: ${prompt}`);
      expect(result.plain.stopReason).toBe('end_turn');
      expect(result.streamed.text).toBe(result.plain.text);
      expect(result.streamedTexts.length).toBeGreaterThan(1);
      expect(result.streamedTexts.join('')).toBe(result.plain.text);
      expect(result.streamed.stopReason).toBe('end_turn');
      expect(result.streamed.usage).toEqual(result.plain.usage);
      const shape = anthropicShape(result);
      expect(shape.plain).toEqual(expectedAnthropicShape.plain);
      expect(shape.streamed).toEqual(expectedAnthropicShape.streamed);
    });

    it('runs a tool_use round trip, with the same tool_use in JSON and streamed', () => {
      const { toolsJson, toolsStreamed } = anthropicResults.get(model)!;
      for (const { call, answer } of [toolsJson, toolsStreamed]) {
        expect(call.stopReason).toBe('tool_use');
        expect(call.toolUses).toHaveLength(1);
        expect(call.toolUses[0]).toMatchObject({ id: expect.stringMatching(/\S/), name: 'search_docs', input: { query: expect.any(String), limit: expect.any(Number) } });
        expect(answer.stopReason).toBe('end_turn');
        expect(answer.toolUses).toEqual([]);
        expect(answer.text).toContain(toolResult);
      }
      expect(toolsStreamed.call.toolUses.map(({ name, input }) => ({ name, input }))).toEqual(toolsJson.call.toolUses.map(({ name, input }) => ({ name, input })));
      expect(toolsStreamed.call.text).toBe(toolsJson.call.text);
      expect(toolsStreamed.call.usage).toEqual(toolsJson.call.usage);
      expect(toolsStreamed.answer.text).toBe(toolsJson.answer.text);
      expect(toolsStreamed.answer.usage).toEqual(toolsJson.answer.usage);
      const shape = anthropicShape(anthropicResults.get(model)!);
      expect(shape.toolsJson).toEqual(expectedAnthropicShape.toolsJson);
      expect(shape.toolsStreamed).toEqual(expectedAnthropicShape.toolsStreamed);
    });
  });

  it('gives the same shape of answer for every model, in both SDKs', () => {
    expect([...openAIResults.keys()]).toEqual(models.map((entry) => entry.model));
    expect([...anthropicResults.keys()]).toEqual(models.map((entry) => entry.model));
    const openAIShapes = models.map(({ model }) => openAIShape(openAIResults.get(model)!));
    const anthropicShapes = models.map(({ model }) => anthropicShape(anthropicResults.get(model)!));
    for (const shape of openAIShapes) expect(shape).toEqual(openAIShapes[0]);
    for (const shape of anthropicShapes) expect(shape).toEqual(anthropicShapes[0]);
  });
});
