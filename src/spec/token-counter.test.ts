import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import { describe, expect, it } from 'vitest';
import { tokenCounter } from './token-counter.js';

const encoder = new Tiktoken(cl100k);

describe('tokenCounter', () => {
  it('counts text as cl100k_base does', async () => {
    const count = await tokenCounter();
    expect(count('')).toBe(0);
    for (const text of ['Hello, world!', 'The relay counts tokens when no upstream reports them.', '你好，世界 🙂', `${'word '.repeat(500)}<|endoftext|>`]) {
      expect(count(text)).toBe(encoder.encode(text, [], []).length);
    }
  });

  it('counts long runs of one kind of character without handing them to the encoder whole', async () => {
    const count = await tokenCounter();
    // The encoder would take minutes over each of these (its merges are quadratic in a piece's length).
    expect(count('A'.repeat(100_000))).toBe(Math.ceil((100_000 * 2) / 3));
    expect(count(`data:image/png;base64,iVBORw0KGgo${'A'.repeat(600_000)}==`)).toBeGreaterThan(400_000);
    expect(count('='.repeat(10_000))).toBe(Math.ceil((10_000 * 2) / 3));
    // Text around a long run is counted as usual.
    expect(count(`Look: ${'a'.repeat(65)} done`)).toBe(count('Look: ') + Math.ceil((65 * 2) / 3) + count(' done'));
    // A run of 64 is still the encoder's.
    expect(count('b'.repeat(64))).toBeLessThan(64);
  });
});
