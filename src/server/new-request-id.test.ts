import { describe, expect, it } from 'vitest';
import { newRequestId } from './new-request-id.js';

describe('newRequestId', () => {
  it('makes version 7 UUIDs that sort by time', async () => {
    const first = newRequestId();
    await new Promise((resolve) => setTimeout(resolve, 3));
    const second = newRequestId();
    for (const id of [first, second]) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(first < second).toBe(true);
    expect(Number.parseInt(second.slice(0, 8) + second.slice(9, 13), 16)).toBeLessThanOrEqual(Date.now());
    expect(new Set(Array.from({ length: 10_000 }, newRequestId)).size).toBe(10_000);
  });
});
