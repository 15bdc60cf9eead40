import { describe, expect, it } from 'vitest';
import type { ChatRequest } from '../../spec/openai-chat.js';
import { UpstreamError } from '../../spec/relay-error.js';
import type { ProviderCall } from '../provider.js';
import { ThinkingBlockCache } from './anthropic-thinking.js';
import { convertToAnthropicRequest } from './convert-to-anthropic-request.js';

function newCall(strict = false): ProviderCall {
  return { signal: new AbortController().signal, timeoutMs: 1000, requestId: 'test', strict, dropped: [] };
}

function convert(request: Partial<ChatRequest>, call = newCall(), model = 'claude-sonnet-4-0') {
  return convertToAnthropicRequest({ model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'hi' }], ...request } as ChatRequest, model, false, call, 'anthropic');
}

describe('convertToAnthropicRequest', () => {
  it('moves system and developer messages to system and keeps the upstream model', () => {
    const { body } = convert({
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
        { role: 'user', content: 'Hello' },
      ],
    });
    expect(body.model).toBe('claude-sonnet-4-0');
    expect(body.system).toBe('You are terse.\n\nAnswer in French.');
    expect(body.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'Hello' }] }]);
  });

  it('passes prompt-cache breakpoints (cache_control) on system parts, user parts, messages, tool results and tools to the blocks they mark', () => {
    const ephemeral = { type: 'ephemeral' };
    const hour = { type: 'ephemeral', ttl: '1h' };
    const { body } = convert({
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'A long, stable system prompt.', cache_control: hour }] },
        { role: 'developer', content: 'Answer in French.' },
        { role: 'user', content: [{ type: 'text', text: 'A long document.', cache_control: ephemeral }, { type: 'text', text: 'What does it say?' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'It says hello.', cache_control: ephemeral }], tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: 'found', cache_control: ephemeral }] },
        { role: 'user', content: 'And then?', cache_control: ephemeral },
      ],
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } }, cache_control: ephemeral }],
      response_format: { type: 'json_object' },
    });
    expect(body.system).toEqual([
      { type: 'text', text: 'A long, stable system prompt.', cache_control: hour },
      { type: 'text', text: 'Answer in French.' },
      { type: 'text', text: 'Answer with one valid JSON object and nothing else: no prose before or after it, no Markdown code fences.' },
    ]);
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'A long document.', cache_control: ephemeral }, { type: 'text', text: 'What does it say?' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'It says hello.', cache_control: ephemeral }, { type: 'tool_use', id: 'call_1', name: 'lookup', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: 'found', cache_control: ephemeral }, { type: 'text', text: 'And then?', cache_control: ephemeral }] },
    ]);
    expect(body.tools).toEqual([{ name: 'lookup', input_schema: { type: 'object', properties: {} }, cache_control: ephemeral }]);
    // Without a breakpoint the system prompt stays one string; a malformed cache_control is not one.
    const plain = convert({ messages: [{ role: 'system', content: 'Terse.' }, { role: 'user', content: [{ type: 'text', text: 'hi', cache_control: 'yes' }] }] }).body;
    expect(plain.system).toBe('Terse.');
    expect(plain.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
  });

  it('merges consecutive messages of one role into one turn', () => {
    const { body } = convert({
      messages: [
        { role: 'user', content: 'one' },
        { role: 'user', content: 'two' },
        { role: 'assistant', content: 'three' },
        { role: 'assistant', content: 'four' },
      ],
    });
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'one' }, { type: 'text', text: 'two' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'three' }, { type: 'text', text: 'four' }] },
    ]);
  });

  it('maps max_tokens and max_completion_tokens, with a per-model default when both are absent', () => {
    expect(convert({ max_tokens: 100 }).body.max_tokens).toBe(100);
    expect(convert({ max_tokens: 100, max_completion_tokens: 50 }).body.max_tokens).toBe(50);
    expect(convert({}).body.max_tokens).toBe(64_000);
    expect(convert({}, newCall(), 'claude-opus-4-0').body.max_tokens).toBe(32_000);
    expect(convert({}, newCall(), 'claude-3-5-haiku-latest').body.max_tokens).toBe(8_192);
    expect(convert({}, newCall(), 'claude-3-opus-20240229').body.max_tokens).toBe(4_096);
    expect(convert({}, newCall(), 'some-private-claude').body.max_tokens).toBe(4_096);
    expect(convert({}, newCall(), 'claude-opus-4-5-20251101').body.max_tokens).toBe(64_000);
    // Claude 4.6 and later, which the table does not list: 64000, which they take (Opus 4.6 and 4.7: 128000); one that takes less says so, and is asked again with its limit.
    expect(convert({}, newCall(), 'claude-opus-4-6').body.max_tokens).toBe(64_000);
    expect(convert({}, newCall(), 'claude-sonnet-5').body.max_tokens).toBe(64_000);
    expect(convert({}, newCall(), 'claude-haiku-5-20270101').body.max_tokens).toBe(64_000);
  });

  it('maps stop, temperature (clamped to 0..1), top_p, top_k and user', () => {
    const { body } = convert({ stop: ['END', ''], temperature: 1.6, top_k: 40, user: 'user-42' });
    expect(body.stop_sequences).toEqual(['END']);
    expect(body.temperature).toBe(1);
    expect(convert({ top_p: 0.9 }).body.top_p).toBe(0.9);
    expect(body.top_k).toBe(40);
    expect(body.metadata).toEqual({ user_id: 'user-42' });
    expect(convert({ stop: 'STOP', temperature: 0.2 }).body).toMatchObject({ stop_sequences: ['STOP'], temperature: 0.2 });
  });

  it('converts tools, tool_choice and parallel_tool_calls', () => {
    const tools = [
      { type: 'function', function: { name: 'get_weather', description: 'Weather by city', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
      { type: 'function', function: { name: 'now' } },
    ];
    const auto = convert({ tools, tool_choice: 'auto', parallel_tool_calls: false }).body;
    expect(auto.tools).toEqual([
      { name: 'get_weather', description: 'Weather by city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
      { name: 'now', input_schema: { type: 'object', properties: {} } },
    ]);
    expect(auto.tool_choice).toEqual({ type: 'auto', disable_parallel_tool_use: true });
    expect(convert({ tools, tool_choice: 'required' }).body.tool_choice).toEqual({ type: 'any' });
    expect(convert({ tools, tool_choice: 'none' }).body.tool_choice).toEqual({ type: 'none' });
    expect(convert({ tools, tool_choice: { type: 'function', function: { name: 'now' } } }).body.tool_choice).toEqual({ type: 'tool', name: 'now' });
    expect(convert({ tools, parallel_tool_calls: false }).body.tool_choice).toEqual({ type: 'auto', disable_parallel_tool_use: true });
    expect(convert({ tools }).body.tool_choice).toBeUndefined();
  });

  it('turns assistant tool calls into tool_use blocks and merges consecutive tool results into one user turn', () => {
    const { body } = convert({
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '18°C' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: '21°C' }] },
        { role: 'user', content: 'Thanks, summarise.' },
      ],
    });
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Rome?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'call_2', name: 'get_weather', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: '18°C' },
          { type: 'tool_result', tool_use_id: 'call_2', content: '21°C' },
          { type: 'text', text: 'Thanks, summarise.' },
        ],
      },
    ]);
  });

  it('puts tool results first in their turn even when a user message came before them', () => {
    const { body } = convert({
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'user', content: 'also this' },
        { role: 'tool', tool_call_id: 'call_1', content: 'done' },
      ],
    });
    expect(body.messages[2]?.content).toEqual([
      { type: 'tool_result', tool_use_id: 'call_1', content: 'done' },
      { type: 'text', text: 'also this' },
    ]);
  });

  it('converts image parts: data URLs to base64 sources, http URLs to url sources', () => {
    const { body } = convert({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare these' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg', detail: 'high' } },
          ],
        },
      ],
    });
    expect(body.messages[0]?.content).toEqual([
      { type: 'text', text: 'Compare these' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
    ]);
  });

  it('sends an image/jpg data URL as the image/jpeg that Anthropic accepts', () => {
    const { body } = convert({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/jpg;base64,/9j/4AAQ' } }] }] });
    expect(body.messages[0]?.content).toEqual([{ type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } }]);
  });

  it('refuses an image URL it cannot convert with a 400 naming the field', () => {
    const error = (() => {
      try {
        convert({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://example.com/x.png' } }] }] });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })() as UpstreamError;
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.status).toBe(400);
    expect(error.upstreamParam).toBe('messages[0].content[0].image_url.url');
  });

  it('sends inline PDFs as document blocks', () => {
    const { body } = convert({ messages: [{ role: 'user', content: [{ type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } }] }] });
    expect(body.messages[0]?.content).toEqual([{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } }]);
  });

  it('serves json_object with a system instruction', () => {
    const converted = convert({ messages: [{ role: 'system', content: 'Be helpful.' }, { role: 'user', content: 'List 3 colours' }], response_format: { type: 'json_object' } });
    expect(converted.body.system).toMatch(/^Be helpful\.\n\nAnswer with one valid JSON object/);
    expect(converted.jsonToolName).toBeUndefined();
    expect(converted.body.tools).toBeUndefined();
  });

  it('serves json_schema with a forced tool, or with an instruction next to the client’s own tools', () => {
    const schema = { type: 'object', properties: { colours: { type: 'array', items: { type: 'string' } } }, required: ['colours'] };
    const forced = convert({ response_format: { type: 'json_schema', json_schema: { name: 'colour_list', schema, strict: true } } });
    expect(forced.jsonToolName).toBe('colour_list');
    expect(forced.body.tools).toEqual([{ name: 'colour_list', description: expect.any(String), input_schema: schema }]);
    expect(forced.body.tool_choice).toEqual({ type: 'tool', name: 'colour_list', disable_parallel_tool_use: true });
    const withTools = convert({
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
      response_format: { type: 'json_schema', json_schema: { name: 'colour_list', schema } },
    });
    expect(withTools.jsonToolName).toBeUndefined();
    expect(withTools.body.tools).toHaveLength(1);
    expect(withTools.body.system).toContain(JSON.stringify(schema));
  });

  it('lists parameters Anthropic cannot honour in call.dropped, and ignores them at their defaults', () => {
    const call = newCall();
    const { body } = convert({ n: 2, logprobs: true, presence_penalty: 0.5, frequency_penalty: 0.1, seed: 7, logit_bias: { '50256': -100 } }, call);
    expect(call.dropped).toEqual(['n', 'logprobs', 'presence_penalty', 'frequency_penalty', 'seed', 'logit_bias']);
    expect(body).not.toHaveProperty('seed');
    const quiet = newCall();
    convert({ n: 1, logprobs: false, presence_penalty: 0, frequency_penalty: 0, logit_bias: {}, seed: null, stream_options: { include_usage: true }, store: false }, quiet);
    expect(quiet.dropped).toEqual([]);
  });

  it('refuses an unsupported parameter in strict mode before any upstream call', () => {
    let error: unknown;
    try {
      convert({ seed: 7 }, newCall(true));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UpstreamError);
    const upstreamError = error as UpstreamError;
    expect(upstreamError.reason).toBe('invalid_request');
    expect(upstreamError.status).toBe(400);
    expect(upstreamError.upstreamCode).toBe('unsupported_parameter');
    expect(upstreamError.upstreamParam).toBe('seed');
    expect(upstreamError.upstreamMessage).toMatch(/'seed' is not supported/);
  });

  it('refuses a conversation with nothing but a system prompt', () => {
    expect(() => convert({ messages: [{ role: 'system', content: 'x' }] })).toThrow(UpstreamError);
  });

  it('sets stream only for streaming calls', () => {
    const request = { model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'hi' }], stream: true } as ChatRequest;
    expect(convertToAnthropicRequest(request, 'm', true, newCall(), 'anthropic').body.stream).toBe(true);
    expect(convertToAnthropicRequest(request, 'm', false, newCall(), 'anthropic').body.stream).toBeUndefined();
  });

  describe('reasoning_effort', () => {
    const thinkingOf = (request: Partial<ChatRequest>, model = 'claude-sonnet-4-0', call = newCall()) => convert(request, call, model).body.thinking;

    it('turns on extended thinking with a budget per effort, under max_tokens, on the models that think this way', () => {
      expect(thinkingOf({ reasoning_effort: 'minimal' })).toEqual({ type: 'enabled', budget_tokens: 1024 });
      expect(thinkingOf({ reasoning_effort: 'low' })).toEqual({ type: 'enabled', budget_tokens: 1024 });
      expect(thinkingOf({ reasoning_effort: 'medium' })).toEqual({ type: 'enabled', budget_tokens: 8192 });
      expect(thinkingOf({ reasoning_effort: 'high' })).toEqual({ type: 'enabled', budget_tokens: 24576 });
      expect(thinkingOf({ reasoning_effort: 'high', max_completion_tokens: 4000 })).toEqual({ type: 'enabled', budget_tokens: 3999 });
      for (const model of ['claude-3-7-sonnet-20250219', 'claude-sonnet-4-5', 'claude-sonnet-4.5', 'claude-opus-4-1-20250805', 'claude-haiku-4-5', 'claude-haiku-4-5-20251001', 'claude-opus-4-5-20251101', 'claude-sonnet-4-latest', 'claude-opus-4-0']) {
        expect(thinkingOf({ reasoning_effort: 'low' }, model)).toEqual({ type: 'enabled', budget_tokens: 1024 });
        expect(convert({ reasoning_effort: 'low' }, newCall(), model).body).not.toHaveProperty('output_config');
      }
      // Above high, a budget model gets the budget of high.
      expect(thinkingOf({ reasoning_effort: 'xhigh' })).toEqual({ type: 'enabled', budget_tokens: 24576 });
    });

    it('thinks adaptively, with the effort as output_config.effort, on Claude 4.6 and every later model', () => {
      const adaptive = (reasoning_effort: string, model: string, extra: Partial<ChatRequest> = {}) => {
        const call = newCall();
        const { body } = convert({ reasoning_effort, ...extra } as Partial<ChatRequest>, call, model);
        expect(call.dropped).toEqual([]);
        // From 4.7 on the thinking's text is left out unless asked for: the relay asks for it.
        expect(body.thinking).toEqual(/claude-(sonnet|opus)-4-6/.test(model.replaceAll('.', '-')) ? { type: 'adaptive' } : { type: 'adaptive', display: 'summarized' });
        return (body.output_config as { effort?: string } | undefined)?.effort;
      };
      for (const model of [
        'claude-opus-4-6',
        'claude-opus-4-6-20260205',
        'claude-sonnet-4.6',
        'claude-sonnet-4-6-latest',
        'claude-opus-4-7',
        'claude-sonnet-5',
        'claude-sonnet-5-1',
        'claude-haiku-5',
        'claude-opus-5-20260724',
        'claude-fable-5-1',
        'claude-mythos-preview',
      ]) {
        expect(adaptive('minimal', model)).toBe('low');
        expect(adaptive('low', model)).toBe('low');
        expect(adaptive('medium', model)).toBe('medium');
        expect(adaptive('high', model)).toBe('high');
      }
      // No budget: a max_tokens far below any budget still thinks.
      expect(adaptive('high', 'claude-opus-4-7', { max_tokens: 500 })).toBe('high');
      expect(convert({ reasoning_effort: 'high', max_tokens: 500 }, newCall(), 'claude-opus-4-7').body.max_tokens).toBe(500);
      // xhigh where the model takes it, else max where it takes that, else high; max likewise.
      expect(adaptive('xhigh', 'claude-opus-4-7')).toBe('xhigh');
      expect(adaptive('xhigh', 'claude-sonnet-5')).toBe('xhigh');
      expect(adaptive('xhigh', 'claude-opus-4-6')).toBe('max');
      expect(adaptive('xhigh', 'claude-sonnet-4-6')).toBe('max');
      expect(adaptive('xhigh', 'claude-haiku-5')).toBe('high');
      expect(adaptive('max', 'claude-opus-4-6')).toBe('max');
      expect(adaptive('max', 'claude-mythos-preview')).toBe('max');
      expect(adaptive('max', 'claude-haiku-5-5')).toBe('high');
      const none = newCall();
      const off = convert({ reasoning_effort: 'none' }, none, 'claude-opus-4-7').body;
      expect(off).not.toHaveProperty('thinking');
      expect(off).not.toHaveProperty('output_config');
      expect(none.dropped).toEqual([]);
    });

    it('drops the sampling parameters Claude refuses while it thinks adaptively, and thinks with no forced tool only', () => {
      const call = newCall();
      const { body } = convert({ reasoning_effort: 'medium', temperature: 0.3, top_k: 5 }, call, 'claude-opus-4-7');
      expect(body).toMatchObject({ thinking: { type: 'adaptive' }, output_config: { effort: 'medium' } });
      expect(body).not.toHaveProperty('temperature');
      expect(body).not.toHaveProperty('top_k');
      expect(call.dropped).toEqual(['temperature', 'top_k']);
      const tools = [{ type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object' } } }];
      const forced = newCall();
      const refused = convert({ reasoning_effort: 'low', tools, tool_choice: 'required' }, forced, 'claude-sonnet-5').body;
      expect(refused).not.toHaveProperty('thinking');
      expect(refused).not.toHaveProperty('output_config');
      expect(forced.dropped).toEqual(['reasoning_effort']);
    });

    it('leaves thinking off for none, and reports what it cannot honour', () => {
      const call = newCall();
      expect(thinkingOf({ reasoning_effort: 'none' }, 'claude-sonnet-4-0', call)).toBeUndefined();
      expect(thinkingOf({ reasoning_effort: 'none' }, 'claude-3-5-haiku-20241022', call)).toBeUndefined();
      expect(call.dropped).toEqual([]);
      for (const [request, model] of [
        [{ reasoning_effort: 'low' }, 'claude-3-5-haiku-20241022'],
        [{ reasoning_effort: 'low' }, 'claude-3-haiku-20240307'],
        [{ reasoning_effort: 'low' }, 'claude-2-1'],
        [{ reasoning_effort: 'extreme' }, 'claude-sonnet-4-0'],
        [{ reasoning_effort: 'extreme' }, 'claude-opus-4-7'],
        [{ reasoning_effort: 'low', max_tokens: 1024 }, 'claude-sonnet-4-0'],
      ] as const) {
        const refused = newCall();
        expect(thinkingOf(request, model, refused)).toBeUndefined();
        expect(refused.dropped).toEqual(['reasoning_effort']);
      }
    });

    it('leaves thinking off when a tool call is forced, which Claude cannot think before', () => {
      const tools = [{ type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object' } } }];
      const call = newCall();
      const { body } = convert({ reasoning_effort: 'low', tools, tool_choice: 'required' }, call);
      expect(body.thinking).toBeUndefined();
      expect(body.tool_choice).toEqual({ type: 'any' });
      expect(call.dropped).toEqual(['reasoning_effort']);
      const auto = newCall();
      expect(convert({ reasoning_effort: 'low', tools, tool_choice: 'auto' }, auto).body.thinking).toEqual({ type: 'enabled', budget_tokens: 1024 });
      expect(auto.dropped).toEqual([]);
    });

    it('drops the sampling parameters Claude refuses while it thinks, and keeps those it takes', () => {
      const call = newCall();
      const { body } = convert({ reasoning_effort: 'low', temperature: 0.3, top_k: 5 }, call);
      expect(body).not.toHaveProperty('temperature');
      expect(body).not.toHaveProperty('top_k');
      expect(call.dropped).toEqual(['temperature', 'top_k']);
      const kept = newCall();
      expect(convert({ reasoning_effort: 'low', temperature: 1.4 }, kept).body.temperature).toBe(1);
      expect(convert({ reasoning_effort: 'low', top_p: 0.97 }, kept).body.top_p).toBe(0.97);
      expect(kept.dropped).toEqual([]);
      const narrow = newCall();
      expect(convert({ reasoning_effort: 'low', top_p: 0.5 }, narrow).body).not.toHaveProperty('top_p');
      expect(narrow.dropped).toEqual(['top_p']);
      expect(() => convert({ reasoning_effort: 'low', temperature: 0.3 }, newCall(true))).toThrow(UpstreamError);
    });

    const loop = (id: string) =>
      [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: id, content: 'sunny' },
      ] as ChatRequest['messages'];

    it('puts the remembered thinking blocks back before the tool calls they came with', () => {
      const cache = new ThinkingBlockCache();
      const blocks = [{ type: 'thinking', thinking: 'Paris, then.', signature: 'sig-1' }, { type: 'redacted_thinking', data: 'opaque' }];
      cache.remember(['call_1'], blocks);
      const call = newCall();
      const { body } = convertToAnthropicRequest({ model: 'claude-sonnet-4', messages: loop('call_1'), reasoning_effort: 'low' }, 'claude-sonnet-4-0', false, call, 'anthropic', cache);
      expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 1024 });
      expect(body.messages[1]).toEqual({ role: 'assistant', content: [...blocks, { type: 'tool_use', id: 'call_1', name: 'weather', input: { city: 'Paris' } }] });
      expect(call.dropped).toEqual([]);
      const plain = convertToAnthropicRequest({ model: 'claude-sonnet-4', messages: loop('call_1') }, 'claude-sonnet-4-0', false, newCall(), 'anthropic', cache);
      expect(plain.body.messages[1]?.content).toEqual([{ type: 'tool_use', id: 'call_1', name: 'weather', input: { city: 'Paris' } }]);
    });

    it('sends a tool loop whose thinking it does not hold without thinking, and says so', () => {
      const call = newCall();
      const { body } = convertToAnthropicRequest({ model: 'claude-sonnet-4', messages: loop('call_unknown'), reasoning_effort: 'low' }, 'claude-sonnet-4-0', false, call, 'anthropic', new ThinkingBlockCache());
      expect(body).not.toHaveProperty('thinking');
      expect(body.messages[1]?.content).toEqual([{ type: 'tool_use', id: 'call_unknown', name: 'weather', input: { city: 'Paris' } }]);
      expect(call.dropped).toEqual(['reasoning_effort']);
      // A new question after the loop starts a new turn: thinking is on again.
      const next = newCall();
      const later = convertToAnthropicRequest(
        { model: 'claude-sonnet-4', messages: [...loop('call_unknown'), { role: 'assistant', content: 'Sunny.' }, { role: 'user', content: 'And Rome?' }], reasoning_effort: 'low' },
        'claude-sonnet-4-0',
        false,
        next,
        'anthropic',
        new ThinkingBlockCache(),
      );
      expect(later.body.thinking).toEqual({ type: 'enabled', budget_tokens: 1024 });
      expect(next.dropped).toEqual([]);
    });
  });
});
