import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AnthropicRequest } from '../../spec/anthropic-messages.js';
import { translatedReasoning } from '../../spec/openai-chat.js';
import { convertFromAnthropicRequest } from './convert-from-anthropic-request.js';

const fixture = () => JSON.parse(readFileSync(new URL('./__fixtures__/anthropic-request.json', import.meta.url), 'utf8')) as AnthropicRequest;

describe('convertFromAnthropicRequest', () => {
  it('translates system, images, tool_use, tool_result, stop_sequences, tool_choice and metadata', () => {
    const { chatRequest, unsupported } = convertFromAnthropicRequest(fixture(), 'gpt-4.1');
    expect(unsupported).toEqual([]);
    expect(chatRequest).toMatchObject({
      model: 'gpt-4.1',
      max_tokens: 1024,
      stop: ['###'],
      temperature: 0.3,
      top_p: 0.8,
      user: 'user-7',
      tool_choice: 'required',
      parallel_tool_calls: false,
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather by city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }],
    });
    expect(chatRequest.messages).toEqual([
      { role: 'system', content: 'You are a weather bot.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is in this picture, and the weather in Paris?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
        ],
      },
      {
        role: 'assistant',
        content: 'A cat. Checking the weather.',
        tool_calls: [{ id: 'toolu_01', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
        // The thinking block, kept apart: no upstream receives it but DeepSeek, as reasoning_content.
        [translatedReasoning]: 'Need the weather.',
      },
      { role: 'tool', tool_call_id: 'toolu_01', content: '18°C, sunny' },
      { role: 'user', content: 'Thanks!' },
    ]);
    expect(chatRequest.stream).toBeUndefined();
  });

  it('asks for usage on a stream and uses max_completion_tokens for OpenAI reasoning models', () => {
    const { chatRequest } = convertFromAnthropicRequest({ model: 'o3-mini', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] }, 'o3-mini');
    expect(chatRequest).toMatchObject({ stream: true, stream_options: { include_usage: true }, max_completion_tokens: 50 });
    expect(chatRequest.max_tokens).toBeUndefined();
  });

  it('lowers max_tokens to the upstream model\'s output limit when above it, in the field that model takes', () => {
    const body = { model: 'x', max_tokens: 32_000, messages: [{ role: 'user' as const, content: 'hi' }] };
    expect(convertFromAnthropicRequest(body, 'gpt-4o', 16_384).chatRequest.max_tokens).toBe(16_384);
    expect(convertFromAnthropicRequest(body, 'o3', 16_384).chatRequest.max_completion_tokens).toBe(16_384);
    expect(convertFromAnthropicRequest({ ...body, max_tokens: 100 }, 'gpt-4o', 16_384).chatRequest.max_tokens).toBe(100);
    expect(convertFromAnthropicRequest(body, 'my-model', undefined).chatRequest.max_tokens).toBe(32_000);
  });

  it('maps every tool_choice and marks error tool results', () => {
    const base = { model: 'm', max_tokens: 5, tools: [{ name: 'f', input_schema: { type: 'object' } }] };
    const choice = (tool_choice: AnthropicRequest['tool_choice']) => convertFromAnthropicRequest({ ...base, tool_choice, messages: [{ role: 'user', content: 'x' }] }, 'm').chatRequest.tool_choice;
    expect(choice({ type: 'auto' })).toBe('auto');
    expect(choice({ type: 'none' })).toBe('none');
    expect(choice({ type: 'tool', name: 'f' })).toEqual({ type: 'function', function: { name: 'f' } });
    const { chatRequest } = convertFromAnthropicRequest(
      { ...base, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'boom', is_error: true }] }] },
      'm',
    );
    expect(chatRequest.messages).toEqual([{ role: 'tool', tool_call_id: 't1', content: 'Error: boom' }]);
  });

  it('sends an assistant turn without text as an empty text, or as null beside its tool calls', () => {
    const { chatRequest } = convertFromAnthropicRequest(
      {
        model: 'm',
        max_tokens: 5,
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', content: [{ type: 'thinking', thinking: 'I should', signature: '' }] },
          { role: 'user', content: 'y' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }] },
        ],
      },
      'm',
    );
    // Its thinking kept apart, for DeepSeek.
    expect(chatRequest.messages[1]).toEqual({ role: 'assistant', content: '', [translatedReasoning]: 'I should' });
    expect(chatRequest.messages[3]).toMatchObject({ role: 'assistant', content: null, tool_calls: [{ id: 't1' }] });
  });

  it('lists what cannot be translated', () => {
    const { unsupported } = convertFromAnthropicRequest(
      {
        model: 'm',
        max_tokens: 5,
        top_k: 3,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        output_config: { effort: 'medium', format: { type: 'json_schema', schema: { type: 'object' } } },
        tools: [{ type: 'web_search_20250305', name: 'web_search' }],
        messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'url', url: 'https://example.com/a.pdf' } }] }],
      },
      'm',
    );
    expect(unsupported.map((entry) => entry.name)).toEqual(['messages[0].content[0]', 'tools[0]', 'top_k']);
    const disabled = convertFromAnthropicRequest({ model: 'm', max_tokens: 5, thinking: { type: 'disabled' }, messages: [{ role: 'user', content: 'x' }] }, 'm');
    expect(disabled.unsupported).toEqual([]);
    expect(disabled.chatRequest).not.toHaveProperty('reasoning_effort');
  });

  describe('thinking and output_config.effort as reasoning_effort', () => {
    const translate = (fields: Partial<AnthropicRequest>) => convertFromAnthropicRequest({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }], ...fields }, 'm');
    const effortOf = (fields: Partial<AnthropicRequest>) => {
      const translated = translate(fields);
      expect(translated.unsupported).toEqual([]);
      return translated.chatRequest.reasoning_effort;
    };

    it('gives adaptive thinking its effort (low, medium, high as they are; xhigh and max as high), and high without one', () => {
      for (const [effort, expected] of [['low', 'low'], ['medium', 'medium'], ['high', 'high'], ['xhigh', 'high'], ['max', 'high']]) {
        expect(effortOf({ thinking: { type: 'adaptive' }, output_config: { effort } })).toBe(expected);
      }
      expect(effortOf({ thinking: { type: 'adaptive' } })).toBe('high');
      expect(translate({ thinking: { type: 'adaptive' }, output_config: { effort: 'low' } }).reasoningFrom).toEqual(['thinking', 'output_config.effort']);
      // An effort alone, which Anthropic takes without thinking, means the same.
      expect(effortOf({ output_config: { effort: 'medium' } })).toBe('medium');
      expect(translate({ output_config: { effort: 'medium' } }).reasoningFrom).toEqual(['output_config.effort']);
    });

    it('gives a thinking budget an effort by its size: up to 4096 low, up to 16384 medium, more high', () => {
      expect(effortOf({ thinking: { type: 'enabled', budget_tokens: 1024 } })).toBe('low');
      expect(effortOf({ thinking: { type: 'enabled', budget_tokens: 4096 } })).toBe('low');
      expect(effortOf({ thinking: { type: 'enabled', budget_tokens: 4097 } })).toBe('medium');
      expect(effortOf({ thinking: { type: 'enabled', budget_tokens: 16384 } })).toBe('medium');
      expect(effortOf({ thinking: { type: 'enabled', budget_tokens: 16385 } })).toBe('high');
      expect(effortOf({ thinking: { type: 'enabled', budget_tokens: 32000 }, output_config: { effort: 'low' } })).toBe('low');
      expect(translate({ thinking: { type: 'enabled', budget_tokens: 2048 } }).reasoningFrom).toEqual(['thinking']);
    });

    it('reports what it cannot translate: an effort beside thinking turned off, unknown efforts and thinking types, output_config\'s other fields and formats', () => {
      const off = translate({ thinking: { type: 'disabled' }, output_config: { effort: 'low' } });
      expect(off.chatRequest).not.toHaveProperty('reasoning_effort');
      expect(off.unsupported.map((entry) => entry.name)).toEqual(['output_config.effort']);
      const unknown = translate({ thinking: { type: 'adaptive' }, output_config: { effort: 'extreme' } });
      expect(unknown.chatRequest.reasoning_effort).toBe('high');
      expect(unknown.unsupported.map((entry) => entry.name)).toEqual(['output_config.effort']);
      const strange = translate({ thinking: { type: 'deliberate' } });
      expect(strange.chatRequest).not.toHaveProperty('reasoning_effort');
      expect(strange.unsupported.map((entry) => entry.name)).toEqual(['thinking']);
      const other = translate({ output_config: { format: { type: 'grammar', definition: 'x' }, verbosity: 'low' } as AnthropicRequest['output_config'] });
      expect(other.chatRequest).not.toHaveProperty('response_format');
      expect(other.unsupported.map((entry) => entry.name).sort()).toEqual(['output_config.format', 'output_config.verbosity']);
    });
  });

  it("turns a structured output's JSON schema (output_config.format, or the beta's output_format) into a strict json_schema response_format", () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false };
    const expected = { type: 'json_schema', json_schema: { name: 'output', schema, strict: true } };
    const general = convertFromAnthropicRequest({ model: 'm', max_tokens: 5, output_config: { format: { type: 'json_schema', schema } }, messages: [{ role: 'user', content: 'x' }] } as AnthropicRequest, 'm');
    expect(general.chatRequest.response_format).toEqual(expected);
    expect(general.unsupported).toEqual([]);
    expect(general.chatRequest).not.toHaveProperty('reasoning_effort');
    const beta = convertFromAnthropicRequest({ model: 'm', max_tokens: 5, output_format: { type: 'json_schema', schema }, messages: [{ role: 'user', content: 'x' }] } as AnthropicRequest, 'm');
    expect(beta.chatRequest.response_format).toEqual(expected);
    expect(beta.unsupported).toEqual([]);
  });
});
