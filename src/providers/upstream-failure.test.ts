import { describe, expect, it } from 'vitest';
import { readRetryAfter } from './upstream-failure.js';

describe('readRetryAfter', () => {
  const now = Date.parse('2026-11-27T07:00:00Z');

  it('reads seconds, milliseconds and an HTTP date', () => {
    expect(readRetryAfter({ 'retry-after': '2' }, now)).toBe(2000);
    expect(readRetryAfter({ 'retry-after-ms': '250', 'retry-after': '9' }, now)).toBe(250);
    expect(readRetryAfter({ 'retry-after': 'Fri, 27 Nov 2026 07:00:03 GMT' }, now)).toBe(3000);
  });

  it('ignores a negative number of seconds instead of reading it as a date', () => {
    expect(readRetryAfter({ 'retry-after': '-5' }, now)).toBeUndefined();
    expect(readRetryAfter({ 'retry-after': 'soon' }, now)).toBeUndefined();
  });
});
