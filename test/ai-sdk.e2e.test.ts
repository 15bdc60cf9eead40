import { createOpenAI } from '@ai-sdk/openai';
import { generateObject, generateText, jsonSchema, stepCountIs, streamObject, streamText, tool } from 'ai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MockGeminiUpstream } from './support/mock-gemini-upstream.js';
import { MockOpenAIUpstream } from './support/mock-openai-upstream.js';
import { masterKey, startRelay, type StartedRelay } from './support/start-relay.js';
import { threeVendors } from './support/three-vendors.js';

const geminiKey = 'AIzaSy-ai-sdk-gemini-secret-000111222';

/**
 * A weather tool with a plain JSON Schema (`jsonSchema` from `ai`): zod is only a peer dependency
 * of the AI SDK here, not one of ours. The mocks sample arguments from the schema, so the model
 * always asks for `{ city: "sample city" }`.
 */
const weather = tool({
  description: 'The weather now in a city',
  inputSchema: jsonSchema<{ city: string }>({
    type: 'object',
    properties: { city: { type: 'string', description: 'The city' } },
    required: ['city'],
    additionalProperties: false,
  }),
  execute: async ({ city }) => ({ city, temperature: 21 }),
});

/** What each model's upstream answers once the tool result came back, and its usage per (JSON) call. */
const cases = [
  {
    model: 'gemini-2.5-flash',
    upstreamName: 'gemini',
    finalText: 'Results: weather={"city":"sample city","temperature":21}',
    streamedFinalText: 'Results: weather={"city":"sample city","temperature":21}',
    usage: { inputTokens: 11, outputTokens: 10, totalTokens: 21, reasoningTokens: 3 },
  },
  {
    model: 'gpt-4.1',
    upstreamName: 'openai-compatible',
    finalText: 'echo: {"city":"sample city","temperature":21}',
    // The OpenAI mock streams a fixed text whatever it was asked.
    streamedFinalText: 'word0 word1 word2 word3 word4 ',
    usage: { inputTokens: 11, outputTokens: 7, totalTokens: 18, reasoningTokens: undefined },
  },
] as const;

describe('the Vercel AI SDK through the relay (chat completions API)', () => {
  const gemini = new MockGeminiUpstream(geminiKey);
  const openai = new MockOpenAIUpstream();
  let relay: StartedRelay;
  let provider: ReturnType<typeof createOpenAI>;

  beforeAll(async () => {
    await Promise.all([gemini.start(), openai.start()]);
    relay = await startRelay({
      GEMINI_API_KEY: geminiKey,
      GEMINI_BASE_URL: gemini.origin,
      HOLYSHEEP_API_KEY: 'sk-upstream-holysheep-ai-sdk',
      HOLYSHEEP_BASE_URL: openai.url,
    });
    provider = createOpenAI({ baseURL: relay.baseURL, apiKey: masterKey });
  });
  afterAll(async () => {
    await relay.close();
    await Promise.all([gemini.stop(), openai.stop()]);
  });
  beforeEach(() => {
    gemini.reset();
    openai.reset();
  });

  const upstreamRequests = (model: string) => (model.startsWith('gemini') ? gemini.requests : openai.requests);

  for (const testCase of cases) {
    describe(`${testCase.model} (${testCase.upstreamName} upstream)`, () => {
      it('generateText answers text with finish reason and usage', async () => {
        const result = await generateText({ model: provider.chat(testCase.model), prompt: 'hello there', maxRetries: 0 });
        expect(result.text).toBe('echo: hello there');
        expect(result.finishReason).toBe('stop');
        expect(result.usage.inputTokens).toBe(testCase.usage.inputTokens);
        expect(result.usage.outputTokens).toBe(testCase.usage.outputTokens);
        expect(result.usage.totalTokens).toBe(testCase.usage.totalTokens);
        expect(result.usage.reasoningTokens).toBe(testCase.usage.reasoningTokens);
        expect(result.response.headers?.['x-relay-model']).toBe(testCase.model);
        expect(upstreamRequests(testCase.model)).toHaveLength(1);
      });

      it('generateText calls the tool, sends its result back and answers from it', async () => {
        const result = await generateText({
          model: provider.chat(testCase.model),
          tools: { weather },
          stopWhen: stepCountIs(3),
          prompt: 'What is the weather in Paris?',
          maxRetries: 0,
        });
        expect(result.steps).toHaveLength(2);
        const [calling, answering] = result.steps;
        expect(calling!.finishReason).toBe('tool-calls');
        expect(calling!.toolCalls).toHaveLength(1);
        expect(calling!.toolCalls[0]).toMatchObject({ toolName: 'weather', input: { city: 'sample city' } });
        expect(calling!.toolResults[0]).toMatchObject({ toolName: 'weather', output: { city: 'sample city', temperature: 21 } });
        expect(answering!.finishReason).toBe('stop');
        expect(result.text).toBe(testCase.finalText);
        expect(result.finishReason).toBe('stop');
        expect(result.totalUsage.inputTokens).toBe(2 * testCase.usage.inputTokens);
        expect(result.totalUsage.outputTokens).toBe(2 * testCase.usage.outputTokens);
        expect(result.totalUsage.totalTokens).toBe(2 * testCase.usage.totalTokens);
        // The second request carried the call and its result under the same id.
        const toolCallId = calling!.toolCalls[0]!.toolCallId;
        expect(calling!.toolResults[0]!.toolCallId).toBe(toolCallId);
        expect(upstreamRequests(testCase.model)).toHaveLength(2);
      });

      it('streamText streams the tool call, the tool result and the final text', async () => {
        const result = streamText({
          model: provider.chat(testCase.model),
          tools: { weather },
          stopWhen: stepCountIs(3),
          prompt: 'What is the weather in Paris?',
          maxRetries: 0,
        });
        const types: string[] = [];
        let text = '';
        for await (const part of result.fullStream) {
          types.push(part.type);
          if (part.type === 'text-delta') text += part.text;
          if (part.type === 'tool-call') expect(part).toMatchObject({ toolName: 'weather', input: { city: 'sample city' } });
          if (part.type === 'tool-result') expect(part.output).toEqual({ city: 'sample city', temperature: 21 });
          if (part.type === 'error') throw part.error;
        }
        expect(types.indexOf('tool-call')).toBeGreaterThan(-1);
        expect(types.indexOf('tool-result')).toBeGreaterThan(types.indexOf('tool-call'));
        expect(types.lastIndexOf('text-delta')).toBeGreaterThan(types.indexOf('tool-result'));
        expect(text).toBe(testCase.streamedFinalText);
        const steps = await result.steps;
        expect(steps.map((step) => step.finishReason)).toEqual(['tool-calls', 'stop']);
        expect(await result.finishReason).toBe('stop');
        const usage = await result.totalUsage;
        expect(usage.inputTokens).toBeGreaterThan(0);
        expect(usage.outputTokens).toBeGreaterThan(0);
        expect(usage.totalTokens).toBe((usage.inputTokens ?? 0) + (usage.outputTokens ?? 0));
        // The AI SDK asks for usage on streams; the relay must have passed it on.
        expect(upstreamRequests(testCase.model)).toHaveLength(2);
      });
    });
  }

  it('streamText reports Gemini usage exactly, thinking tokens included', async () => {
    const result = streamText({ model: provider.chat('gemini-2.5-flash'), prompt: 'count words', maxRetries: 0 });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(text).toBe('echo: count words');
    expect(await result.finishReason).toBe('stop');
    expect(await result.usage).toMatchObject({ inputTokens: 11, outputTokens: 10, totalTokens: 21, reasoningTokens: 3 });
  });
});

describe('the Vercel AI SDK asking Claude and Gemini for structured output (response_format json_schema)', () => {
  const upstreams = threeVendors({ holysheep: 'sk-upstream-holysheep-objects', anthropic: 'sk-ant-upstream-objects-0a1b', gemini: geminiKey });
  let provider: ReturnType<typeof createOpenAI>;
  const answer = jsonSchema<{ city: string; days: number }>({
    type: 'object',
    properties: { city: { type: 'string' }, days: { type: 'integer' } },
    required: ['city', 'days'],
    additionalProperties: false,
  });

  beforeAll(async () => {
    const relay = await upstreams.start();
    provider = createOpenAI({ baseURL: relay.baseURL, apiKey: masterKey });
  });
  afterAll(() => upstreams.stop());
  beforeEach(() => {
    upstreams.anthropic.reset();
    upstreams.gemini.reset();
  });

  /** The schema as each upstream received it: Claude's forced tool, Gemini's responseJsonSchema. */
  const sentSchema = (model: string): unknown =>
    model.startsWith('claude')
      ? (upstreams.anthropic.requests[0]!.body.tools as Array<{ input_schema: unknown }>)[0]!.input_schema
      : (upstreams.gemini.requests[0]!.body.generationConfig as { responseJsonSchema: unknown }).responseJsonSchema;

  for (const model of ['claude-sonnet-4', 'gemini-2.5-flash']) {
    it(`${model}: generateObject and streamObject get an object of the schema`, async () => {
      const generated = await generateObject({ model: provider.chat(model), schema: answer, prompt: 'Plan a trip', maxRetries: 0 });
      expect(generated.object).toEqual({ city: 'sample city', days: 1 });
      expect(sentSchema(model)).toMatchObject({ properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city', 'days'] });
      const streamed = streamObject({ model: provider.chat(model), schema: answer, prompt: 'Plan a trip', maxRetries: 0 });
      const partials: unknown[] = [];
      for await (const partial of streamed.partialObjectStream) partials.push(partial);
      expect(partials.at(-1)).toEqual({ city: 'sample city', days: 1 });
      expect(await streamed.object).toEqual({ city: 'sample city', days: 1 });
    });
  }
});
