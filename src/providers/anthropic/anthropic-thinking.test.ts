import { describe, expect, it } from 'vitest';
import { ThinkingBlockCache } from './anthropic-thinking.js';

const block = (text: string) => ({ type: 'thinking', thinking: text, signature: 'sig' });

describe('ThinkingBlockCache', () => {
  it('recalls what it remembered and forgets the oldest entries beyond its capacity', () => {
    const cache = new ThinkingBlockCache(2);
    cache.remember(['a'], [block('one')]);
    cache.remember(['b'], [block('two')]);
    cache.remember(['a'], [block('three')]);
    cache.remember(['c'], [block('four')]);
    expect(cache.recall('a')).toEqual([block('three')]);
    expect(cache.recall('b')).toBeUndefined();
    expect(cache.recall('c')).toEqual([block('four')]);
  });

  it('forgets the oldest entries beyond the characters it may hold, and never holds one larger than that', () => {
    // Each block below holds 8 + 5 + 3 = 16 characters (its type, text and signature).
    const cache = new ThinkingBlockCache(100, 40);
    cache.remember(['a'], [block('aaaaa')]);
    cache.remember(['b'], [block('bbbbb')]);
    cache.remember(['c'], [block('ccccc')]);
    expect(cache.recall('a')).toBeUndefined();
    expect(cache.recall('b')).toEqual([block('bbbbb')]);
    expect(cache.recall('c')).toEqual([block('ccccc')]);
    cache.remember(['d'], [block('x'.repeat(30))]);
    expect(cache.recall('d')).toBeUndefined();
    expect(cache.recall('c')).toEqual([block('ccccc')]);
  });
});
