import { Dispatcher, Pool } from 'undici';

/**
 * How long a connection opened beyond the kept-alive ones stays open once idle: long enough to
 * carry the next request of a burst, short enough that a pod back to its usual load soon holds only
 * its `CONNECTION_POOL_SIZE` connections again. It also caps the time an upstream's `Keep-Alive:
 * timeout=…` may ask for.
 */
export const overflowKeepAliveMs = 2_000;

/**
 * The connections to one upstream origin: up to `connections` kept alive and reused (a `Pool`) and,
 * while every one of them is busy, more opened on demand (a second pool without a limit), closed
 * `overflowKeepAliveMs` after they go idle. `connections` is what a pod keeps ready, not how many
 * requests it may have in flight to one upstream: streams last minutes, and a pool that queued the
 * next request behind them would hold it until its deadline and answer 504 for an upstream that
 * never saw it (HolySheep serves every model from one origin).
 *
 * Whether the kept pool has a free connection is undici's own back-pressure signal: its `dispatch`
 * returns false once it has none free and none left to open, and it emits 'drain' when one is free
 * again. A flag per origin, so no request pays for a walk over the pool's connections.
 */
export class OverflowingPool extends Dispatcher {
  private readonly kept: Pool;
  private readonly overflow: Pool;
  /** From the kept pool's `dispatch` returning false to its 'drain': a request sent there now would wait for a connection. */
  private keptBusy = false;
  private done = false;

  constructor(origin: string | URL, options: Pool.Options) {
    super();
    this.kept = new Pool(origin, options);
    this.overflow = new Pool(origin, { ...options, connections: null, keepAliveTimeout: overflowKeepAliveMs, keepAliveMaxTimeout: overflowKeepAliveMs });
    this.kept.on('drain', () => {
      this.keptBusy = false;
    });
    // The Agent counts an origin's connections by these events and closes its pools when none is left.
    for (const pool of [this.kept, this.overflow]) {
      pool.on('connect', (url, targets) => this.emit('connect', url, [this, ...targets]));
      pool.on('disconnect', (url, targets, error) => this.emit('disconnect', url, [this, ...targets], error));
      pool.on('connectionError', (url, targets, error) => this.emit('connectionError', url, [this, ...targets], error));
    }
  }

  get closed(): boolean {
    return this.done;
  }

  get destroyed(): boolean {
    return this.kept.destroyed && this.overflow.destroyed;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.keptBusy) this.overflow.dispatch(options, handler);
    else this.keptBusy = !this.kept.dispatch(options, handler);
    // Never busy itself: a request that finds every kept connection in use gets one of its own.
    return true;
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    this.done = true;
    const closed = Promise.all([this.kept.close(), this.overflow.close()]).then(() => undefined);
    if (callback === undefined) return closed;
    void closed.then(callback, callback);
  }

  override destroy(): Promise<void>;
  override destroy(error: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(error: Error | null, callback: () => void): void;
  override destroy(first?: Error | null | (() => void), second?: () => void): Promise<void> | void {
    const error = typeof first === 'function' ? null : (first ?? null);
    const callback = typeof first === 'function' ? first : second;
    this.done = true;
    const destroyed = Promise.all([this.kept.destroy(error), this.overflow.destroy(error)]).then(() => undefined);
    if (callback === undefined) return destroyed;
    void destroyed.then(callback, callback);
  }
}
