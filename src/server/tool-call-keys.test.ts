import { describe, expect, it } from 'vitest';
import { ToolCallKeys } from './tool-call-keys.js';

/** The key of each fragment, in order. */
function keys(fragments: Array<{ index?: unknown; id?: unknown }>): number[] {
  const calls = new ToolCallKeys();
  return fragments.map((fragment) => calls.key(fragment));
}

describe('ToolCallKeys', () => {
  it("keys OpenAI's parallel calls by index, their id on the first fragment only, interleaved or not", () => {
    expect(keys([{ index: 0, id: 'call_a' }, { index: 1, id: 'call_b' }, { index: 0 }, { index: 1 }, { index: 0 }])).toEqual([0, 1, 0, 1, 0]);
  });

  it('starts a new call at an index already taken when another id comes, and continues it while the same id, none, or an empty or null one comes', () => {
    expect(keys([{ index: 0, id: 'call_a' }, { index: 0 }, { index: 0, id: 'call_b' }, { index: 0, id: 'call_b' }, { index: 0, id: '' }, { index: 0, id: null }, { index: 0, id: 'call_c' }])).toEqual([0, 0, 1, 1, 1, 1, 2]);
  });

  it('gives a call started without an id the id that comes later, and keeps it', () => {
    expect(keys([{ index: 0 }, { index: 0, id: 'call_a' }, { index: 0 }, { index: 0, id: 'call_b' }])).toEqual([0, 0, 0, 1]);
  });

  it('keys calls without an index by id: a new id starts one, a known id or none continues', () => {
    expect(keys([{ id: 'call_a' }, {}, { id: 'call_b' }, { id: 'call_a' }, {}, { id: 'call_b' }])).toEqual([0, 0, 1, 0, 0, 1]);
  });
});
