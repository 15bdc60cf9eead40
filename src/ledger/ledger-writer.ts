import type { BudgetedRecord, LedgerRecord, LedgerStore } from '../store/relay-store.js';
import { checkLedgerRecord } from '../store/validate-store-input.js';

export interface LedgerWriterOptions {
  /** Time between flushes (default 1000 ms): at most this much is lost if the process is killed. */
  flushIntervalMs?: number;
  /** A flush starts early when this many records wait (default 64: small batches keep each SQLite write short, so no request waits long behind one). */
  batchSize?: number;
  onError?: (error: unknown, pending: number) => void;
  /** A record the store would refuse (a count that is no safe integer): set aside, never written. */
  onInvalid?: (error: unknown, record: LedgerRecord) => void;
  /**
   * Records just written whose key had a budget then (`LedgerStore.insertBatch`): a request that
   * ended under no budget of that period, as its replica knew the key, is charged to the budget
   * set meanwhile (`AdmissionControl.chargeWritten`).
   */
  onBudgeted?: (records: BudgetedRecord[]) => void;
}

/**
 * The most records one write takes: a backlog (after the store was unreachable) is written in
 * pieces, the event loop free between them, so no request waits behind one long transaction.
 */
const maxRecordsPerWrite = 512;

/**
 * Writes ledger records in batches, off the request path: `add` only queues. A failed write puts
 * its records back at the head of the queue, and the next attempt waits for the flush interval: a
 * store that is down gets one attempt per interval, not one per request, however long the queue
 * grows (each attempt bounded to `maxRecordsPerWrite` records). The store ignores request ids it
 * already has, so a retried batch never charges twice. `close` flushes what is left (on SIGTERM
 * nothing is lost while the store answers before the shutdown's deadline).
 */
export class LedgerWriter {
  private queue: LedgerRecord[] = [];
  private flushing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly batchSize: number;
  private readonly intervalMs: number;
  /** After a failed write, `add` starts no flush before this instant (epoch ms); the interval's flush retries. */
  private retryAt = 0;

  constructor(
    private readonly store: LedgerStore,
    private readonly options: LedgerWriterOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 64;
    this.intervalMs = options.flushIntervalMs ?? 1000;
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /** Records taken from the queue by a drain and not written yet. */
  private draining = 0;

  /** Records waiting to be written (a metric): those queued, and those a drain is writing. */
  get pending(): number {
    return this.queue.length + this.draining;
  }

  add(record: LedgerRecord): void {
    // Checked as it comes: a record the store would refuse must not hold back every other one.
    try {
      checkLedgerRecord(record);
    } catch (error) {
      this.options.onInvalid?.(error, record);
      return;
    }
    this.queue.push(record);
    if (this.queue.length >= this.batchSize && this.flushing === undefined && (this.retryAt === 0 || Date.now() >= this.retryAt)) void this.flush();
  }

  /** Writes everything queued so far; resolves when it is stored, or when a write failed (its records queued again). */
  flush(): Promise<void> {
    if (this.flushing !== undefined) return this.flushing.then(() => (this.queue.length > 0 ? this.flush() : undefined));
    if (this.queue.length === 0) return Promise.resolve();
    this.flushing = this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Writes the queue in pieces until it is empty, or until a write fails. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      // The records queued so far, written piece by piece from `start`; new ones queue behind them.
      const pending = this.queue;
      this.queue = [];
      for (let start = 0; start < pending.length; start += maxRecordsPerWrite) {
        this.draining = pending.length - start;
        const batch = start === 0 && pending.length <= maxRecordsPerWrite ? pending : pending.slice(start, start + maxRecordsPerWrite);
        try {
          await this.store.insertBatch(batch, this.options.onBudgeted);
          this.retryAt = 0;
        } catch (error) {
          this.draining = 0;
          this.queue = pending.slice(start).concat(this.queue);
          this.retryAt = Date.now() + this.intervalMs;
          this.options.onError?.(error, this.queue.length);
          return;
        }
        // A backlog: let the requests waiting on the event loop run between two writes.
        if (start + maxRecordsPerWrite < pending.length) await new Promise((resolve) => setImmediate(resolve));
      }
      this.draining = 0;
    }
  }

  /**
   * Stops the timer and writes what is queued. A store that fails is tried again once per flush
   * interval until `until` (epoch ms; three attempts at least), so that a database coming back
   * during a shutdown still gets the records. Resolves to the number of records left unwritten.
   */
  async close(until = 0): Promise<number> {
    clearInterval(this.timer);
    for (let attempt = 0; this.queue.length > 0 || this.flushing !== undefined; attempt++) {
      if (attempt > 0) {
        if (attempt >= 3 && Date.now() + this.intervalMs > until) break;
        await new Promise((resolve) => setTimeout(resolve, this.intervalMs));
      }
      await this.flush();
    }
    return this.pending;
  }
}
