import { describe, expect, it } from 'vitest';
import type { ChatCompletion } from '../../spec/openai-chat.js';
import { convertToAnthropicMessage } from './convert-to-anthropic-message.js';

describe('convertToAnthropicMessage', () => {
  it('converts text, tool calls, the finish reason and usage with the cache apart', () => {
    const completion: ChatCompletion = {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1,
      model: 'gpt-4.1-2025-04-14',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Let me check.',
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
              { id: 'call_2', type: 'function', function: { name: 'broken', arguments: '{"city":' } },
            ],
          },
          finish_reason: 'tool_calls',
        },
      ],
    };
    const usage = { prompt_tokens: 50, completion_tokens: 9, total_tokens: 59, prompt_tokens_details: { cached_tokens: 30 } };
    expect(convertToAnthropicMessage(completion, 'gpt-4.1', usage)).toEqual({
      id: 'msg_chatcmpl-1',
      type: 'message',
      role: 'assistant',
      model: 'gpt-4.1',
      content: [
        { type: 'text', text: 'Let me check.' },
        { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'call_2', name: 'broken', input: {} },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 30, output_tokens: 9 },
    });
  });

  it('maps length to max_tokens and an answer without usage to zero counts', () => {
    const message = convertToAnthropicMessage(
      { id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'cut' }, finish_reason: 'length' }] },
      'm',
      undefined,
    );
    expect(message.stop_reason).toBe('max_tokens');
    expect(message.usage).toEqual({ input_tokens: 0, output_tokens: 0 });
  });
});
