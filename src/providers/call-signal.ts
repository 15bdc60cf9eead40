import { EventEmitter } from 'node:events';

/**
 * A call's abort signal as an EventEmitter, which undici accepts in place of an `AbortSignal`. Every
 * request needs one (so that the upstream call stops when the client leaves), and Node's
 * `AbortController` showed in the relay's profile: its signal is an EventTarget, slow to create and
 * to add and remove listeners on, and undici adds two per request.
 */
export class CallSignal extends EventEmitter {
  aborted = false;
  /** Left undefined: undici then fails the call with its own `RequestAbortedError`. */
  readonly reason: unknown = undefined;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}

/** Either kind of abort signal a provider call may carry. */
export type AbortLike = AbortSignal | CallSignal;

/** Runs `listener` once when `signal` aborts; returns what removes it. */
export function onAbort(signal: AbortLike, listener: () => void): () => void {
  if (signal instanceof CallSignal) {
    signal.once('abort', listener);
    return () => signal.off('abort', listener);
  }
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}
