import { describe, expect, it, vi } from 'vitest';
import type { ResponsesInputItem, ResponsesRequest } from '../../spec/openai-responses.js';
import { RelayError } from '../../spec/relay-error.js';
import { convertFromResponsesRequest, type ItemLookup } from './convert-from-responses-request.js';

const noItems: ItemLookup = () => undefined;

/** Converts a request for `upstream` with no stored items. */
function convert(body: Partial<ResponsesRequest>, upstream = 'gpt-4.1', lookup: ItemLookup = noItems) {
  return convertFromResponsesRequest({ model: 'relay-model', input: 'hi', ...body } as ResponsesRequest, upstream, lookup);
}

/** The RelayError a conversion throws (fails the test when it throws none, or something else). */
function refusal(body: Partial<ResponsesRequest>, lookup: ItemLookup = noItems): RelayError {
  try {
    convert(body, 'gpt-4.1', lookup);
  } catch (error) {
    expect(error).toBeInstanceOf(RelayError);
    return error as RelayError;
  }
  throw new Error('the conversion was expected to throw');
}

describe('convertFromResponsesRequest', () => {
  describe('input and instructions', () => {
    it('turns a string input into one user message, with the upstream model', () => {
      const { chatRequest, unsupported } = convert({ input: 'Hello there' }, 'claude-sonnet-4');
      expect(chatRequest).toEqual({ model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'Hello there' }] });
      expect(unsupported).toEqual([]);
    });

    it('puts instructions first, as a system message', () => {
      const { chatRequest } = convert({
        instructions: 'Be terse.',
        input: [
          { role: 'developer', content: 'Answer in French.' },
          { type: 'message', role: 'user', content: 'Hi' },
        ],
      });
      expect(chatRequest.messages).toEqual([
        { role: 'system', content: 'Be terse.' },
        { role: 'developer', content: 'Answer in French.' },
        { role: 'user', content: 'Hi' },
      ]);
    });

    it('leaves out empty instructions', () => {
      const { chatRequest } = convert({ instructions: '', input: 'x' });
      expect(chatRequest.messages).toEqual([{ role: 'user', content: 'x' }]);
    });

    it('collapses all-text content parts into a string', () => {
      const { chatRequest } = convert({
        input: [
          {
            type: 'message',
            role: 'user',
            content: [
              { type: 'input_text', text: 'Hello, ' },
              { type: 'input_text', text: 'world' },
            ],
          },
        ],
      });
      expect(chatRequest.messages).toEqual([{ role: 'user', content: 'Hello, world' }]);
    });

    it('translates input_text, input_image (URL, with detail) and input_file (file_data, file_id) parts', () => {
      const { chatRequest, unsupported } = convert({
        input: [
          {
            role: 'user',
            content: [
              { type: 'input_text', text: 'Compare these.' },
              { type: 'input_image', image_url: 'https://example.com/cat.png', detail: 'high' },
              { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=' },
              { type: 'input_file', file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'report.pdf' },
              { type: 'input_file', file_id: 'file-abc123' },
            ],
          },
        ],
      });
      expect(unsupported).toEqual([]);
      expect(chatRequest.messages).toEqual([
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare these.' },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail: 'high' } },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'report.pdf' } },
            { type: 'file', file: { file_id: 'file-abc123' } },
          ],
        },
      ]);
    });

    it('reports images by file id and files by URL, and keeps the other parts', () => {
      const { chatRequest, unsupported } = convert({
        input: [
          {
            role: 'user',
            content: [
              { type: 'input_text', text: 'Look' },
              { type: 'input_image', file_id: 'file-img' },
              { type: 'input_file', file_url: 'https://example.com/a.pdf' },
            ],
          },
        ],
      });
      expect(chatRequest.messages).toEqual([{ role: 'user', content: 'Look' }]);
      expect(unsupported.map((parameter) => parameter.name)).toEqual(['input[0].content[1]', 'input[0].content[2]']);
      expect(unsupported[0]!.why).toContain('given by file id');
      expect(unsupported[1]!.why).toContain('given by URL');
    });

    it('reads earlier assistant output_text (and refusal) items as assistant text', () => {
      const { chatRequest } = convert({
        input: [
          { role: 'user', content: 'Hi' },
          {
            type: 'message',
            id: 'msg_1',
            status: 'completed',
            role: 'assistant',
            content: [{ type: 'output_text', text: 'Hello! How can I help?', annotations: [] }],
          },
          { role: 'user', content: 'Something forbidden' },
          { type: 'message', role: 'assistant', content: [{ type: 'refusal', refusal: 'I cannot help with that.' }] },
        ],
      });
      expect(chatRequest.messages).toEqual([
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello! How can I help?' },
        { role: 'user', content: 'Something forbidden' },
        { role: 'assistant', content: 'I cannot help with that.' },
      ]);
    });
  });

  describe('function calls', () => {
    it('joins a function_call to the assistant text before it, and its output becomes a tool message', () => {
      const { chatRequest } = convert({
        input: [
          { role: 'user', content: 'Weather in Paris?' },
          { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Let me check.' }] },
          { type: 'function_call', id: 'fc_1', call_id: 'call_paris', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { type: 'function_call_output', call_id: 'call_paris', output: '18°C, sunny' },
        ],
      });
      expect(chatRequest.messages).toEqual([
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: 'Let me check.',
          tool_calls: [{ id: 'call_paris', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_paris', content: '18°C, sunny' },
      ]);
    });

    it('gathers several calls into one assistant message, and their outputs (string or input_text parts) into tool messages', () => {
      const { chatRequest, unsupported } = convert({
        input: [
          { role: 'user', content: 'Paris and Rome?' },
          { type: 'function_call', call_id: 'call_paris', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { type: 'function_call', call_id: 'call_rome', name: 'get_weather', arguments: '{"city":"Rome"}' },
          { type: 'function_call_output', call_id: 'call_paris', output: '18°C' },
          {
            type: 'function_call_output',
            call_id: 'call_rome',
            output: [
              { type: 'input_text', text: '24°C, ' },
              { type: 'input_text', text: 'clear' },
            ],
          },
          { role: 'user', content: 'Thanks' },
        ],
      });
      expect(unsupported).toEqual([]);
      expect(chatRequest.messages).toEqual([
        { role: 'user', content: 'Paris and Rome?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_paris', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_rome', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_paris', content: '18°C' },
        { role: 'tool', tool_call_id: 'call_rome', content: '24°C, clear' },
        { role: 'user', content: 'Thanks' },
      ]);
    });

    it('puts the assistant text that follows its calls into their message', () => {
      const { chatRequest } = convert({
        input: [
          { role: 'user', content: 'Paris?' },
          { type: 'function_call', call_id: 'c1', name: 'get_weather', arguments: '{}' },
          { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] },
          { type: 'function_call_output', call_id: 'c1', output: 'sunny' },
        ],
      });
      expect(chatRequest.messages).toEqual([
        { role: 'user', content: 'Paris?' },
        { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
      ]);
    });

    it('starts a new assistant message for a call made after a tool answer', () => {
      const { chatRequest } = convert({
        input: [
          { role: 'user', content: 'go' },
          { type: 'function_call', call_id: 'c1', name: 'a', arguments: '{}' },
          { type: 'function_call_output', call_id: 'c1', output: 'one' },
          { type: 'function_call', call_id: 'c2', name: 'b' },
        ],
      });
      expect(chatRequest.messages).toEqual([
        { role: 'user', content: 'go' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'a', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'one' },
        // Missing arguments default to an empty object.
        { role: 'assistant', content: null, tool_calls: [{ id: 'c2', type: 'function', function: { name: 'b', arguments: '{}' } }] },
      ]);
    });

    it('refuses a function_call without call_id or name, and an output without call_id', () => {
      const call = refusal({ input: [{ role: 'user', content: 'x' }, { type: 'function_call', name: 'f', arguments: '{}' }] });
      expect(call).toMatchObject({ status: 400, code: 'invalid_value', param: 'input[1]' });
      const output = refusal({ input: [{ type: 'function_call_output', output: 'x' }] });
      expect(output).toMatchObject({ status: 400, code: 'invalid_value', param: 'input[0]' });
    });
  });

  describe('item references', () => {
    it('resolves an item_reference through the lookup', () => {
      const stored: Record<string, ResponsesInputItem> = {
        msg_1: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.', annotations: [], logprobs: [] }] },
        fc_1: { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      };
      const lookup = vi.fn<ItemLookup>((id) => stored[id]);
      const { chatRequest, unsupported } = convert(
        {
          input: [
            { role: 'user', content: 'Paris?' },
            { type: 'item_reference', id: 'msg_1' },
            { type: 'item_reference', id: 'fc_1' },
            { type: 'function_call_output', call_id: 'call_1', output: '18°C' },
          ],
        },
        'gpt-4.1',
        lookup,
      );
      expect(lookup.mock.calls).toEqual([['msg_1'], ['fc_1']]);
      expect(unsupported).toEqual([]);
      expect(chatRequest.messages).toEqual([
        { role: 'user', content: 'Paris?' },
        { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '18°C' },
      ]);
    });

    it('refuses an item_reference the lookup does not know', () => {
      const error = refusal({ input: [{ role: 'user', content: 'hi' }, { type: 'item_reference', id: 'msg_gone' }] });
      expect(error).toMatchObject({ status: 400, type: 'invalid_request_error', code: 'invalid_value', param: 'input[1]' });
      expect(error.message).toContain('msg_gone');
    });
  });

  describe('what has no chat equivalent', () => {
    it('lists reasoning items, built-in tools and unknown top-level fields instead of throwing', () => {
      const { chatRequest, unsupported } = convert({
        input: [
          { role: 'user', content: 'Search the web' },
          { type: 'reasoning', id: 'rs_1', summary: [] },
          { type: 'web_search_call', id: 'ws_1', status: 'completed' },
          { role: 'assistant', content: 'Done.' },
        ],
        tools: [{ type: 'web_search' }, { type: 'function', name: 'lookup', parameters: { type: 'object', properties: {} } }],
        include: ['reasoning.encrypted_content'],
        metadata: { session: 'abc' },
      });
      expect(unsupported.map((parameter) => parameter.name)).toEqual(['input[1]', 'input[2]', 'tools[0]', 'include', 'metadata']);
      for (const parameter of unsupported) expect(parameter.why).not.toBe('');
      expect(chatRequest.messages).toEqual([
        { role: 'user', content: 'Search the web' },
        { role: 'assistant', content: 'Done.' },
      ]);
      expect(chatRequest.tools).toEqual([{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }]);
      expect(chatRequest).not.toHaveProperty('include');
      expect(chatRequest).not.toHaveProperty('metadata');
    });

    it('leaves out empty arrays and nulls of unknown fields, and a request with only built-in tools has no tools', () => {
      const { chatRequest, unsupported } = convert({ include: [], metadata: null, tools: [{ type: 'file_search', vector_store_ids: ['vs_1'] }] });
      expect(unsupported.map((parameter) => parameter.name)).toEqual(['tools[0]']);
      expect(chatRequest).not.toHaveProperty('tools');
      expect(chatRequest).not.toHaveProperty('tool_choice');
    });

    it('reports store: true and truncation: auto, and accepts store: false silently', () => {
      expect(convert({ store: true, truncation: 'auto' }).unsupported.map((parameter) => parameter.name)).toEqual(['store', 'truncation']);
      expect(convert({ store: false, truncation: 'disabled' }).unsupported).toEqual([]);
    });

    it.each([
      ['previous_response_id', 'resp_123'],
      ['conversation', 'conv_123'],
      ['background', true],
      ['prompt', { id: 'pmpt_123', version: '2' }],
    ] as const)('refuses %s with a 400', (field, value) => {
      const error = refusal({ [field]: value });
      expect(error.status).toBe(400);
      expect(error.type).toBe('invalid_request_error');
      expect(error.code).toBe('unsupported_parameter');
      expect(error.param).toBe(field);
      expect(error.message).toContain(field);
    });

    it('accepts background: false and null stateful fields', () => {
      const { chatRequest, unsupported } = convert({ background: false, previous_response_id: null, conversation: null });
      expect(unsupported).toEqual([]);
      expect(chatRequest.messages).toEqual([{ role: 'user', content: 'hi' }]);
    });
  });

  describe('parameters', () => {
    it.each([
      ['claude-sonnet-4', 'max_tokens', 'max_completion_tokens'],
      ['gpt-4.1', 'max_tokens', 'max_completion_tokens'],
      ['gpt-5', 'max_completion_tokens', 'max_tokens'],
      ['o3', 'max_completion_tokens', 'max_tokens'],
    ] as const)('sends max_output_tokens to %s as %s', (model, field, other) => {
      const { chatRequest } = convert({ max_output_tokens: 321 }, model);
      expect(chatRequest[field]).toBe(321);
      expect(chatRequest).not.toHaveProperty(other);
    });

    it('translates function tools, with name, description, parameters and strict', () => {
      const parameters = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };
      const { chatRequest, unsupported } = convert({
        tools: [
          { type: 'function', name: 'get_weather', description: 'Weather by city', parameters, strict: true },
          { type: 'function', name: 'now' },
        ],
        tool_choice: 'required',
        parallel_tool_calls: false,
      });
      expect(unsupported).toEqual([]);
      expect(chatRequest.tools).toEqual([
        { type: 'function', function: { name: 'get_weather', description: 'Weather by city', parameters, strict: true } },
        { type: 'function', function: { name: 'now', parameters: { type: 'object', properties: {} } } },
      ]);
      expect(chatRequest.tool_choice).toBe('required');
      expect(chatRequest.parallel_tool_calls).toBe(false);
    });

    it('maps every tool_choice', () => {
      const tools = [{ type: 'function', name: 'f', parameters: { type: 'object' } }];
      const choice = (tool_choice: ResponsesRequest['tool_choice']) => convert({ tools, tool_choice });
      expect(choice('auto').chatRequest.tool_choice).toBe('auto');
      expect(choice('none').chatRequest.tool_choice).toBe('none');
      expect(choice('required').chatRequest.tool_choice).toBe('required');
      expect(choice({ type: 'function', name: 'f' }).chatRequest.tool_choice).toEqual({ type: 'function', function: { name: 'f' } });
      const allowed = choice({ type: 'allowed_tools', mode: 'auto', tools: [] });
      expect(allowed.chatRequest).not.toHaveProperty('tool_choice');
      expect(allowed.unsupported.map((parameter) => parameter.name)).toEqual(['tool_choice']);
      expect(convert({ tools, parallel_tool_calls: true }).chatRequest.parallel_tool_calls).toBe(true);
    });

    it('turns a custom tool into a function of one text argument, with its grammar in the description, and names it', () => {
      const { chatRequest, unsupported, customTools } = convert({
        tools: [
          { type: 'custom', name: 'apply_patch', description: 'Applies a patch', format: { type: 'grammar', syntax: 'lark', definition: 'start: /.+/' } },
          { type: 'custom', name: 'note' },
          { type: 'function', name: 'f', parameters: { type: 'object' } },
        ],
        tool_choice: { type: 'custom', name: 'apply_patch' },
      });
      expect(unsupported).toEqual([]);
      expect([...customTools]).toEqual(['apply_patch', 'note']);
      const [patch, note] = chatRequest.tools as Array<{ function: { name: string; description?: string; parameters: unknown } }>;
      expect(patch!.function.description).toBe('Applies a patch\n\nThe input must follow this lark grammar:\nstart: /.+/');
      expect(patch!.function.parameters).toEqual({ type: 'object', properties: { input: { type: 'string', description: 'The input, as free text' } }, required: ['input'], additionalProperties: false });
      expect(note!.function).not.toHaveProperty('description');
      expect(chatRequest.tool_choice).toEqual({ type: 'function', function: { name: 'apply_patch' } });
    });

    it('turns custom_tool_call items into tool calls of their one argument, and their outputs into tool messages', () => {
      const { chatRequest } = convert({
        input: [
          { role: 'user', content: 'Fix it' },
          { type: 'custom_tool_call', call_id: 'call_1', name: 'apply_patch', input: '*** Begin Patch\n"quoted"' },
          { type: 'custom_tool_call_output', call_id: 'call_1', output: 'done' },
        ],
      });
      expect(chatRequest.messages).toEqual([
        { role: 'user', content: 'Fix it' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'apply_patch', arguments: JSON.stringify({ input: '*** Begin Patch\n"quoted"' }) } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'done' },
      ]);
      expect(refusal({ input: [{ type: 'custom_tool_call', name: 'apply_patch', input: 'x' }] })).toMatchObject({ status: 400, param: 'input[0]' });
    });

    it('refuses a function tool without a name', () => {
      const error = refusal({ tools: [{ type: 'function', parameters: {} }] });
      expect(error).toMatchObject({ status: 400, code: 'invalid_value', param: 'tools[0].name' });
    });

    it('turns text.format into response_format and text.verbosity into verbosity', () => {
      expect(convert({ text: { format: { type: 'json_object' } } }).chatRequest.response_format).toEqual({ type: 'json_object' });
      const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
      const { chatRequest, unsupported } = convert({
        text: { format: { type: 'json_schema', name: 'answer', schema, strict: true, description: 'One answer' }, verbosity: 'low' },
      });
      expect(unsupported).toEqual([]);
      expect(chatRequest.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'answer', schema, strict: true, description: 'One answer' } });
      expect(chatRequest.verbosity).toBe('low');
      const plain = convert({ text: { format: { type: 'text' } } });
      expect(plain.chatRequest).not.toHaveProperty('response_format');
      expect(plain.unsupported).toEqual([]);
    });

    it('turns reasoning.effort into reasoning_effort and reports a summary', () => {
      const { chatRequest, unsupported } = convert({ reasoning: { effort: 'high', summary: 'auto' } }, 'o3');
      expect(chatRequest.reasoning_effort).toBe('high');
      expect(unsupported.map((parameter) => parameter.name)).toEqual(['reasoning.summary']);
      const quiet = convert({ reasoning: { effort: 'minimal' } }, 'gpt-5');
      expect(quiet.chatRequest.reasoning_effort).toBe('minimal');
      expect(quiet.unsupported).toEqual([]);
    });

    it('asks for usage on a stream', () => {
      const { chatRequest } = convert({ stream: true });
      expect(chatRequest.stream).toBe(true);
      expect(chatRequest.stream_options).toEqual({ include_usage: true });
      const unstreamed = convert({ stream: false }).chatRequest;
      expect(unstreamed).not.toHaveProperty('stream');
      expect(unstreamed).not.toHaveProperty('stream_options');
    });

    it('passes temperature, top_p, user, safety_identifier, prompt_cache_key and service_tier', () => {
      const { chatRequest, unsupported } = convert({
        temperature: 0.2,
        top_p: 0.9,
        user: 'user-7',
        safety_identifier: 'hash-7',
        prompt_cache_key: 'cache-7',
        service_tier: 'flex',
      });
      expect(unsupported).toEqual([]);
      expect(chatRequest).toEqual({
        model: 'gpt-4.1',
        messages: [{ role: 'user', content: 'hi' }],
        temperature: 0.2,
        top_p: 0.9,
        user: 'user-7',
        safety_identifier: 'hash-7',
        prompt_cache_key: 'cache-7',
        service_tier: 'flex',
      });
    });
  });

  describe('invalid input', () => {
    it('refuses an empty input array', () => {
      expect(refusal({ input: [] })).toMatchObject({ status: 400, code: 'invalid_value', param: 'input' });
    });

    it('refuses an input made only of items with no chat equivalent', () => {
      expect(refusal({ input: [{ type: 'reasoning', id: 'rs_1', summary: [] }] })).toMatchObject({ status: 400, param: 'input' });
    });

    it('refuses a message with the role tool', () => {
      const error = refusal({ input: [{ role: 'user', content: 'hi' }, { role: 'tool', content: 'x' }] });
      expect(error).toMatchObject({ status: 400, type: 'invalid_request_error', code: 'invalid_value', param: 'input[1].role' });
    });

    it('refuses an item that is not an object, and message content that is neither string nor array', () => {
      expect(refusal({ input: ['hi' as unknown as ResponsesInputItem] })).toMatchObject({ status: 400, param: 'input[0]' });
      expect(refusal({ input: [{ role: 'user', content: { text: 'hi' } as unknown as string }] })).toMatchObject({ status: 400, param: 'input[0].content' });
    });
  });
});
