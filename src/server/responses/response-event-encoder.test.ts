import { describe, expect, it } from 'vitest';
import type { ChatCompletionChunk } from '../../spec/openai-chat.js';
import type { ResponsesRequest } from '../../spec/openai-responses.js';
import { readUsage } from '../../spec/read-usage.js';
import { RelayError } from '../../spec/relay-error.js';
import { SseParser } from '../../sse/sse-parser.js';
import { ResponseEventEncoder } from './response-event-encoder.js';
import { responseShell } from './response-object.js';

type Delta = ChatCompletionChunk['choices'][number]['delta'];
type ToolCallDelta = NonNullable<Delta['tool_calls']>[number];

/** A parsed event: its `event:` name and its data. */
interface Event {
  name: string | undefined;
  data: Record<string, any>;
}

const body: ResponsesRequest = { model: 'relay-model', input: 'hi', stream: true };

function chunk(delta: Delta, finishReason: string | null = null): ChatCompletionChunk {
  return { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1730000000, model: 'gpt-4.1', choices: [{ index: 0, delta, finish_reason: finishReason }], usage: null };
}

const roleChunk = chunk({ role: 'assistant', content: '', refusal: null });

function usageChunk(usage: Record<string, unknown>): ChatCompletionChunk {
  return { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1730000000, model: 'gpt-4.1', choices: [], usage: usage as never };
}

function toolCall(call: Partial<ToolCallDelta>): ToolCallDelta {
  return call as ToolCallDelta;
}

function parse(text: string): Event[] {
  const parser = new SseParser();
  // Fed in small pieces, as a client reads a stream.
  const bytes = Buffer.from(text);
  const events = [];
  for (let start = 0; start < bytes.length; start += 7) events.push(...parser.push(bytes.subarray(start, start + 7)));
  return events.map((event) => ({ name: event.event, data: JSON.parse(event.data) as Record<string, any> }));
}

/** Runs chunks through a new encoder; returns the events and the encoder. */
function run(chunks: ChatCompletionChunk[]): { events: Event[]; encoder: ResponseEventEncoder } {
  const encoder = new ResponseEventEncoder(responseShell(body, 'resp_test', 1730000000));
  let text = encoder.start();
  for (const part of chunks) text += encoder.push(part, readUsage(part.usage));
  text += encoder.finish();
  return { events: parse(text), encoder };
}

function names(events: Event[]): Array<string | undefined> {
  return events.map((event) => event.name);
}

function expectWellFormed(events: Event[]): void {
  events.forEach((event, index) => {
    expect(event.data.type).toBe(event.name);
    expect(event.data.sequence_number).toBe(index);
  });
}

function last(events: Event[]): Event {
  return events.at(-1)!;
}

const usage = { prompt_tokens: 120, completion_tokens: 40, total_tokens: 160, prompt_tokens_details: { cached_tokens: 100 }, completion_tokens_details: { reasoning_tokens: 12 } };

describe('ResponseEventEncoder', () => {
  it('encodes a text answer in OpenAI’s event order, with the whole response and its usage at the end', () => {
    const { events, encoder } = run([roleChunk, chunk({ content: 'Hello' }), chunk({ content: ', ' }), chunk({ content: 'world ☀️' }), chunk({}, 'stop'), usageChunk(usage)]);
    expect(names(events)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expectWellFormed(events);

    const created = events[0]!.data.response;
    expect(created).toMatchObject({ id: 'resp_test', object: 'response', created_at: 1730000000, model: 'relay-model', status: 'in_progress', output: [], usage: null });
    expect(events[1]!.data.response.status).toBe('in_progress');

    const added = events[2]!.data;
    expect(added.output_index).toBe(0);
    expect(added.item).toMatchObject({ type: 'message', status: 'in_progress', role: 'assistant', content: [] });
    const messageId = added.item.id as string;
    expect(messageId).toMatch(/^msg_/);
    expect(events[3]!.data).toMatchObject({ item_id: messageId, output_index: 0, content_index: 0, part: { type: 'output_text', text: '' } });
    expect(events.slice(4, 7).map((event) => event.data.delta)).toEqual(['Hello', ', ', 'world ☀️']);
    for (const event of events.slice(3, 9)) expect(event.data).toMatchObject({ item_id: messageId, output_index: 0 });
    expect(events[7]!.data.text).toBe('Hello, world ☀️');
    expect(events[8]!.data.part).toEqual({ type: 'output_text', text: 'Hello, world ☀️', annotations: [], logprobs: [] });
    expect(events[9]!.data.item).toEqual({
      type: 'message',
      id: messageId,
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: 'Hello, world ☀️', annotations: [], logprobs: [] }],
    });

    const response = last(events).data.response;
    expect(response).toMatchObject({ id: 'resp_test', status: 'completed', incomplete_details: null, error: null, model: 'relay-model' });
    expect(response.output).toEqual([events[9]!.data.item]);
    expect(response.usage).toEqual({
      input_tokens: 120,
      input_tokens_details: { cached_tokens: 100 },
      output_tokens: 40,
      output_tokens_details: { reasoning_tokens: 12 },
      total_tokens: 160,
    });
    expect(encoder.items()).toEqual(response.output);
  });

  it('writes nothing for role-only and usage-only chunks', () => {
    const encoder = new ResponseEventEncoder(responseShell(body, 'resp_test', 1));
    encoder.start();
    expect(encoder.push(roleChunk, undefined)).toBe('');
    expect(encoder.push(usageChunk(usage), readUsage(usage))).toBe('');
    expect(encoder.push(chunk({}, 'stop'), undefined)).toBe('');
  });

  it('ends an empty answer with a completed response, no output and zero usage when none came', () => {
    const { events } = run([roleChunk, chunk({}, 'stop')]);
    expect(names(events)).toEqual(['response.created', 'response.in_progress', 'response.completed']);
    expectWellFormed(events);
    expect(last(events).data.response).toMatchObject({ status: 'completed', output: [] });
    expect(last(events).data.response.usage).toEqual({ input_tokens: 0, input_tokens_details: { cached_tokens: 0 }, output_tokens: 0, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 0 });
  });

  it('sends the fragments of interleaved parallel tool calls to their own items', () => {
    const { events, encoder } = run([
      roleChunk,
      chunk({ tool_calls: [{ index: 0, id: 'call_paris', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_rome', type: 'function', function: { name: 'get_time', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
      chunk({ tool_calls: [{ index: 1, function: { arguments: '{"zone":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
      chunk({ tool_calls: [{ index: 1, function: { arguments: '"CET"}' } }] }),
      chunk({}, 'tool_calls'),
      usageChunk(usage),
    ]);
    expect(names(events)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expectWellFormed(events);

    const paris = events[2]!.data;
    const rome = events[3]!.data;
    expect(paris).toMatchObject({ output_index: 0, item: { type: 'function_call', call_id: 'call_paris', name: 'get_weather', arguments: '', status: 'in_progress' } });
    expect(rome).toMatchObject({ output_index: 1, item: { type: 'function_call', call_id: 'call_rome', name: 'get_time', arguments: '', status: 'in_progress' } });
    const parisId = paris.item.id as string;
    const romeId = rome.item.id as string;
    expect(parisId).toMatch(/^fc_/);
    expect(romeId).toMatch(/^fc_/);
    expect(parisId).not.toBe(romeId);

    expect(events.slice(4, 8).map((event) => [event.data.item_id, event.data.output_index, event.data.delta])).toEqual([
      [parisId, 0, '{"city":'],
      [romeId, 1, '{"zone":'],
      [parisId, 0, '"Paris"}'],
      [romeId, 1, '"CET"}'],
    ]);
    expect(events[8]!.data).toMatchObject({ item_id: parisId, output_index: 0, name: 'get_weather', arguments: '{"city":"Paris"}' });
    expect(events[10]!.data).toMatchObject({ item_id: romeId, output_index: 1, name: 'get_time', arguments: '{"zone":"CET"}' });

    const expected = [
      { type: 'function_call', id: parisId, call_id: 'call_paris', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' },
      { type: 'function_call', id: romeId, call_id: 'call_rome', name: 'get_time', arguments: '{"zone":"CET"}', status: 'completed' },
    ];
    expect(events[9]!.data).toEqual({ type: 'response.output_item.done', sequence_number: 9, output_index: 0, item: expected[0] });
    expect(events[11]!.data).toEqual({ type: 'response.output_item.done', sequence_number: 11, output_index: 1, item: expected[1] });
    expect(last(events).data.response).toMatchObject({ status: 'completed', output: expected, usage: { input_tokens: 120, output_tokens: 40, total_tokens: 160 } });
    expect(encoder.items()).toEqual(expected);
  });

  it('closes the message item before the function_call item that follows it', () => {
    const { events, encoder } = run([
      roleChunk,
      chunk({ content: 'Checking.' }),
      chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] }),
      chunk({}, 'tool_calls'),
    ]);
    expect(names(events)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expectWellFormed(events);
    expect(events[2]!.data).toMatchObject({ output_index: 0, item: { type: 'message' } });
    expect(events[7]!.data).toMatchObject({ output_index: 0, item: { type: 'message', status: 'completed', content: [{ type: 'output_text', text: 'Checking.' }] } });
    expect(events[8]!.data).toMatchObject({ output_index: 1, item: { type: 'function_call', call_id: 'call_1', name: 'get_weather' } });
    expect(events[11]!.data).toMatchObject({ output_index: 1, item: { type: 'function_call', arguments: '{"city":"Paris"}', status: 'completed' } });
    const output = last(events).data.response.output as Array<{ type: string }>;
    expect(output.map((item) => item.type)).toEqual(['message', 'function_call']);
    expect(encoder.items().map((item) => item.type)).toEqual(['message', 'function_call']);
  });

  it('ends an answer cut by the token limit with response.incomplete and incomplete items', () => {
    const { events, encoder } = run([roleChunk, chunk({ content: 'Once upon a' }), chunk({}, 'length'), usageChunk({ prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 })]);
    expect(names(events).slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.incomplete']);
    expectWellFormed(events);
    expect(events.at(-2)!.data.item).toMatchObject({ type: 'message', status: 'incomplete' });
    const response = last(events).data.response;
    expect(response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
    expect(response.output).toEqual([expect.objectContaining({ type: 'message', status: 'incomplete', content: [expect.objectContaining({ text: 'Once upon a' })] })]);
    expect(response.usage).toEqual({ input_tokens: 10, input_tokens_details: { cached_tokens: 0 }, output_tokens: 3, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 13 });
    expect(encoder.items()).toEqual([expect.objectContaining({ status: 'incomplete' })]);
  });

  it('marks tool calls cut by the token limit incomplete too', () => {
    const { events } = run([chunk({ tool_calls: [{ index: 0, id: 'call_1', function: { name: 'f', arguments: '{"a":' } }] }), chunk({}, 'length')]);
    expect(last(events).data.response).toMatchObject({ status: 'incomplete', output: [{ type: 'function_call', arguments: '{"a":', status: 'incomplete' }] });
  });

  it('reports a content filter stop as incomplete', () => {
    const { events } = run([chunk({ content: 'Partial' }), chunk({}, 'content_filter')]);
    expect(last(events).name).toBe('response.incomplete');
    expect(last(events).data.response.incomplete_details).toEqual({ reason: 'content_filter' });
  });

  it('encodes a refusal as a refusal content part', () => {
    const { events } = run([roleChunk, chunk({ refusal: 'I can’t ' }), chunk({ refusal: 'help with that.' }), chunk({}, 'stop')]);
    expect(names(events)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.refusal.delta',
      'response.refusal.delta',
      'response.refusal.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expectWellFormed(events);
    expect(events[3]!.data.part).toEqual({ type: 'refusal', refusal: '' });
    expect(events.slice(4, 6).map((event) => event.data.delta)).toEqual(['I can’t ', 'help with that.']);
    expect(events[6]!.data).toMatchObject({ output_index: 0, content_index: 0, refusal: 'I can’t help with that.' });
    expect(events[7]!.data.part).toEqual({ type: 'refusal', refusal: 'I can’t help with that.' });
    expect(last(events).data.response.output).toEqual([
      { type: 'message', id: events[2]!.data.item.id, status: 'completed', role: 'assistant', content: [{ type: 'refusal', refusal: 'I can’t help with that.' }] },
    ]);
  });

  it('opens a new content part when text follows a refusal', () => {
    const { events } = run([chunk({ refusal: 'No.' }), chunk({ content: 'But here is why.' }), chunk({}, 'stop')]);
    expect(names(events).slice(2, -1)).toEqual([
      'response.output_item.added',
      'response.content_part.added',
      'response.refusal.delta',
      'response.refusal.done',
      'response.content_part.done',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
    ]);
    expect(events[7]!.data).toMatchObject({ content_index: 1, part: { type: 'output_text' } });
    expect(last(events).data.response.output[0].content).toEqual([
      { type: 'refusal', refusal: 'No.' },
      { type: 'output_text', text: 'But here is why.', annotations: [], logprobs: [] },
    ]);
  });

  it('ends a failed stream with an error event, top-level and nested fields, and the next sequence number', () => {
    const encoder = new ResponseEventEncoder(responseShell(body, 'resp_test', 1));
    const before = encoder.start() + encoder.push(chunk({ content: 'Hel' }), undefined);
    const error = new RelayError('The upstream timed out.', { status: 504, type: 'timeout_error', code: 'upstream_timeout', param: null });
    const events = parse(before + encoder.fail(error.toJSON()));
    expectWellFormed(events);
    const failure = last(events);
    expect(failure.name).toBe('error');
    expect(failure.data).toEqual({
      type: 'error',
      sequence_number: events.length - 1,
      code: 'upstream_timeout',
      message: 'The upstream timed out.',
      param: null,
      error: { type: 'timeout_error', code: 'upstream_timeout', message: 'The upstream timed out.', param: null },
    });
    expect(failure.data.sequence_number).toBe(5);
  });

  it.each([
    ['keys tool calls without an index by their id: an id starts a call, no id continues it', undefined],
    // Ollama and some SGLang builds stream every parallel call at index 0.
    ['starts a new call when a fragment at an index already taken brings another id', 0],
  ] as const)('%s', (_name, index) => {
    const at = index === undefined ? {} : { index };
    const { events, encoder } = run([
      chunk({ tool_calls: [toolCall({ ...at, id: 'call_a', type: 'function', function: { name: 'first', arguments: '{"x"' } })] }),
      chunk({ tool_calls: [toolCall({ ...at, function: { arguments: ':1}' } })] }),
      chunk({ tool_calls: [toolCall({ ...at, id: 'call_b', type: 'function', function: { name: 'second', arguments: '{"y"' } })] }),
      chunk({ tool_calls: [toolCall({ ...at, function: { arguments: ':2}' } })] }),
      chunk({}, 'tool_calls'),
    ]);
    expectWellFormed(events);
    const added = events.filter((event) => event.name === 'response.output_item.added');
    expect(added.map((event) => [event.data.output_index, event.data.item.call_id, event.data.item.name])).toEqual([
      [0, 'call_a', 'first'],
      [1, 'call_b', 'second'],
    ]);
    const deltas = events.filter((event) => event.name === 'response.function_call_arguments.delta');
    expect(deltas.map((event) => [event.data.output_index, event.data.delta])).toEqual([
      [0, '{"x"'],
      [0, ':1}'],
      [1, '{"y"'],
      [1, ':2}'],
    ]);
    expect(encoder.items()).toEqual([
      expect.objectContaining({ type: 'function_call', call_id: 'call_a', name: 'first', arguments: '{"x":1}', status: 'completed' }),
      expect.objectContaining({ type: 'function_call', call_id: 'call_b', name: 'second', arguments: '{"y":2}', status: 'completed' }),
    ]);
  });

  it('continues a call without an index whose id comes again on every fragment', () => {
    const { encoder } = run([
      chunk({ tool_calls: [toolCall({ id: 'call_a', type: 'function', function: { name: 'f', arguments: '{"x"' } })] }),
      chunk({ tool_calls: [toolCall({ id: 'call_a', function: { arguments: ':1}' } })] }),
      chunk({}, 'tool_calls'),
    ]);
    expect(encoder.items()).toEqual([expect.objectContaining({ type: 'function_call', call_id: 'call_a', name: 'f', arguments: '{"x":1}' })]);
  });

  it('encodes a custom tool call as a custom_tool_call item whose input comes out of its one argument at the end', () => {
    const encoder = new ResponseEventEncoder(responseShell(body, 'resp_test', 1730000000), new Set(['apply_patch']));
    let text = encoder.start();
    for (const part of [
      chunk({ tool_calls: [{ index: 0, id: 'call_p', type: 'function', function: { name: 'apply_patch', arguments: '{"inp' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: 'ut":"a\\nb"}' } }] }),
      chunk({}, 'tool_calls'),
    ]) text += encoder.push(part, undefined);
    text += encoder.finish();
    const events = parse(text);
    expectWellFormed(events);
    expect(names(events)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.custom_tool_call_input.delta',
      'response.custom_tool_call_input.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const added = events[2]!.data;
    expect(added.item).toMatchObject({ type: 'custom_tool_call', call_id: 'call_p', name: 'apply_patch', input: '', status: 'in_progress' });
    expect(added.item.id).toMatch(/^ctc_/);
    expect(events[3]!.data).toMatchObject({ item_id: added.item.id, output_index: 0, delta: 'a\nb' });
    expect(events[4]!.data).toMatchObject({ item_id: added.item.id, output_index: 0, input: 'a\nb' });
    expect(encoder.items()).toEqual([{ type: 'custom_tool_call', id: added.item.id, call_id: 'call_p', name: 'apply_patch', input: 'a\nb', status: 'completed' }]);
  });

  it('encodes reasoning sent apart as a reasoning item with it as summary, closed before the text', () => {
    const { events, encoder } = run([
      chunk({ reasoning_content: 'First, ' } as never),
      chunk({ reasoning_content: 'think.' } as never),
      chunk({ content: 'Answer.' }),
      chunk({}, 'stop'),
    ]);
    expectWellFormed(events);
    expect(names(events)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.reasoning_summary_part.added',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.done',
      'response.reasoning_summary_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const reasoningId = events[2]!.data.item.id as string;
    expect(reasoningId).toMatch(/^rs_/);
    expect(events[6]!.data).toMatchObject({ item_id: reasoningId, output_index: 0, summary_index: 0, text: 'First, think.' });
    expect(events[9]!.data).toMatchObject({ output_index: 1, item: { type: 'message' } });
    expect(encoder.items()).toEqual([
      { type: 'reasoning', id: reasoningId, summary: [{ type: 'summary_text', text: 'First, think.' }] },
      expect.objectContaining({ type: 'message', content: [expect.objectContaining({ text: 'Answer.' })] }),
    ]);
  });

  it('reads reasoning sent as `reasoning` (vLLM, OpenRouter), and the same text sent under both names once', () => {
    const { encoder } = run([chunk({ reasoning: 'First, ' }), chunk({ reasoning_content: 'think.', reasoning: 'think.' }), chunk({ content: 'Answer.' }), chunk({}, 'stop')]);
    expect(encoder.items()).toEqual([
      expect.objectContaining({ type: 'reasoning', summary: [{ type: 'summary_text', text: 'First, think.' }] }),
      expect.objectContaining({ type: 'message', content: [expect.objectContaining({ text: 'Answer.' })] }),
    ]);
  });

  it("skips what an untrusted upstream's chunk holds in the wrong shape, and goes on", () => {
    const { events, encoder } = run([
      { ...chunk({}), choices: [null] } as never,
      { ...chunk({}), choices: 5 } as never,
      chunk({ tool_calls: 5 } as never),
      chunk({ tool_calls: [null, 'x'] } as never),
      { ...chunk({}), choices: [{ index: 0, delta: null, finish_reason: null }] } as never,
      chunk({ content: 'Still here.' }),
      chunk({}, 'stop'),
    ]);
    expectWellFormed(events);
    expect(encoder.items()).toEqual([expect.objectContaining({ type: 'message', content: [expect.objectContaining({ text: 'Still here.' })] })]);
  });

  it('gives a call without an id, or with an empty one, a random id of its own, never one counted within the answer', () => {
    const answer = () => run([chunk({ tool_calls: [{ index: 0, function: { name: 'f', arguments: '{}' } }, { index: 1, id: '', function: { name: 'g', arguments: '{}' } }] }), chunk({}, 'tool_calls')]).encoder.items();
    const callIds = [...answer(), ...answer()].map((item) => (item as { call_id?: string }).call_id);
    expect(answer()).toEqual([expect.objectContaining({ type: 'function_call', name: 'f', arguments: '{}' }), expect.objectContaining({ type: 'function_call', name: 'g', arguments: '{}' })]);
    for (const callId of callIds) expect(callId).toMatch(/^call_[0-9a-f]{24}$/);
    expect(new Set(callIds).size).toBe(4);
  });

  it('echoes the request in the response shell', () => {
    const shell = responseShell(
      { model: 'relay-model', input: 'hi', instructions: 'Be terse.', max_output_tokens: 50, temperature: 0.3, tools: [{ type: 'function', name: 'f' }], user: 'u1', metadata: { a: 'b' } },
      'resp_x',
      42,
    );
    const encoder = new ResponseEventEncoder(shell);
    const events = parse(encoder.start() + encoder.finish());
    expect(last(events).data.response).toMatchObject({
      id: 'resp_x',
      created_at: 42,
      instructions: 'Be terse.',
      max_output_tokens: 50,
      temperature: 0.3,
      top_p: 1,
      tools: [{ type: 'function', name: 'f' }],
      tool_choice: 'auto',
      parallel_tool_calls: true,
      user: 'u1',
      metadata: { a: 'b' },
      text: { format: { type: 'text' } },
      store: false,
      previous_response_id: null,
    });
  });
});
