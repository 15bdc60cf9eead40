import { describe, expect, it } from 'vitest';
import type { ChatRequest } from '../../spec/openai-chat.js';
import { UpstreamError } from '../../spec/relay-error.js';
import { convertToGeminiRequest, type GeminiRequestOptions } from './convert-to-gemini-request.js';

const messages = [{ role: 'user', content: 'Hi' }];

function convert(request: Partial<ChatRequest>, overrides: Partial<GeminiRequestOptions> = {}) {
  const dropped: string[] = [];
  const result = convertToGeminiRequest({ model: 'gemini-2.5-flash', messages, ...request } as ChatRequest, {
    provider: 'gemini',
    model: 'gemini-2.5-flash',
    strict: false,
    dropped,
    ...overrides,
  });
  return { result, dropped };
}

describe('convertToGeminiRequest', () => {
  it('maps the sampling parameters to generationConfig', () => {
    const { result, dropped } = convert({
      max_tokens: 100,
      temperature: 0.3,
      top_p: 0.9,
      stop: 'END',
      n: 2,
      seed: 7,
      presence_penalty: 0,
      frequency_penalty: 0,
      stream: true,
      stream_options: { include_usage: true },
      user: 'someone',
    });
    expect(result.generationConfig).toEqual({
      maxOutputTokens: 100,
      temperature: 0.3,
      topP: 0.9,
      stopSequences: ['END'],
      candidateCount: 2,
      seed: 7,
    });
    expect(dropped).toEqual([]);
    expect(result.contents).toEqual([{ role: 'user', parts: [{ text: 'Hi' }] }]);
  });

  it('sends no penalty, which no Gemini model in service takes: 0 is left out, another value reported', () => {
    const penalties = { presence_penalty: 0.5, frequency_penalty: -0.5 };
    for (const model of ['gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-3.6-flash', 'gemini-2.0-flash']) {
      const { result, dropped } = convert(penalties, { model });
      expect(result.generationConfig).toBeUndefined();
      expect(dropped).toEqual(['presence_penalty', 'frequency_penalty']);
    }
    expect(() => convert(penalties, { strict: true })).toThrow(expect.objectContaining({ upstreamCode: 'unsupported_parameter', upstreamParam: 'presence_penalty' }));
    expect(convert({ presence_penalty: 0, frequency_penalty: 0 }, { strict: true })).toMatchObject({ dropped: [] });
  });

  it('prefers max_completion_tokens, takes stop lists, and leaves generationConfig out when nothing is set', () => {
    expect(convert({ max_tokens: 5, max_completion_tokens: 50, stop: ['a', 'b'] }).result.generationConfig).toEqual({
      maxOutputTokens: 50,
      stopSequences: ['a', 'b'],
    });
    expect(convert({ n: 1, temperature: null }).result.generationConfig).toBeUndefined();
  });

  it('sends the first 5 stop sequences, which Gemini takes, and reports the others by position', () => {
    const stop = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const { result, dropped } = convert({ stop });
    expect(result.generationConfig?.stopSequences).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(dropped).toEqual(['stop[5]', 'stop[6]']);
    expect(convert({ stop: stop.slice(0, 5) }).dropped).toEqual([]);
  });

  it('maps JSON mode and JSON schemas', () => {
    expect(convert({ response_format: { type: 'json_object' } }).result.generationConfig).toEqual({ responseMimeType: 'application/json' });
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };
    expect(convert({ response_format: { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema } } }).result.generationConfig).toEqual({
      responseMimeType: 'application/json',
      responseJsonSchema: schema,
    });
    expect(convert({ response_format: { type: 'text' } }).result.generationConfig).toBeUndefined();
  });

  it('maps tools and every tool_choice', () => {
    const tools = [
      { type: 'function', function: { name: 'get_weather', description: 'Weather now', parameters: { type: 'object', properties: { location: { type: 'string' } } }, strict: true } },
      { type: 'function', function: { name: 'get_time' } },
    ];
    const base = convert({ tools });
    expect(base.result.tools).toEqual([
      {
        functionDeclarations: [
          { name: 'get_weather', description: 'Weather now', parametersJsonSchema: { type: 'object', properties: { location: { type: 'string' } } } },
          { name: 'get_time' },
        ],
      },
    ]);
    expect(base.result.toolConfig).toBeUndefined();
    const mode = (toolChoice: unknown) => convert({ tools, tool_choice: toolChoice }).result.toolConfig?.functionCallingConfig;
    expect(mode('auto')).toEqual({ mode: 'AUTO' });
    expect(mode('none')).toEqual({ mode: 'NONE' });
    expect(mode('required')).toEqual({ mode: 'ANY' });
    expect(mode({ type: 'function', function: { name: 'get_time' } })).toEqual({ mode: 'ANY', allowedFunctionNames: ['get_time'] });
    const subset = convert({ tools, tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [{ type: 'function', function: { name: 'get_time' } }] } } });
    expect(subset.result.tools?.[0]?.functionDeclarations.map((declaration) => declaration.name)).toEqual(['get_time']);
    expect(subset.result.toolConfig).toEqual({ functionCallingConfig: { mode: 'AUTO' } });
  });

  it('drops the $schema dialect marker of generated schemas', () => {
    const { result } = convert({ tools: [{ type: 'function', function: { name: 'f', parameters: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' } } }] });
    expect(result.tools?.[0]?.functionDeclarations[0]?.parametersJsonSchema).toEqual({ type: 'object' });
  });

  it('maps the legacy functions and function_call fields', () => {
    const { result } = convert({ functions: [{ name: 'f', parameters: { type: 'object' } }], function_call: { name: 'f' } });
    expect(result.tools).toEqual([{ functionDeclarations: [{ name: 'f', parametersJsonSchema: { type: 'object' } }] }]);
    expect(result.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['f'] } });
  });

  it('maps reasoning_effort to thinking budgets on 2.5 and thinking levels on 3', () => {
    expect(convert({ reasoning_effort: 'low' }).result.generationConfig).toEqual({ thinkingConfig: { thinkingBudget: 1024 } });
    expect(convert({ reasoning_effort: 'none' }).result.generationConfig).toEqual({ thinkingConfig: { thinkingBudget: 0 } });
    expect(convert({ reasoning_effort: 'medium' }, { model: 'gemini-3-pro-preview' }).result.generationConfig).toEqual({ thinkingConfig: { thinkingLevel: 'high' } });
    expect(convert({ reasoning_effort: 'high' }, { model: 'gemini-2.0-flash' }).dropped).toEqual(['reasoning_effort']);
  });

  it('drops and reports what Gemini cannot honour, and ignores fields that do not change the answer', () => {
    const { result, dropped } = convert({
      logprobs: true,
      top_logprobs: 3,
      logit_bias: { '50256': -100 },
      parallel_tool_calls: false,
      vendor_extension: { a: 1 },
      metadata: { team: 'x' },
      store: true,
      service_tier: 'auto',
    });
    expect(dropped.sort()).toEqual(['logit_bias', 'logprobs', 'parallel_tool_calls', 'top_logprobs', 'vendor_extension']);
    expect(result).toEqual({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] });
    // Values that ask for nothing are not reported.
    expect(convert({ logprobs: false, logit_bias: {}, parallel_tool_calls: true, top_logprobs: null }).dropped).toEqual([]);
  });

  it('refuses them in strict mode with a 400 naming the parameter, before anything is sent', () => {
    let error: unknown;
    try {
      convert({ logit_bias: { '1': 5 }, logprobs: true }, { strict: true });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ reason: 'invalid_request', status: 400, upstreamCode: 'unsupported_parameter', upstreamParam: 'logprobs', provider: 'gemini' });
    expect((error as UpstreamError).upstreamMessage).toMatch(/Gemini cannot honour the parameters logprobs, logit_bias/);
  });

  it('reports content parts it cannot send like parameters', () => {
    const { dropped } = convert({ messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-1' } }, { type: 'text', text: 'x' }] }] });
    expect(dropped).toEqual(['messages[].content[].file.file_id']);
    expect(() => convert({ messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-1' } }] }] }, { strict: true })).toThrow(UpstreamError);
  });
});
