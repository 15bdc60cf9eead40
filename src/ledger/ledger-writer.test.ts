import { describe, expect, it } from 'vitest';
import type { LedgerRecord, LedgerStore } from '../store/relay-store.js';
import { LedgerWriter } from './ledger-writer.js';

/** A ledger store that is down until `up` is set, recording every write it is asked for. */
function flakyStore() {
  const writes: string[][] = [];
  const stored: string[] = [];
  const store = {
    up: false,
    async insertBatch(records: LedgerRecord[]): Promise<number> {
      writes.push(records.map((record) => record.requestId));
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (!store.up) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      stored.push(...records.map((record) => record.requestId));
      return records.length;
    },
  };
  return { store, writes, stored };
}

const record = (number: number, promptTokens = 10): LedgerRecord => ({
  requestId: `req-${String(number).padStart(6, '0')}`,
  keyId: 'key-1',
  accountId: null,
  model: 'gpt-4.1',
  provider: 'openai',
  promptTokens,
  completionTokens: 5,
  cachedTokens: 0,
  cacheWriteTokens: 0,
  costMicros: 0,
  officialCostMicros: 0,
  currency: 'USD',
  latencyMs: 1,
  status: 200,
  errorCode: null,
  stream: false,
  createdAt: 0,
});

describe('LedgerWriter', () => {
  it('tries a store that is down once per interval, not once per request, then writes the backlog in order, in bounded pieces', async () => {
    const { store, writes, stored } = flakyStore();
    const errors: number[] = [];
    const writer = new LedgerWriter(store as unknown as LedgerStore, { flushIntervalMs: 200, batchSize: 8, onError: (_error, pending) => errors.push(pending) });
    // 3000 requests over ~300 ms while the store is down.
    for (let sent = 0; sent < 3000; ) {
      for (let i = 0; i < 30; i++) writer.add(record(sent++));
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    expect(writes.length).toBeLessThanOrEqual(4);
    expect(writes.every((write) => write.length <= 512)).toBe(true);
    expect(writer.pending).toBe(3000);

    store.up = true;
    await writer.flush();
    expect(writer.pending).toBe(0);
    expect(stored).toEqual(Array.from({ length: 3000 }, (_unused, number) => record(number).requestId));
    expect(writes.every((write) => write.length <= 512)).toBe(true);
    expect(errors.length).toBe(writes.length - Math.ceil(3000 / 512));
    await writer.close();
  });

  it('sets aside a record the store would refuse, and writes the others', async () => {
    const { store, stored } = flakyStore();
    store.up = true;
    const refused: string[] = [];
    const writer = new LedgerWriter(store as unknown as LedgerStore, { flushIntervalMs: 60_000, onInvalid: (_error, bad) => refused.push(bad.requestId) });
    writer.add(record(0));
    writer.add(record(1, 2 ** 60));
    writer.add(record(2));
    expect(writer.pending).toBe(2);
    await writer.close();
    expect(refused).toEqual([record(1).requestId]);
    expect(stored).toEqual([record(0).requestId, record(2).requestId]);
  });

  it('writes early once a batch is full, and everything on close', async () => {
    const { store, writes, stored } = flakyStore();
    store.up = true;
    const writer = new LedgerWriter(store as unknown as LedgerStore, { flushIntervalMs: 60_000, batchSize: 4 });
    for (let number = 0; number < 6; number++) writer.add(record(number));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(writes[0]).toHaveLength(4);
    await writer.close();
    expect(stored).toHaveLength(6);
  });
});
