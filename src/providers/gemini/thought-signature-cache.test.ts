import { describe, expect, it } from 'vitest';
import { ThoughtSignatureCache } from './thought-signature-cache.js';

describe('ThoughtSignatureCache', () => {
  it('recalls what it remembered and forgets the oldest entries beyond its capacity', () => {
    const cache = new ThoughtSignatureCache(2);
    cache.remember('a', 'sig-a');
    cache.remember('b', 'sig-b');
    cache.remember('a', 'sig-a2');
    cache.remember('c', 'sig-c');
    expect(cache.recall('a')).toBe('sig-a2');
    expect(cache.recall('b')).toBeUndefined();
    expect(cache.recall('c')).toBe('sig-c');
  });
});
