import { describe, expect, it } from 'vitest';
import { compileGlobs } from './glob.js';

describe('compileGlobs', () => {
  it('matches names exactly and by `*` and `?`, a dot literally', () => {
    const matches = compileGlobs(['gpt-*', 'claude-?-opus', 'o3']);
    expect(['gpt-4.1', 'claude-3-opus', 'o3'].map(matches)).toEqual([true, true, true]);
    expect(['gpt4', 'claude-35-opus', 'o3-mini'].map(matches)).toEqual([false, false, false]);
    expect(compileGlobs(['a.b'])('axb')).toBe(false);
  });

  it('lets `*` and `?` stand for line breaks too, so that `*` covers every name', () => {
    expect(compileGlobs(['*'])('gpt-4.1\r\n')).toBe(true);
    expect(compileGlobs(['gpt-*'])('gpt-\n4.1')).toBe(true);
    expect(compileGlobs(['gpt-?.1'])('gpt-\n.1')).toBe(true);
  });
});
