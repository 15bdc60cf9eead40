import type { LedgerRecord, LedgerStore } from '../store/relay-store.js';

export interface LedgerWriterOptions {
  /** Time between flushes (default 1000 ms): at most this much is lost if the process is killed. */
  flushIntervalMs?: number;
  /** A flush starts early when this many records wait (default 64: small batches keep each SQLite write short, so no request waits long behind one). */
  batchSize?: number;
  onError?: (error: unknown, pending: number) => void;
}

/**
 * Writes ledger records in batches, off the request path: `add` only queues. A failed batch stays
 * queued and is retried at the next flush; the store ignores request ids it already has, so a
 * retried batch never charges twice. `close` flushes what is left (on SIGTERM nothing is lost).
 */
export class LedgerWriter {
  private queue: LedgerRecord[] = [];
  private flushing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly batchSize: number;

  constructor(
    private readonly store: LedgerStore,
    private readonly options: LedgerWriterOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 64;
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  /** Records waiting to be written (a metric). */
  get pending(): number {
    return this.queue.length;
  }

  add(record: LedgerRecord): void {
    this.queue.push(record);
    if (this.queue.length >= this.batchSize) void this.flush();
  }

  /** Writes everything queued so far; resolves when it is stored (or failed and re-queued). */
  flush(): Promise<void> {
    if (this.flushing !== undefined) return this.flushing.then(() => (this.queue.length > 0 ? this.flush() : undefined));
    if (this.queue.length === 0) return Promise.resolve();
    const batch = this.queue;
    this.queue = [];
    this.flushing = this.store
      .insertBatch(batch)
      .then(() => undefined)
      .catch((error: unknown) => {
        this.queue = batch.concat(this.queue);
        this.options.onError?.(error, this.queue.length);
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (let attempt = 0; attempt < 3 && (this.queue.length > 0 || this.flushing !== undefined); attempt++) await this.flush();
  }
}
