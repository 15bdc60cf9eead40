import type { ServerResponse } from 'node:http';
import type { OpenAIErrorBody } from '../spec/relay-error.js';

/** Writers corked in this turn of the event loop, uncorked together by one callback when it ends. */
let corkedWriters: SseWriter[] = [];

function uncorkAll(): void {
  const writers = corkedWriters;
  corkedWriters = [];
  for (const writer of writers) writer.uncork();
}

function streamClosed(): void {
  SseWriter.open--;
}

/**
 * Writes server-sent events to a raw response with back-pressure: when the client reads slower than
 * the upstream writes, the relay waits instead of buffering the whole answer in memory.
 */
export class SseWriter {
  /** Streams open to clients in this process, for the `relay_inflight_streams` gauge. */
  static open = 0;

  private corked = false;

  constructor(private readonly response: ServerResponse) {}

  get closed(): boolean {
    return this.response.destroyed || this.response.writableEnded;
  }

  /**
   * Sends the status line and `headers` (the reply's own copy, which the stream's headers are added
   * to); throws, having sent nothing, when Node refuses one of them.
   */
  open(headers: Record<string, string | number | string[] | undefined>): void {
    headers['content-type'] = 'text/event-stream; charset=utf-8';
    headers['cache-control'] = 'no-cache';
    // No `connection` header of its own: Node keeps the connection alive unless the client asked to
    // close it (a header set here would override the client's `Connection: close`).
    // Tells nginx (and the Ingress) not to buffer the stream.
    headers['x-accel-buffering'] = 'no';
    // Throws when Node refuses a header (ERR_INVALID_CHAR): nothing is sent then, and the stream is not counted.
    this.response.writeHead(200, headers as Record<string, string | number | string[]>);
    SseWriter.open++;
    // One shared listener (a response closes once): no closure and no `once` wrapper per stream.
    this.response.on('close', streamClosed);
    // Node builds the header block by `+=` (~4 pieces a header: ~1.7 KB of string nodes for a
    // stream's headers) and keeps it as the response's `_header` while the stream lasts; reading a
    // character makes it one string in place (~450 bytes). Nothing else changes if the property goes away.
    (this.response as unknown as { _header?: string | null })._header?.charCodeAt(0);
  }

  /** Writes one `data:` event; the promise, when there is one, resolves when the socket can take more. */
  data(text: string): Promise<void> | undefined {
    return this.write(`data: ${text}\n\n`);
  }

  /** Writes raw bytes of an upstream stream that needs no translation. */
  raw(bytes: Buffer): Promise<void> | undefined {
    return this.write(bytes);
  }

  /** Writes the complete events of one upstream read as they are: already one write, so not held for the end of the turn. */
  readEvents(bytes: Buffer): Promise<void> | undefined {
    return this.write(bytes, false);
  }

  private write(chunk: string | Buffer, cork = true): Promise<void> | undefined {
    if (this.closed) return undefined;
    // The events parsed from one upstream read are written in the same turn of the event loop: held
    // (corked) until that turn ends, they leave in one socket write instead of one write each.
    // One callback for all the writers of a turn: with a thousand streams, a thousand fewer timers per turn.
    if (cork && !this.corked) {
      this.corked = true;
      this.response.cork();
      if (corkedWriters.push(this) === 1) setImmediate(uncorkAll);
    }
    if (this.response.write(chunk)) return undefined;
    return new Promise((resolve) => {
      const done = () => {
        this.response.off('drain', done);
        this.response.off('close', done);
        resolve();
      };
      this.response.on('drain', done);
      this.response.on('close', done);
    });
  }

  /** Sends what this turn's writes held back (called once per turn for each corked writer). */
  uncork(): void {
    this.corked = false;
    this.response.uncork();
  }

  /** Ends a stream that failed after its first byte: one OpenAI-shaped error event, no `[DONE]`. */
  fail(error: OpenAIErrorBody): void {
    if (this.closed) return;
    this.response.end(`data: ${JSON.stringify(error)}\n\n`);
  }

  done(): void {
    if (this.closed) return;
    this.response.end('data: [DONE]\n\n');
  }
}
