import type { Duplex } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { onAbort, type AbortLike } from './call-signal.js';
import { CallAbortedError } from './upstream-failure.js';

const composed = new WeakMap<Dispatcher, Dispatcher>();

/**
 * `dispatcher`, with its `request` failing at once (a `CallAbortedError` marked `beforeConnection`)
 * when the call's signal aborts while the request still waits for its connection. undici's
 * `request` acts on the signal only once the request has a connection, so a request waiting for
 * one (through a proxy slow to open its tunnel) would otherwise be held until then, and its failure
 * would look like the upstream's. The relay's own handlers (`postUpstreamJson`, `postUpstreamStream`)
 * do the same themselves.
 */
export function abortableWhileConnecting(dispatcher: Dispatcher): Dispatcher {
  let watching = composed.get(dispatcher);
  if (watching === undefined) {
    watching = dispatcher.compose(
      (dispatch) => (options, handler) =>
        dispatch(options, new ConnectionWait(handler, (options as { signal?: AbortLike }).signal)),
    );
    composed.set(dispatcher, watching);
  }
  return watching;
}

/** Passes a request's events on, unless its signal aborted before it had a connection: then it has failed already. */
class ConnectionWait implements Dispatcher.DispatchHandler {
  private failure: CallAbortedError | undefined;
  private readonly detach: () => void;

  constructor(
    private readonly handler: Dispatcher.DispatchHandler,
    signal: AbortLike | undefined,
  ) {
    this.detach =
      signal === undefined
        ? noop
        : onAbort(signal, () => {
            this.failure = new CallAbortedError(undefined, true);
            // As undici itself fails a request that never started (a closed pool): no controller yet.
            handler.onResponseError?.(undefined as unknown as Dispatcher.DispatchController, this.failure);
          });
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.detach();
    // Its connection came after the request had failed: it is not sent.
    if (this.failure !== undefined) controller.abort(this.failure);
    else this.handler.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    this.handler.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    this.handler.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.handler.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.handler.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    this.detach();
    if (this.failure === undefined) this.handler.onResponseError?.(controller, error);
  }
}

const noop = (): void => {};
