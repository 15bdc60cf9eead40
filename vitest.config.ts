import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // What a test polls for (a ledger row, a settled balance) may wait on the token-counting thread's
    // first start, seconds on a loaded machine: a poll that holds returns at once all the same.
    expect: { poll: { timeout: 10_000 } },
    reporters: ['default'],
  },
});
