import { describe, expect, it } from 'vitest';
import type { ChatCompletion, ChatCompletionChunk } from '../spec/openai-chat.js';
import { asksLegacyFunctions, legacyFunctionCallAnswer, legacyFunctionCallStream } from './legacy-function-call.js';
import type { StreamPart } from './provider.js';

const weather = { name: 'get_weather', parameters: { type: 'object' } };

describe('asksLegacyFunctions', () => {
  it('is true for a request with functions and no tools', () => {
    expect(asksLegacyFunctions({ model: 'm', messages: [], functions: [weather] })).toBe(true);
    expect(asksLegacyFunctions({ model: 'm', messages: [], functions: [weather], tools: [{ type: 'function', function: weather }] })).toBe(false);
    expect(asksLegacyFunctions({ model: 'm', messages: [], functions: [] })).toBe(false);
    expect(asksLegacyFunctions({ model: 'm', messages: [] })).toBe(false);
  });
});

describe('legacyFunctionCallAnswer', () => {
  it("gives each choice's first call as function_call, and finish_reason function_call", () => {
    const completion: ChatCompletion = {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1,
      model: 'm',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: null,
            refusal: null,
            tool_calls: [
              { id: 'call_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
              { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
            ],
          },
          finish_reason: 'tool_calls',
        },
        { index: 1, message: { role: 'assistant', content: 'No call.', refusal: null }, finish_reason: 'stop' },
      ],
    };
    legacyFunctionCallAnswer(completion);
    expect(completion.choices).toEqual([
      { index: 0, message: { role: 'assistant', content: null, refusal: null, function_call: { name: 'get_weather', arguments: '{"city":"Paris"}' } }, finish_reason: 'function_call' },
      { index: 1, message: { role: 'assistant', content: 'No call.', refusal: null }, finish_reason: 'stop' },
    ]);
  });
});

describe('legacyFunctionCallStream', () => {
  function part(choices: ChatCompletionChunk['choices']): StreamPart {
    return { data: JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices }) };
  }

  async function legacy(parts: StreamPart[]): Promise<Array<ChatCompletionChunk['choices'] | StreamPart>> {
    async function* source() {
      yield* parts;
    }
    const out: Array<ChatCompletionChunk['choices'] | StreamPart> = [];
    for await (const each of legacyFunctionCallStream(source())) out.push(each.usageOnly === true ? each : (JSON.parse(each.data) as ChatCompletionChunk).choices);
    return out;
  }

  it("gives the first call's fragments as delta.function_call, leaves later calls out, and ends with function_call", async () => {
    const usage = { data: '{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}', usageOnly: true };
    const chunks = await legacy([
      part([{ index: 0, delta: { role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_0', type: 'function', function: { name: 'get_weather', arguments: '' } }] }, finish_reason: null }]),
      part([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }, finish_reason: null }]),
      part([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }, { index: 1, id: 'call_1', type: 'function', function: { name: 'get_time', arguments: '{}' } }] }, finish_reason: null }]),
      // A server that numbers every call 0 tells a later call by its id.
      part([{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{}' } }] }, finish_reason: null }]),
      part([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]),
      usage,
    ]);
    expect(chunks).toEqual([
      [{ index: 0, delta: { role: 'assistant', content: null, function_call: { name: 'get_weather', arguments: '' } }, finish_reason: null }],
      [{ index: 0, delta: { function_call: { arguments: '{"city":' } }, finish_reason: null }],
      [{ index: 0, delta: { function_call: { arguments: '"Paris"}' } }, finish_reason: null }],
      [{ index: 0, delta: {}, finish_reason: null }],
      [{ index: 0, delta: {}, finish_reason: 'function_call' }],
      usage,
    ]);
  });
});
