import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { convertGeminiResponse, type ResponseConversionOptions } from './convert-gemini-response.js';
import type { GeminiResponse } from './gemini-wire.js';

function fixture(name: string): GeminiResponse {
  return JSON.parse(readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8')) as GeminiResponse;
}

const options: ResponseConversionOptions = { model: 'gemini-2.5-flash', completionId: 'chatcmpl-test', created: 1700000000, toolCallIdPrefix: 'call_t_' };

describe('convertGeminiResponse', () => {
  it('joins the text parts, leaves the thoughts out, and maps usage with thinking tokens as completion tokens', () => {
    const completion = convertGeminiResponse(fixture('generate-content-text.json'), options);
    expect(completion).toEqual({
      id: 'chatcmpl-test',
      object: 'chat.completion',
      created: 1700000000,
      model: 'gemini-2.5-flash',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello! How can I help you today?', refusal: null }, finish_reason: 'stop', logprobs: null }],
      usage: {
        prompt_tokens: 8,
        completion_tokens: 33,
        total_tokens: 41,
        prompt_tokens_details: { cached_tokens: 4 },
        completion_tokens_details: { reasoning_tokens: 24 },
      },
    });
  });

  it('turns function calls into tool calls with generated ids and JSON arguments, and remembers thought signatures', () => {
    const remembered = new Map<string, string>();
    const completion = convertGeminiResponse(fixture('generate-content-function-call.json'), {
      ...options,
      rememberSignature: (id, signature) => remembered.set(id, signature),
    });
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toEqual([
      { id: 'call_t_0', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris","unit":"celsius"}' } },
      { id: 'call_t_1', type: 'function', function: { name: 'get_time', arguments: '{"timezone":"Europe/Paris"}' } },
    ]);
    expect([...remembered]).toEqual([['call_t_0', 'CtwBAVSoXO5tHf3mN0example0signature0A==']]);
    expect(completion.usage).toEqual({ prompt_tokens: 70, completion_tokens: 28, total_tokens: 98 });
  });

  it('reports a safety stop as content_filter', () => {
    const completion = convertGeminiResponse(fixture('generate-content-safety.json'), options);
    expect(completion.choices[0]).toMatchObject({ finish_reason: 'content_filter', message: { content: 'Here is how' } });
  });

  it('skips candidates that are not objects, as an untrusted upstream may send', () => {
    const response = { candidates: [null, 5, { content: { role: 'model', parts: [{ text: 'kept' }] }, finishReason: 'STOP' }] } as unknown as GeminiResponse;
    expect(convertGeminiResponse(response, options).choices.map((choice) => choice.message.content)).toEqual(['kept']);
  });

  it('reports a blocked prompt as one empty choice that finished with content_filter', () => {
    const completion = convertGeminiResponse(fixture('generate-content-prompt-blocked.json'), options);
    expect(completion.choices).toEqual([{ index: 0, message: { role: 'assistant', content: '', refusal: null }, finish_reason: 'content_filter', logprobs: null }]);
    expect(completion.usage).toEqual({ prompt_tokens: 12, completion_tokens: 0, total_tokens: 12 });
  });

  it('gives one choice per candidate, with tool-call ids unique across them, and length for MAX_TOKENS', () => {
    const completion = convertGeminiResponse(
      {
        candidates: [
          { index: 0, content: { parts: [{ text: 'A' }] }, finishReason: 'MAX_TOKENS' },
          { index: 1, content: { parts: [{ functionCall: { name: 'f' } }] }, finishReason: 'STOP' },
        ],
      },
      options,
    );
    expect(completion.choices.map((choice) => choice.finish_reason)).toEqual(['length', 'tool_calls']);
    expect(completion.choices[1]?.message.tool_calls?.[0]).toEqual({ id: 'call_t_0', type: 'function', function: { name: 'f', arguments: '{}' } });
    expect(completion.usage).toBeUndefined();
  });
});
