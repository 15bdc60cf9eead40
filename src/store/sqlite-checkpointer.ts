import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';

/** SQLite's own threshold, restored on the main connection when the thread cannot run. */
const autocheckpointPages = 1000;

/** Time between two checkpoints while the ledger writes: each copies what ~this long of writes added. */
export const checkpointIntervalMs = 200;

/** How long the ledger's next write waits for a checkpoint before going ahead without it. */
const checkpointWaitMs = 1000;

/**
 * The thread's code: its own connection to the file, one PASSIVE checkpoint per message. It is
 * CommonJS evaluated as a string, so it loads the driver by the path the main thread resolved
 * (the relay's working directory need not hold `node_modules`).
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const describe = (error) => String(error && error.message ? error.message : error);
let database;
try {
  const Database = require(workerData.driver);
  database = new Database(workerData.path, { fileMustExist: true });
  database.pragma('busy_timeout = 5000');
  parentPort.postMessage('ready');
} catch (error) {
  parentPort.postMessage({ ok: false, message: describe(error) });
  parentPort.close();
}
parentPort.on('message', (message) => {
  if (message === 'close') {
    database.close();
    parentPort.close();
    return;
  }
  try {
    const [result] = database.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true, busy: result.busy, log: result.log, checkpointed: result.checkpointed });
  } catch (error) {
    parentPort.postMessage({ ok: false, message: describe(error) });
  }
});
`;

/** A thread's uncaught error may arrive as a plain object (an error class the main thread does not have). */
function describeError(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'message' in error) return String((error as { message: unknown }).message);
  if (typeof error === 'object' && error !== null && 'code' in error) return String((error as { code: unknown }).code);
  return String(error);
}

interface CheckpointReply {
  ok: boolean;
  busy?: number;
  log?: number;
  checkpointed?: number;
  message?: string;
}

/**
 * Runs SQLite's WAL checkpoints on a thread of their own, so that their copies and `fsync`s never
 * hold the event loop (SQLite's automatic checkpoint runs inside the commit that crosses 1000
 * pages: ~6 ms every ~0.5 s at 18 k requests/s here, more on a slow volume).
 *
 * The thread starts with the ledger's first write (not while the relay starts), and once its
 * connection is open the main connection's automatic checkpoints are turned off. The ledger's
 * writer then asks for a checkpoint after a write (`afterWrite`), at most every
 * `checkpointIntervalMs`, and holds its next write until the checkpoint is done: with no write
 * between, the checkpoint copies every frame, and the next write starts the WAL over from its
 * beginning, so the WAL holds ~200 ms of writes. Requests never wait for it (the writer only
 * queues). When the thread fails, the main connection's automatic checkpoints come back.
 */
export class SqliteCheckpointer {
  private worker: Worker | undefined;
  private exited: Promise<unknown> = Promise.resolve();
  private ready = false;
  private waiting: ((reply: CheckpointReply) => void) | undefined;
  private lastStarted = 0;
  private failed = false;
  private closed = false;
  /** Told of each checkpoint done: the WAL's frames, and how many of them are in the database file. */
  onCheckpoint: ((done: { log: number; checkpointed: number }) => void) | undefined;

  constructor(
    private readonly database: Database,
    private readonly path: string,
    private readonly onFailure: (reason: string) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether the thread has taken the checkpoints over. */
  get running(): boolean {
    return this.ready && !this.failed && !this.closed;
  }

  /**
   * Called after each ledger write: starts the thread the first time, then a checkpoint when the
   * last one is old enough; returns what the next write should wait for (undefined: nothing).
   */
  afterWrite(): Promise<void> | undefined {
    if (this.failed || this.closed) return undefined;
    if (this.worker === undefined) this.start();
    if (!this.ready || this.waiting !== undefined) return undefined;
    const now = this.now();
    if (now - this.lastStarted < checkpointIntervalMs) return undefined;
    this.lastStarted = now;
    return this.checkpoint().then(() => undefined);
  }

  /** One checkpoint on the thread; resolves with SQLite's counts, or undefined when it could not run or took too long. */
  checkpoint(): Promise<{ log: number; checkpointed: number } | undefined> {
    const worker = this.worker;
    if (!this.running || worker === undefined || this.waiting !== undefined) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      // A checkpoint that takes longer is not waited for; the next starts once its answer came.
      const timer = setTimeout(() => resolve(undefined), checkpointWaitMs);
      timer.unref();
      this.waiting = (reply) => {
        clearTimeout(timer);
        if (reply.log === undefined) {
          resolve(undefined);
          return;
        }
        const done = { log: reply.log, checkpointed: reply.checkpointed ?? 0 };
        this.onCheckpoint?.(done);
        resolve(done);
      };
      worker.postMessage('checkpoint');
    });
  }

  /** Stops the thread (its connection closes first); the main connection checkpoints when it closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    if (worker === undefined) return;
    // Held (not `unref`) while it closes, so the process waits for it instead of ending midway.
    worker.ref();
    worker.postMessage('close');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise((resolve) => (timer = setTimeout(resolve, checkpointWaitMs)))]);
    clearTimeout(timer);
    await worker.terminate();
  }

  private start(): void {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(workerSource, { eval: true, workerData: { driver, path: this.path } });
    this.worker = worker;
    worker.unref();
    this.exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.on('message', (reply: CheckpointReply | 'ready') => {
      if (reply === 'ready') {
        if (this.failed || this.closed) return;
        this.ready = true;
        this.database.pragma('wal_autocheckpoint = 0');
        return;
      }
      if (!reply.ok) {
        this.fail(reply.message ?? 'the checkpoint failed');
        return;
      }
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.(reply);
    });
    worker.on('error', (error: unknown) => this.fail(describeError(error)));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(`the checkpoint thread exited with code ${code}`);
    });
  }

  private fail(reason: string): void {
    if (this.failed || this.closed) return;
    this.failed = true;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.({ ok: false });
    // Back to SQLite's own checkpoints, in the commits, as without the thread.
    if (this.ready && this.database.open) this.database.pragma(`wal_autocheckpoint = ${autocheckpointPages}`);
    this.onFailure(reason);
  }
}
