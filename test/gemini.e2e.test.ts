import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { APIError, BadRequestError } from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { geminiMaxEmbedBatch, geminiMaxStopSequences, MockGeminiUpstream } from './support/mock-gemini-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';

const geminiKey = 'AIzaSy-upstream-gemini-secret-7f6e5d4c3b2a';
const model = 'gemini-2.5-flash';
const weatherTool: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather now in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['city'] },
  },
};

interface GeminiRelay {
  relay: StartedRelay;
  /** An OpenAI client of the relay that does not retry. */
  client: OpenAI;
  /** Stops the relay, then the upstream. */
  stop: () => Promise<void>;
}

/** Starts `upstream` and a relay in front of it. */
async function startGeminiRelay(upstream: MockGeminiUpstream): Promise<GeminiRelay> {
  await upstream.start();
  const relay = await startRelay({ GEMINI_API_KEY: geminiKey, GEMINI_BASE_URL: upstream.origin });
  const stop = async () => {
    await relay.close();
    await upstream.stop();
  };
  return { relay, client: new OpenAI({ apiKey: masterKey, baseURL: relay.baseURL, maxRetries: 0 }), stop };
}

describe('Gemini through the official openai SDK', () => {
  const upstream = new MockGeminiUpstream(geminiKey);
  let relay: StartedRelay;
  let client: OpenAI;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ relay, client, stop } = await startGeminiRelay(upstream));
  });
  afterAll(() => stop());
  beforeEach(() => upstream.reset());

  it('answers a chat completion, sending the key in x-goog-api-key and never in the URL', async () => {
    const { data, response } = await client.chat.completions
      .create({ model, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello' }], max_tokens: 64, temperature: 0.2, stop: ['END'] })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.model).toBe(model);
    expect(data.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'echo: hello' });
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.usage).toEqual({ prompt_tokens: 11, completion_tokens: 10, total_tokens: 21, completion_tokens_details: { reasoning_tokens: 3 } });
    expect(response.headers.get('x-relay-provider')).toBe('gemini');
    expect(response.headers.get('x-relay-model')).toBe(model);

    const sent = upstream.requests[0]!;
    expect(sent.url).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(sent.headers['x-goog-api-key']).toBe(geminiKey);
    expect(sent.url).not.toContain(geminiKey);
    expect(sent.url).not.toContain('key=');
    expect(sent.headers.authorization).toBeUndefined();
    expect(JSON.stringify(sent.headers)).not.toContain(masterKey);
    expect(sent.body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'hello' }] }],
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      generationConfig: { maxOutputTokens: 64, temperature: 0.2, stopSequences: ['END'] },
    });
  });

  it('streams text without usage when the client did not ask, and still meters it', async () => {
    const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'one two three' }], stream: true });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('echo: one two three');
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.every((chunk) => chunk.choices.length === 1 && !chunk.usage)).toBe(true);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(upstream.requests[0]?.url).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    await expect
      .poll(() => relay.logs.filter((line) => line.msg === 'request' && line.stream === true && line.model === model).at(-1)?.completionTokens)
      .toBe(10);
  });

  it('streams with a usage-only last chunk when the client asks for include_usage', async () => {
    const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'count' }], stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ prompt_tokens: 11, completion_tokens: 10, total_tokens: 21, completion_tokens_details: { reasoning_tokens: 3 } });
    expect(chunks.slice(0, -1).map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('echo: count');
  });

  it('runs a full tool-call round trip: tool_calls, then the tool result, then the final answer', async () => {
    const question: OpenAI.ChatCompletionMessageParam = { role: 'user', content: 'Weather in Paris?' };
    const first = await client.chat.completions.create({ model, messages: [question], tools: [weatherTool], tool_choice: 'auto' });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    const call = choice.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.id).toMatch(/^call_[0-9a-f]{12}_0$/);
    expect(call.function).toEqual({ name: 'get_weather', arguments: '{"city":"sample city","unit":"celsius"}' });
    expect(upstream.requests[0]?.body.tools).toEqual([{ functionDeclarations: [{ name: 'get_weather', description: 'The weather now in a city', parametersJsonSchema: weatherTool.function.parameters }] }]);
    expect(upstream.requests[0]?.body.toolConfig).toEqual({ functionCallingConfig: { mode: 'AUTO' } });

    const second = await client.chat.completions.create({
      model,
      tools: [weatherTool],
      messages: [question, choice.message, { role: 'tool', tool_call_id: call.id, content: '{"temperature":21,"sky":"clear"}' }],
    });
    expect(second.choices[0]?.message.content).toBe('Results: get_weather={"temperature":21,"sky":"clear"}');
    expect(second.choices[0]?.finish_reason).toBe('stop');
    expect(upstream.requests[1]?.body.contents).toEqual([
      { role: 'user', parts: [{ text: 'Weather in Paris?' }] },
      { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'sample city', unit: 'celsius' } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { temperature: 21, sky: 'clear' } } }] },
    ]);
  });

  it('streams a tool call that the SDK assembles, with a named tool_choice', async () => {
    const stream = client.chat.completions.stream({
      model,
      messages: [{ role: 'user', content: 'Weather?' }],
      tools: [weatherTool],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const completion = await stream.finalChatCompletion();
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(completion.choices[0]?.message.tool_calls?.map((call) => (call as OpenAI.ChatCompletionMessageFunctionToolCall).function)).toEqual([
      { name: 'get_weather', arguments: '{"city":"sample city","unit":"celsius"}' },
    ]);
    expect(upstream.requests[0]?.body.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } });
  });

  it('sends a data-URL image as inlineData', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex').toString('base64');
    const result = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } }] }],
    });
    expect(result.choices[0]?.message.content).toBe('echo: What is this? [image/png, 16 bytes]');
    expect((upstream.requests[0]?.body.contents as Array<{ parts: unknown[] }>)[0]?.parts[1]).toEqual({ inlineData: { mimeType: 'image/png', data: png } });
  });

  it('maps finish reasons: MAX_TOKENS → length, SAFETY → content_filter, a blocked prompt → content_filter with empty content', async () => {
    upstream.next({ kind: 'text', text: 'Once upon a', finishReason: 'MAX_TOKENS' }, { kind: 'text', text: '', finishReason: 'SAFETY' }, { kind: 'blocked' });
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'x' }];
    const truncated = await client.chat.completions.create({ model, messages, max_completion_tokens: 3 });
    expect(truncated.choices[0]).toMatchObject({ finish_reason: 'length', message: { content: 'Once upon a' } });
    expect(upstream.requests[0]?.body.generationConfig).toEqual({ maxOutputTokens: 3 });
    const unsafe = await client.chat.completions.create({ model, messages });
    expect(unsafe.choices[0]?.finish_reason).toBe('content_filter');
    const blocked = await client.chat.completions.create({ model, messages });
    expect(blocked.choices[0]).toMatchObject({ finish_reason: 'content_filter', message: { content: '' } });
  });

  it('retries a 503 UNAVAILABLE and succeeds', async () => {
    upstream.next({ kind: 'status', status: 503, body: { error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } } });
    const { data, response } = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'again' }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe('echo: again');
    expect(upstream.requests).toHaveLength(2);
    expect(response.headers.get('x-relay-attempts')).toBe('2');
  });

  it('retries a 429 after the RetryInfo delay', async () => {
    upstream.next({
      kind: 'status',
      status: 429,
      body: { error: { code: 429, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '0.01s' }] } },
    });
    const { response } = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] }).withResponse();
    expect(response.headers.get('x-relay-attempts')).toBe('2');
  });

  it("answers 502 when Gemini refuses the relay's key (400 API_KEY_INVALID), without retrying", async () => {
    const wrongKeyRelay = await startRelay({ GEMINI_API_KEY: 'AIza-wrong-key', GEMINI_BASE_URL: upstream.origin });
    try {
      const wrong = new OpenAI({ apiKey: masterKey, baseURL: wrongKeyRelay.baseURL, maxRetries: 0 });
      const error = (await wrong.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught)) as APIError;
      expect(error.status).toBe(502);
      expect(error.code).toBe('upstream_auth_failed');
      expect(error.message).toMatch(/not your key/);
      expect(upstream.requests).toHaveLength(1);
      expect(wrongKeyRelay.rawLogs()).not.toContain('AIza-wrong-key');
    } finally {
      await wrongKeyRelay.close();
    }
  });

  it("passes Gemini's 400 through with its message", async () => {
    upstream.next({ kind: 'status', status: 400, body: { error: { code: 400, message: '* GenerationConfig.temperature: must be less than or equal to 2', status: 'INVALID_ARGUMENT' } } });
    const error = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }], temperature: 5 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).message).toMatch(/temperature: must be less than or equal to 2/);
    expect(upstream.requests).toHaveLength(1);
  });

  it('drops parameters Gemini cannot honour and says so; refuses them in strict mode without calling Gemini', async () => {
    const { response } = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }], logit_bias: { '42': 10 }, logprobs: true }).withResponse();
    expect(response.headers.get('x-relay-dropped-params')).toBe('logprobs,logit_bias');
    expect(upstream.requests).toHaveLength(1);
    const error = (await client.chat.completions
      .create({ model, messages: [{ role: 'user', content: 'x' }], logit_bias: { '42': 10 } }, { headers: { 'x-relay-strict': '1' } })
      .catch((caught: unknown) => caught)) as BadRequestError;
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.code).toBe('unsupported_parameter');
    expect(error.param).toBe('logit_bias');
    expect(error.message).toMatch(/Gemini cannot honour the parameter logit_bias/);
    expect(upstream.requests).toHaveLength(1);
  });

  it('sends the first 5 of more stop sequences than Gemini takes and reports the others, to OpenAI and Anthropic clients; refuses them in strict mode', async () => {
    const stops = ['###', 'END', 'Human:', '</answer>', 'STOP', '---', '==='];
    const { response } = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }], stop: stops }).withResponse();
    expect(response.headers.get('x-relay-dropped-params')).toBe('stop[5],stop[6]');
    expect(upstream.requests.map((sent) => (sent.body.generationConfig as { stopSequences?: string[] }).stopSequences)).toEqual([stops.slice(0, geminiMaxStopSequences)]);
    // At /v1/messages the same, under Anthropic's name, JSON and stream.
    const anthropic = new Anthropic({ apiKey: masterKey, baseURL: relay.url, maxRetries: 0 });
    const body = { model, max_tokens: 50, stop_sequences: stops, messages: [{ role: 'user' as const, content: 'hello' }] };
    const { data: message, response: messageResponse } = await anthropic.messages.create(body).withResponse();
    expect(message.content).toEqual([{ type: 'text', text: 'echo: hello' }]);
    expect(messageResponse.headers.get('x-relay-dropped-params')).toBe('stop_sequences[5],stop_sequences[6]');
    const stream = anthropic.messages.stream(body);
    await stream.finalMessage();
    expect((await stream.withResponse()).response.headers.get('x-relay-dropped-params')).toBe('stop_sequences[5],stop_sequences[6]');
    expect(upstream.requests.map((sent) => (sent.body.generationConfig as { stopSequences?: string[] }).stopSequences)).toEqual(Array(3).fill(stops.slice(0, geminiMaxStopSequences)));
    const error = (await client.chat.completions
      .create({ model, messages: [{ role: 'user', content: 'x' }], stop: stops }, { headers: { 'x-relay-strict': '1' } })
      .catch((caught: unknown) => caught)) as BadRequestError;
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.code).toBe('unsupported_parameter');
    expect(error.param).toBe('stop[5]');
    expect(upstream.requests).toHaveLength(3);
  });

  it("learns a Gemini model's output limit from its refusal of a Claude-sized max_tokens at /v1/messages: sent again with it, and the next request with it at once", async () => {
    upstream.setOutputLimits({ 'gemini-2.0-flash': 8_192 });
    const anthropic = new Anthropic({ apiKey: masterKey, baseURL: relay.url, maxRetries: 0, timeout: 30_000 });
    const body = { model: 'gemini-2.0-flash', max_tokens: 32_000, messages: [{ role: 'user' as const, content: 'hello' }] };
    const { data: message, response } = await anthropic.messages.create(body).withResponse();
    expect(message.content[0]).toMatchObject({ type: 'text' });
    expect(response.headers.get('x-relay-attempts')).toBe('1');
    const sent = () => upstream.requests.map((entry) => (entry.body.generationConfig as { maxOutputTokens?: number }).maxOutputTokens);
    expect(sent()).toEqual([32_000, 8_192]);
    upstream.reset();
    upstream.setOutputLimits({ 'gemini-2.0-flash': 8_192 });
    await anthropic.messages.stream(body).finalMessage();
    expect(sent()).toEqual([8_192]);
  });

  it('ends a stream that fails after its first byte with an error event', async () => {
    upstream.next({ kind: 'stream-error', events: 2 });
    const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'a b c d' }], stream: true });
    let text = '';
    const error = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((caught: unknown) => caught);
    expect(text).toBe('echo: a ');
    expect(error).toBeInstanceOf(APIError);
    expect(upstream.requests).toHaveLength(1);
  });

  it('maps embeddings to batchEmbedContents, decoded by the SDK from base64', async () => {
    const result = await client.embeddings.create({ model: 'gemini-embedding-001', input: ['hello', 'world!'], dimensions: 4 });
    expect(result.object).toBe('list');
    expect(result.data.map((entry) => entry.index)).toEqual([0, 1]);
    // The mock's (0.05, 0.06, 0.07, 0.08), at unit length.
    expect(result.data[0]?.embedding.map((value) => Number(value.toFixed(4)))).toEqual([0.379, 0.4549, 0.5307, 0.6065]);
    expect(result.data[1]?.embedding).toHaveLength(4);
    expect(result.usage).toEqual({ prompt_tokens: 4, total_tokens: 4 });
    const sent = upstream.requests[0]!;
    expect(sent.url).toBe('/v1beta/models/gemini-embedding-001:batchEmbedContents');
    expect(sent.body).toEqual({
      requests: [
        { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'hello' }] }, outputDimensionality: 4 },
        { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'world!' }] }, outputDimensionality: 4 },
      ],
    });
  });

  it('gives unit-length vectors, as OpenAI does, where Gemini gives vectors of another length (any dimensions but its full 3072)', async () => {
    const length = (vector: number[]) => Math.hypot(...vector);
    // Without encoding_format the SDK asks for base64 and decodes it.
    for (const encoding_format of ['float', undefined] as const) {
      const result = await client.embeddings.create({ model: 'gemini-embedding-001', input: ['hello', 'world!'], dimensions: 4, encoding_format });
      for (const entry of result.data) expect(length(entry.embedding)).toBeCloseTo(1, 6);
      // The direction is Gemini's: the mock's vector for "hello" is (0.05, 0.06, 0.07, 0.08).
      const raw = [0.05, 0.06, 0.07, 0.08];
      result.data[0]!.embedding.forEach((value, position) => expect(value).toBeCloseTo(raw[position]! / length(raw), 6));
    }
  });

  it('embeds more texts than one Gemini batch takes, as OpenAI does (up to 2048 inputs), every vector in input order', async () => {
    const inputs = Array.from({ length: geminiMaxEmbedBatch + 50 }, (_value, index) => `text number ${index}`);
    const result = await client.embeddings.create({ model: 'gemini-embedding-001', input: inputs, dimensions: 4, encoding_format: 'float' });
    expect(result.data).toHaveLength(inputs.length);
    expect(result.data.map((entry) => entry.index)).toEqual(inputs.map((_input, index) => index));
    // The mock's vector is ((length of the text + position) / 100), here at unit length: each vector belongs to its own input.
    const direction = (text: string) => {
      const raw = [0, 1, 2, 3].map((position) => (text.length + position) / 100);
      return raw.map((value) => value / Math.hypot(...raw));
    };
    result.data.forEach((entry, index) => expect(entry.embedding[0]).toBeCloseTo(direction(inputs[index]!)[0]!, 6));
    expect(upstream.requests.every((sent) => (sent.body.requests as unknown[]).length <= geminiMaxEmbedBatch)).toBe(true);
  });

  it('answers a request made with legacy `functions` in the legacy shape: message.function_call and finish_reason function_call', async () => {
    const functions: OpenAI.ChatCompletionCreateParams.Function[] = [weatherTool.function];
    const completion = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Weather in Paris?' }], functions, function_call: 'auto' });
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe('function_call');
    expect(choice.message.function_call).toEqual({ name: 'get_weather', arguments: '{"city":"sample city","unit":"celsius"}' });
    expect(choice.message.tool_calls ?? []).toEqual([]);

    const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Weather in Paris?' }], functions, stream: true });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const called = chunks.map((chunk) => chunk.choices[0]?.delta.function_call).filter((call) => call !== undefined);
    expect(called.map((call) => call.name ?? '').join('')).toBe('get_weather');
    expect(called.map((call) => call.arguments ?? '').join('')).toBe('{"city":"sample city","unit":"celsius"}');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('function_call');
  });

  it('sends a text data URL that is not valid percent-encoding as browsers read it, a % without two hex digits kept as it is', async () => {
    const answer = await client.chat.completions.create({ model, messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the note' }, { type: 'file', file: { filename: 'note.txt', file_data: 'data:text/plain,We%20are%20100% sure' } }] }] });
    expect(answer.choices[0]?.finish_reason).toBe('stop');
    const part = (upstream.requests[0]?.body.contents as Array<{ parts: Array<{ inlineData?: { mimeType: string; data: string } }> }>)[0]?.parts[1];
    expect(part?.inlineData?.mimeType).toBe('text/plain');
    expect(Buffer.from(part!.inlineData!.data, 'base64').toString('utf8')).toBe('We are 100% sure');
  });

  it('sends no penalty at its default 0, and drops and reports another value, which Gemini 2.5 refuses ("Penalty is not enabled")', async () => {
    const { data, response } = await client.chat.completions
      .create({ model, messages: [{ role: 'user', content: 'hello' }], presence_penalty: 0, frequency_penalty: 0 })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('echo: hello');
    expect(response.headers.get('x-relay-dropped-params')).toBeNull();
    expect(upstream.requests[0]?.body.generationConfig).toBeUndefined();

    const penalized = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hello' }], presence_penalty: 0.6, frequency_penalty: 0 }).withResponse();
    expect(penalized.data.choices[0]?.message.content).toBe('echo: hello');
    expect(penalized.response.headers.get('x-relay-dropped-params')).toBe('presence_penalty');
  });

  it('refuses legacy completions for Gemini models with a clear 400', async () => {
    const error = await client.completions.create({ model, prompt: 'Say' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).message).toMatch(/no legacy completions endpoint/);
    expect(upstream.requests).toHaveLength(0);
  });

  it("refuses a model name whose '..' would lead the relay's key to another path of the API", async () => {
    for (const name of ['gemini-2.5-flash/../models/gemini-2.5-pro', 'gemini-2.5-flash/../../../v1beta/cachedContents', 'gemini-2.5-flash/./x', 'gemini-2.5-flash//x']) {
      const error = await client.chat.completions.create({ model: name, messages: [{ role: 'user', content: 'hi' }] }).catch((caught: unknown) => caught);
      expect(error, name).toBeInstanceOf(BadRequestError);
      expect((error as BadRequestError).message).toContain('is not a Gemini model name');
      const streamed = await client.chat.completions.create({ model: name, messages: [{ role: 'user', content: 'hi' }], stream: true }).catch((caught: unknown) => caught);
      expect(streamed, name).toBeInstanceOf(BadRequestError);
      const embedded = await client.embeddings.create({ model: name, input: 'hi' }).catch((caught: unknown) => caught);
      expect(embedded, name).toBeInstanceOf(BadRequestError);
    }
    expect(upstream.requests).toHaveLength(0);
  });

  it('never writes the Gemini key to the logs', () => {
    expect(relay.rawLogs()).not.toContain(geminiKey);
    expect(relay.rawLogs()).not.toContain(masterKey);
  });
});

describe('Gemini refusing a file the client named', () => {
  const upstream = new MockGeminiUpstream(geminiKey);
  let gemini: GeminiRelay;

  beforeAll(async () => {
    gemini = await startGeminiRelay(upstream);
  });
  afterAll(() => gemini.stop());

  it("passes Gemini's 403 about a Files API file (expired, or another project's) to the client as its own error, and keeps the deployment in service", async () => {
    // Gemini's answer for a file URI the key cannot read: files expire 48 hours after upload.
    const message = 'You do not have permission to access the File 4bx9kz2m1q or it may not exist.';
    upstream.next({ kind: 'status', status: 403, body: { error: { code: 403, message, status: 'PERMISSION_DENIED' } } });
    const error = (await gemini.client.chat.completions
      .create({
        model,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is in this picture?' },
              { type: 'image_url', image_url: { url: 'https://generativelanguage.googleapis.com/v1beta/files/4bx9kz2m1q' } },
            ],
          },
        ],
      })
      .catch((caught: unknown) => caught)) as APIError;
    expect(error).toBeInstanceOf(APIError);
    expect(error.status).toBeGreaterThanOrEqual(400);
    expect(error.status).toBeLessThan(500);
    expect(error.code).not.toBe('upstream_auth_failed');
    expect(error.message).toContain(message);
    expect(upstream.requests[0]?.body.contents).toEqual([
      { role: 'user', parts: [{ text: 'What is in this picture?' }, { fileData: { fileUri: 'https://generativelanguage.googleapis.com/v1beta/files/4bx9kz2m1q' } }] },
    ]);

    // The relay's key is fine: the deployment stays in service for everyone else.
    const response = await request(`${gemini.relay.url}/admin/deployments`, { headers: { authorization: `Bearer ${masterKey}` } });
    const { data } = (await response.body.json()) as { data: Array<{ id: string; state: string; ejections: number }> };
    expect(data.find((deployment) => deployment.id === `gemini/${model}`)).toMatchObject({ state: 'closed', ejections: 0 });
    const answer = await gemini.client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hello' }] });
    expect(answer.choices[0]?.message.content).toBe('echo: hello');
  });
});
