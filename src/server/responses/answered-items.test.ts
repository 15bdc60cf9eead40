import { describe, expect, it } from 'vitest';
import type { ResponsesOutputItem } from '../../spec/openai-responses.js';
import { MemoryResponseItemStore } from '../../store/memory-response-item-store.js';
import type { ResponseItemStore } from '../../store/relay-store.js';
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

async function has(items: AnsweredItems, principalId: string, id: string): Promise<boolean> {
  return (await items.find(principalId, [id])).has(id);
}

/** A store that fails every call, counting them. */
function failingStore(): ResponseItemStore & { calls: number } {
  const store = {
    calls: 0,
    async put() {
      store.calls++;
      throw new Error('database unreachable');
    },
    async find() {
      store.calls++;
      throw new Error('database unreachable');
    },
    async prune() {
      store.calls++;
    },
  };
  return store;
}

describe('AnsweredItems', () => {
  it('gives a kept item back to the key that got it, and to no other', async () => {
    const items = new AnsweredItems(undefined);
    await items.keep('key-a', [message('msg_1', 'Hello'), call('fc_1', 'call_1')]);
    expect(items.size).toBe(2);
    expect([...(await items.find('key-a', ['msg_1', 'fc_1', 'msg_unknown'])).keys()]).toEqual(['msg_1', 'fc_1']);
    expect((await items.find('key-b', ['msg_1', 'fc_1'])).size).toBe(0);
    // Another key's miss does not drop the item.
    expect(await has(items, 'key-a', 'msg_1')).toBe(true);
  });

  it('gives items back in the shape a client sends them', async () => {
    const items = new AnsweredItems(undefined);
    const refusing: ResponsesOutputItem = {
      type: 'message',
      id: 'msg_1',
      status: 'completed',
      role: 'assistant',
      content: [
        { type: 'output_text', text: 'Checking.', annotations: [], logprobs: [] },
        { type: 'refusal', refusal: 'Not that.' },
      ],
    };
    await items.keep('key', [refusing, { type: 'function_call', id: 'fc_1', call_id: 'call_paris', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' }]);
    const found = await items.find('key', ['msg_1', 'fc_1']);
    expect(found.get('msg_1')).toEqual({ type: 'message', role: 'assistant', content: refusing.content });
    expect(found.get('fc_1')).toEqual({ type: 'function_call', call_id: 'call_paris', name: 'get_weather', arguments: '{"city":"Paris"}' });
  });

  it('gives items that translate back into the conversation they came from', async () => {
    const items = new AnsweredItems(undefined);
    await items.keep('key', [message('msg_1', 'Checking.'), call('fc_1', 'call_1', '{"city":"Paris"}')]);
    const found = await items.find('key', ['msg_1', 'fc_1']);
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
      (id) => found.get(id),
    );
    expect(chatRequest.messages).toEqual([
      { role: 'user', content: 'Paris?' },
      { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
    ]);
  });

  it('forgets items once their time is up', async () => {
    const { state, now } = clock(1_000);
    const items = new AnsweredItems(undefined, undefined, 100, 1_000_000, now);
    await items.keep('key', [message('msg_1', 'Hello')]);
    state.now = 1_099;
    expect(await has(items, 'key', 'msg_1')).toBe(true);
    state.now = 1_100;
    expect(await has(items, 'key', 'msg_1')).toBe(false);
  });

  it('drops expired items when new ones are kept', async () => {
    const { state, now } = clock(0);
    const items = new AnsweredItems(undefined, undefined, 100, 1_000_000, now);
    await items.keep('key', [message('msg_old', 'a')]);
    state.now = 50;
    await items.keep('key', [message('msg_mid', 'b')]);
    state.now = 120;
    await items.keep('key', [message('msg_new', 'c')]);
    expect(items.size).toBe(2);
  });

  it('evicts the oldest items from memory when the byte bound is passed', async () => {
    const items = new AnsweredItems(undefined, undefined, 3_600_000, 1_000, () => 0);
    // A message counts twice the length of its content's JSON plus 200: ~370 bytes here, so two fit in 1000 and three do not.
    await items.keep('key', [message('msg_1', 'aaaaa')]);
    await items.keep('key', [message('msg_2', 'bbbbb')]);
    expect(items.size).toBe(2);
    await items.keep('key', [message('msg_3', 'ccccc')]);
    expect(items.size).toBe(2);
    expect(await has(items, 'key', 'msg_1')).toBe(false);
    expect(await has(items, 'key', 'msg_2')).toBe(true);
    expect(await has(items, 'key', 'msg_3')).toBe(true);
  });

  it('shares items through the store: another replica finds them, and keeps them in its memory', async () => {
    const store = new MemoryResponseItemStore();
    const first = new AnsweredItems(store);
    const second = new AnsweredItems(store);
    await first.keep('key', [call('fc_1', 'call_1', '{"x":1}')]);
    expect(second.size).toBe(0);
    expect((await second.find('key', ['fc_1'])).get('fc_1')).toEqual({ type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{"x":1}' });
    expect(second.size).toBe(1);
    expect((await second.find('other-key', ['fc_1'])).size).toBe(0);
  });

  it('asks the store only for what memory does not have', async () => {
    const store = new MemoryResponseItemStore();
    const asked: string[][] = [];
    const watched: ResponseItemStore = { put: (records) => store.put(records), find: (principalId, ids, now) => (asked.push([...ids]), store.find(principalId, ids, now)), prune: (now) => store.prune(now) };
    const items = new AnsweredItems(watched);
    await items.keep('key', [message('msg_1', 'Hi')]);
    await items.find('key', ['msg_1']);
    await items.find('key', ['msg_1', 'fc_elsewhere']);
    expect(asked).toEqual([['fc_elsewhere']]);
  });

  it('deletes expired items from the store at most every ten minutes', async () => {
    const { state, now } = clock(0);
    const store = new MemoryResponseItemStore();
    const items = new AnsweredItems(store, undefined, 60_000, 1_000_000, now);
    await items.keep('key', [message('msg_1', 'a')]);
    state.now = 599_999;
    await items.keep('key', [message('msg_2', 'b')]);
    expect(await store.find('key', ['msg_1'], 0)).toHaveLength(1);
    state.now = 600_000;
    await items.keep('key', [message('msg_3', 'c')]);
    expect(await store.find('key', ['msg_1'], 0)).toHaveLength(0);
    expect(await store.find('key', ['msg_3'], 0)).toHaveLength(1);
  });

  it('goes on from memory when the store fails, and says so', async () => {
    const store = failingStore();
    const failures: string[] = [];
    const items = new AnsweredItems(store, (action) => failures.push(action));
    await items.keep('key', [message('msg_1', 'Hi')]);
    const found = await items.find('key', ['msg_1', 'msg_elsewhere']);
    expect([...found.keys()]).toEqual(['msg_1']);
    expect(failures).toEqual(['keep', 'find']);
    expect(store.calls).toBe(2);
  });
});
