import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { LedgerWriter } from '../ledger/ledger-writer.js';
import { openStore } from './open-store.js';
import { ledgerRecord } from './relay-store.fixtures.js';
import type { SqlRelayStore } from './sql-relay-store.js';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';

const folder = mkdtempSync(join(tmpdir(), 'relay-checkpoints-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const walSize = (path: string) => (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Feeds the ledger ~`perSecond` records a second for `ms`, as requests would, and samples the WAL's size. */
async function writeSteadily(writer: LedgerWriter, path: string, perSecond: number, ms: number): Promise<{ written: number; largestWal: number }> {
  let written = 0;
  let largestWal = 0;
  const started = performance.now();
  while (performance.now() - started < ms) {
    const due = Math.floor(((performance.now() - started) / 1000) * perSecond);
    for (; written < due; written++) writer.add(ledgerRecord({ requestId: `req_${written}`, createdAt: Date.now() }));
    largestWal = Math.max(largestWal, walSize(path));
    await pause(5);
  }
  await writer.flush();
  return { written, largestWal };
}

describe('SQLite checkpoints on their own thread', () => {
  it('keeps the WAL to a few hundred milliseconds of writes while the ledger writes without a pause, and loses no row', async () => {
    const path = join(folder, 'steady.db');
    const store = (await openStore({ sqlitePath: path })) as SqlRelayStore;
    expect(store.checkpointer?.running).toBe(false);
    const checkpoints: Array<{ log: number; checkpointed: number }> = [];
    store.checkpointer!.onCheckpoint = (done) => checkpoints.push(done);
    const writer = new LedgerWriter(store.ledger, { flushIntervalMs: 50 });
    const { written, largestWal } = await writeSteadily(writer, path, 15_000, 2_000);
    expect(store.checkpointer?.running).toBe(true);
    await writer.close();
    expect(written).toBeGreaterThan(20_000);
    // ~30 000 rows write ~7 000 pages of WAL frames (~28 MB), with the commits' checkpoints off:
    // the WAL starts over after each of the thread's checkpoints (~700 pages, every ~200 ms here),
    // so the file stays at a few MB.
    expect(checkpoints.length).toBeGreaterThan(4);
    expect(checkpoints.every((done) => done.checkpointed === done.log)).toBe(true);
    expect(largestWal).toBeLessThan(8 * 1024 * 1024);
    expect(await store.ledger.count()).toBe(written);
    await store.close();
    // Closed, the file holds every row, and SQLite removed the WAL.
    expect(walSize(path)).toBe(0);
    const reopened = new Database(path, { readonly: true });
    expect(reopened.prepare('select count(*) as rows from ledger_entries').get()).toEqual({ rows: written });
    reopened.close();
  });

  it('gives the checkpoints back to the commits when the thread fails, and says so', async () => {
    const database = new Database(join(folder, 'main.db'));
    database.pragma('journal_mode = WAL');
    const reasons: string[] = [];
    // The thread cannot open its connection (no such file): it fails at once.
    const checkpointer = new SqliteCheckpointer(database, join(folder, 'missing.db'), (reason) => reasons.push(reason));
    // The thread starts with the first write.
    expect(checkpointer.afterWrite()).toBeUndefined();
    await expect.poll(() => reasons.length).toBe(1);
    expect(reasons[0]).toMatch(/missing\.db|does not exist|unable to open/i);
    expect(database.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    expect(await checkpointer.checkpoint()).toBeUndefined();
    expect(checkpointer.afterWrite()).toBeUndefined();
    await checkpointer.close();
    database.close();
  });
});
