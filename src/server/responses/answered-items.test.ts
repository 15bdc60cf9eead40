import { describe, expect, it } from 'vitest';
import type { ResponsesOutputItem } from '../../spec/openai-responses.js';
import { AnsweredItems } from './answered-items.js';
import { convertFromResponsesRequest } from './convert-from-responses-request.js';

function message(id: string, text: string): ResponsesOutputItem {
  return { type: 'message', id, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [], logprobs: [] }] };
}

function call(id: string, callId: string, args = '{}'): ResponsesOutputItem {
  return { type: 'function_call', id, call_id: callId, name: 'f', arguments: args, status: 'completed' };
}

/** A clock the test moves by hand. */
function clock(start = 1_000) {
  const state = { now: start };
  return { state, now: () => state.now };
}

describe('AnsweredItems', () => {
  it('gives a kept item back to the key that got it, and to no other', () => {
    const items = new AnsweredItems();
    items.keep('key-a', [message('msg_1', 'Hello'), call('fc_1', 'call_1')]);
    expect(items.size).toBe(2);
    expect(items.find('key-a', 'msg_1')).toBeDefined();
    expect(items.find('key-a', 'fc_1')).toBeDefined();
    expect(items.find('key-b', 'msg_1')).toBeUndefined();
    expect(items.find('key-b', 'fc_1')).toBeUndefined();
    expect(items.find('key-a', 'msg_unknown')).toBeUndefined();
    // Another key's miss does not drop the item.
    expect(items.find('key-a', 'msg_1')).toBeDefined();
    expect(items.size).toBe(2);
  });

  it('gives a function_call back in the shape a client sends', () => {
    const items = new AnsweredItems();
    items.keep('key', [{ type: 'function_call', id: 'fc_1', call_id: 'call_paris', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' }]);
    expect(items.find('key', 'fc_1')).toEqual({ type: 'function_call', call_id: 'call_paris', name: 'get_weather', arguments: '{"city":"Paris"}' });
  });

  it('gives a message back as an assistant message with its content', () => {
    const items = new AnsweredItems();
    items.keep('key', [
      {
        type: 'message',
        id: 'msg_1',
        status: 'completed',
        role: 'assistant',
        content: [
          { type: 'output_text', text: 'Checking.', annotations: [], logprobs: [] },
          { type: 'refusal', refusal: 'Not that.' },
        ],
      },
    ]);
    expect(items.find('key', 'msg_1')).toEqual({
      type: 'message',
      role: 'assistant',
      content: [
        { type: 'output_text', text: 'Checking.', annotations: [], logprobs: [] },
        { type: 'refusal', refusal: 'Not that.' },
      ],
    });
  });

  it('gives items that translate back into the conversation they came from', () => {
    const items = new AnsweredItems();
    items.keep('key', [message('msg_1', 'Checking.'), call('fc_1', 'call_1', '{"city":"Paris"}')]);
    const { chatRequest } = convertFromResponsesRequest(
      {
        model: 'm',
        input: [
          { role: 'user', content: 'Paris?' },
          { type: 'item_reference', id: 'msg_1' },
          { type: 'item_reference', id: 'fc_1' },
          { type: 'function_call_output', call_id: 'call_1', output: 'sunny' },
        ],
      },
      'gpt-4.1',
      (id) => items.find('key', id),
    );
    expect(chatRequest.messages).toEqual([
      { role: 'user', content: 'Paris?' },
      { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
    ]);
  });

  it('forgets items once their time is up', () => {
    const { state, now } = clock(1_000);
    const items = new AnsweredItems(100, 1_000_000, now);
    items.keep('key', [message('msg_1', 'Hello')]);
    state.now = 1_099;
    expect(items.find('key', 'msg_1')).toBeDefined();
    state.now = 1_100;
    expect(items.find('key', 'msg_1')).toBeUndefined();
    expect(items.size).toBe(0);
  });

  it('drops expired items when new ones are kept', () => {
    const { state, now } = clock(0);
    const items = new AnsweredItems(100, 1_000_000, now);
    items.keep('key', [message('msg_old', 'a')]);
    state.now = 50;
    items.keep('key', [message('msg_mid', 'b')]);
    state.now = 120;
    items.keep('key', [message('msg_new', 'c')]);
    expect(items.size).toBe(2);
    expect(items.find('key', 'msg_old')).toBeUndefined();
    expect(items.find('key', 'msg_mid')).toBeDefined();
    expect(items.find('key', 'msg_new')).toBeDefined();
  });

  it('evicts the oldest items when the byte bound is passed', () => {
    // Each of these counts 2 × 5 characters + 200 = 210 bytes: two fit in 500, three do not.
    const items = new AnsweredItems(3_600_000, 500, () => 0);
    items.keep('key', [message('msg_1', 'aaaaa')]);
    items.keep('key', [message('msg_2', 'bbbbb')]);
    expect(items.size).toBe(2);
    items.keep('key', [message('msg_3', 'ccccc')]);
    expect(items.size).toBe(2);
    expect(items.find('key', 'msg_1')).toBeUndefined();
    expect(items.find('key', 'msg_2')).toBeDefined();
    expect(items.find('key', 'msg_3')).toBeDefined();
    items.keep('key', [call('fc_4', 'call_4', '{"x":1}')]);
    expect(items.find('key', 'msg_2')).toBeUndefined();
    expect(items.find('key', 'msg_3')).toBeDefined();
    expect(items.find('key', 'fc_4')).toBeDefined();
  });

  it('counts an item kept again once, as the newest', () => {
    const items = new AnsweredItems(3_600_000, 500, () => 0);
    items.keep('key', [message('msg_1', 'aaaaa')]);
    items.keep('key', [message('msg_2', 'bbbbb')]);
    // Kept again: it replaces itself (no double count) and is now the newest, so msg_2 goes first.
    items.keep('key', [message('msg_1', 'aaaaa')]);
    expect(items.size).toBe(2);
    items.keep('key', [message('msg_3', 'ccccc')]);
    expect(items.find('key', 'msg_2')).toBeUndefined();
    expect(items.find('key', 'msg_1')).toBeDefined();
    expect(items.find('key', 'msg_3')).toBeDefined();
  });
});
