import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { UpstreamError } from '../spec/relay-error.js';
import { abortableWhileConnecting } from './abortable-while-connecting.js';
import { onAbort } from './call-signal.js';
import type { ProviderCall, StreamPart } from './provider.js';
import { CallAbortedError, classifyTransportError } from './upstream-failure.js';

export interface PostUpstreamOptions {
  url: string;
  dispatcher: Dispatcher;
  headers: Record<string, string>;
  /** Sent as JSON; a call without one (`undefined`) sends no body. */
  body: unknown;
  /** POST unless given: a call without a body may be a GET or a DELETE. */
  method?: 'GET' | 'DELETE' | 'POST';
  call: ProviderCall;
  provider: string;
  /** Turns a non-2xx answer into a classified failure, in the upstream's own error format; `url` is the one called, for the log. */
  classifyError: (status: number, bodyText: string, headers: Record<string, string | string[] | undefined>, provider: string, url?: string) => UpstreamError;
}

/**
 * One upstream POST, the same for every adapter: undici `request` (never `fetch`) on the shared
 * pool, the per-attempt timeout to headers and between body chunks, the call's abort signal, and
 * every failure classified — transport errors here, error answers by the adapter's classifier.
 */
export async function postUpstream(options: PostUpstreamOptions): Promise<Dispatcher.ResponseData> {
  const { call } = options;
  if (call.signal.aborted) throw new CallAbortedError(new CallAbortedReason(), true);
  let response: Dispatcher.ResponseData;
  try {
    response = await abortableWhileConnecting(options.dispatcher).request({ ...upstreamRequest(options), signal: call.signal });
  } catch (error) {
    // `request` settles with the status line: a failure before it came before any byte of the answer.
    throw classifyTransportError(error, options.provider, call.signal, true);
  }
  if (response.statusCode >= 200 && response.statusCode < 300) return response;
  let text = '';
  try {
    text = await response.body.text();
  } catch {
    // the status is enough to classify
  }
  throw options.classifyError(response.statusCode, text, response.headers, options.provider, options.url);
}

/**
 * Characters of JSON from which a request body goes to undici as bytes it can let go of once they
 * are written. undici keeps a request's body for as long as the request runs, which for a stream is
 * the whole answer: a long conversation's prompt (often hundreds of KB) would stay in memory once
 * per open stream, beside the copy the relay keeps to count a cut stream's prompt.
 */
export const releasedBodyCharacters = 16 * 1024;

/** The POST both ways of calling an upstream send: the body as JSON, the per-attempt timeout to headers and between body chunks. */
function upstreamRequest(options: PostUpstreamOptions): Dispatcher.DispatchOptions {
  if (options.body === undefined) {
    // A call without a body names a resource (a stored response): its URL is not worth keeping split.
    const { origin, pathname, search } = new URL(options.url);
    return { origin, path: `${pathname}${search}`, method: options.method ?? 'POST', headers: options.headers, headersTimeout: options.call.timeoutMs, bodyTimeout: options.call.timeoutMs };
  }
  const { origin, path } = splitUrl(options.url);
  const json = JSON.stringify(options.body);
  let body: string | WrittenOnce = json;
  let headers = options.headers;
  if (json.length >= releasedBodyCharacters) {
    const bytes = Buffer.from(json);
    body = new WrittenOnce(bytes);
    // With its length given, undici sends the iterable as one body of that length, not chunked.
    headers = { ...headers, 'content-length': String(bytes.length) };
  }
  return {
    origin,
    path,
    method: 'POST',
    headers,
    // undici's documentation lists iterables among a request's bodies; its types do not (yet).
    body: body as Dispatcher.DispatchOptions['body'],
    headersTimeout: options.call.timeoutMs,
    bodyTimeout: options.call.timeoutMs,
  };
}

/** A body read once: undici writes its one piece, and the bytes go with the iteration. */
class WrittenOnce implements Iterable<Buffer> {
  constructor(private bytes: Buffer | undefined) {}

  *[Symbol.iterator](): Iterator<Buffer> {
    const bytes = this.bytes;
    this.bytes = undefined;
    if (bytes !== undefined) yield bytes;
  }
}

/** Upstream URLs split into origin and path once, not parsed again for every call (they are a few per provider). */
const splitUrls = new Map<string, { origin: string; path: string }>();

function splitUrl(url: string): { origin: string; path: string } {
  let split = splitUrls.get(url);
  if (split === undefined) {
    const parsed = new URL(url);
    split = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
    // Gemini's paths carry the model name: keep the map bounded whatever the traffic.
    if (splitUrls.size >= 1_000) splitUrls.clear();
    splitUrls.set(url, split);
  }
  return split;
}

/** A 2xx JSON answer: the exact bytes (relayed as they are) and the parsed object. */
export interface UpstreamJson {
  body: Buffer;
  parsed: Record<string, unknown>;
}

/**
 * One upstream POST whose answer is read whole as JSON: the same request, timeouts, abort and
 * classification as `postUpstream`, but the body is collected by a dispatch handler instead of
 * through a stream, and that handler settles the call's one promise with the parsed answer or the
 * classified failure. A JSON answer is small and wanted whole, and the stream (undici's body
 * Readable, its events and the consume step) showed in the relay's profile.
 */
export function postUpstreamJson(options: PostUpstreamOptions): Promise<UpstreamJson> {
  return new Promise((resolve, reject) => {
    const signal = options.call.signal;
    if (signal.aborted) {
      reject(new CallAbortedError(new CallAbortedReason(), true));
      return;
    }
    options.dispatcher.dispatch(upstreamRequest(options), new CollectingHandler(options, resolve, reject));
  });
}

/** What every handler of an upstream call does: the call's signal aborts the request, queued or running. */
abstract class UpstreamCallHandler implements Dispatcher.DispatchHandler {
  protected controller: Dispatcher.DispatchController | undefined;
  protected readonly detach: () => void;

  constructor(protected readonly options: PostUpstreamOptions) {
    // Aborted while still waiting for its connection: fail now (saying so); the request is dropped when it starts.
    this.detach = onAbort(options.call.signal, () =>
      this.controller === undefined ? this.onResponseError(undefined, new CallAbortedError(new CallAbortedReason(), true)) : this.controller.abort(new CallAbortedReason()),
    );
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.options.call.signal.aborted) controller.abort(new CallAbortedReason());
  }

  abstract onResponseError(controller: Dispatcher.DispatchController | undefined, error: Error): void;
}

/** undici's handler of one collected answer: one object per call, its methods on the prototype. */
class CollectingHandler extends UpstreamCallHandler {
  private readonly chunks: Buffer[] = [];
  private length = 0;
  private statusCode = 0;
  private headers: IncomingHttpHeaders = {};
  private settled = false;

  constructor(
    options: PostUpstreamOptions,
    private readonly resolve: (answer: UpstreamJson) => void,
    private readonly reject: (error: Error) => void,
  ) {
    super(options);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.statusCode = statusCode;
    this.headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.settled = true;
    this.detach();
    const { chunks, options, statusCode } = this;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.length);
    try {
      if (statusCode < 200 || statusCode >= 300) throw options.classifyError(statusCode, body.toString('utf8'), this.headers, options.provider, options.url);
      this.resolve({ body, parsed: parseJsonObject(body, options.provider) });
    } catch (error) {
      this.reject(error as Error);
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    this.fail(error);
  }

  /** A transport failure (or the call aborted): classified as `postUpstream` classifies it. */
  private fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.detach();
    this.reject(classifyTransportError(error, this.options.provider, this.options.call.signal, this.statusCode === 0));
  }
}

/** Turns the bytes of a streamed answer into parts, read by read. */
export interface StreamReader {
  /**
   * Reads the bytes of one upstream read, handing each part they complete to `emit`; throws an
   * `UpstreamError` for an error event. Returns true when they held the event that ends the stream
   * (`[DONE]`): the stream is then complete, whatever the upstream does next, and nothing more is read.
   */
  push(chunk: Buffer, emit: (part: StreamPart) => void): boolean;
  /** The body ended: throws when the stream was cut (it did not end as its format ends). */
  end(): void;
}

/**
 * How long an upstream whose stream has ended (`[DONE]`, `response.completed`, `message_stop`) is
 * given to end its response body, once the client has its whole answer: a server writes the end of
 * its body right after its last event, and a connection whose body ended goes back to the pool. One
 * that has not by then (it left the response open) has its call aborted and its connection closed,
 * so that the connection is never reused in the middle of a body. A failure of the connection
 * meanwhile changes nothing: the answer was complete.
 */
export const bodyEndGraceMs = 1000;

/**
 * Lets go of the body of a stream that has ended (see `bodyEndGraceMs`), read through an iterator:
 * nothing more is read from it, and after the grace it is closed (`return`), which aborts the
 * upstream call if its body has not ended by then (a body that did end meanwhile freed its connection).
 */
export function releaseEndedBody(body: AsyncIterator<unknown>): void {
  setTimeout(closeBody, bodyEndGraceMs, body).unref();
}

function closeBody(body: AsyncIterator<unknown>): void {
  body.return?.().catch(() => {});
}

/**
 * One upstream POST whose 2xx answer is a stream, read as parts through an async iterator: resolves
 * once the upstream accepted the stream (its status line and headers), with an iterator whose parts
 * come from `reader`. The body is read by a dispatch handler, not through undici's body Readable and
 * its async iterator: each read becomes parts at once and goes to the waiting consumer, with no
 * stream machinery, events or chain of promises per read (which made most of a relayed chunk's
 * cost). Back-pressure: while the consumer has `queuedPartsLimit` bytes of parts it has not taken,
 * the upstream socket is not read. Errors are classified as `postUpstream` classifies them; an
 * error answer is read whole.
 */
export function postUpstreamStream(options: PostUpstreamOptions, reader: StreamReader): Promise<AsyncIterator<StreamPart>> {
  return new Promise((resolve, reject) => {
    const signal = options.call.signal;
    if (signal.aborted) {
      reject(new CallAbortedError(new CallAbortedReason(), true));
      return;
    }
    options.dispatcher.dispatch(upstreamRequest(options), new StreamingAnswer(options, reader, resolve, reject));
  });
}

/**
 * Answers holding the body bytes of the socket read being parsed, turned into parts once the read is
 * parsed whole (one microtask for all of them).
 */
const holdingAnswers: StreamingAnswer[] = [];

function readParsed(): void {
  // One list for the process, emptied in place (a new list per read was most of the cost of holding).
  try {
    for (let index = 0; index < holdingAnswers.length; index++) {
      const answer = holdingAnswers[index]!;
      answer.readHeld();
      answer.pauseIfFull();
    }
  } finally {
    holdingAnswers.length = 0;
  }
}

/**
 * Bytes of parts a stream may hold for its consumer before the upstream socket is paused. Not
 * zero: under load one socket read often holds several upstream writes, which become several parts
 * in one go while the consumer takes one at a time; pausing on the second part (as the handler did)
 * cost a pause, a push back into the socket and a resume for most parts (about 9 of every 12 reads
 * under a burst of 1000 streams).
 */
export const queuedPartsLimit = 64 * 1024;

const partBytes = (part: StreamPart): number => (part.raw === undefined ? part.data.length : part.raw.length);

/** The handler of one streamed answer, and the iterator of its parts. */
class StreamingAnswer extends UpstreamCallHandler implements AsyncIterator<StreamPart> {
  private statusCode = 0;
  /** An error answer's headers and body, read whole to classify it. */
  private headers: IncomingHttpHeaders | undefined;
  private errorBody: Buffer[] | undefined;
  private accepted = false;
  /** Parts read and not yet taken, and their size. */
  private readonly parts: StreamPart[] = [];
  private queuedBytes = 0;
  /** Body bytes of the socket read being parsed, not yet read into parts: the first chunk, and all of them when there are more (an array kept for the stream's next reads). */
  private held: Buffer | undefined;
  private heldChunks: Buffer[] | undefined;
  private failure: Error | undefined;
  /** The stream is complete: its body ended as its format ends, or the reader read its end. */
  private ended = false;
  /** The response's body ended, or failed (undici is done with the call). */
  private bodyDone = false;
  /** Aborts a call whose stream ended and whose body has not (see `bodyEndGraceMs`). */
  private abortLate: NodeJS.Timeout | undefined;
  /** The consumer stopped (`return`): nothing more is read or delivered. */
  private closed = false;
  private waiting: { resolve: (result: IteratorResult<StreamPart>) => void; reject: (error: Error) => void } | undefined;
  private readonly emit = (part: StreamPart): void => {
    const waiting = this.waiting;
    if (waiting !== undefined) {
      this.waiting = undefined;
      waiting.resolve({ value: part, done: false });
    } else {
      this.parts.push(part);
      this.queuedBytes += partBytes(part);
    }
  };

  constructor(
    options: PostUpstreamOptions,
    private readonly reader: StreamReader,
    private readonly accept: (parts: AsyncIterator<StreamPart>) => void,
    private readonly refuse: (error: Error) => void,
  ) {
    super(options);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.statusCode = statusCode;
    if (statusCode >= 200 && statusCode < 300) {
      // undici's controller keeps the raw header lines, views into the socket read that held them,
      // for the whole answer; a stream has taken what it needs from them.
      controller.rawHeaders = null;
      this.accepted = true;
      this.accept(this);
    } else {
      this.headers = headers;
      this.errorBody = [];
    }
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.errorBody !== undefined) {
      this.errorBody.push(chunk);
      return;
    }
    if (this.closed || this.ended || this.failure !== undefined) return;
    // undici hands over each chunk of a chunked body as it parses it: one socket read that holds
    // several upstream writes (a busy relay reads a stream's socket less often than the upstream
    // writes to it) arrives as several calls in a row. They are read as one piece once the read is
    // parsed, so that they leave as one part and one write to the client instead of one each.
    if (this.held === undefined) {
      this.held = chunk;
      if (holdingAnswers.push(this) === 1) queueMicrotask(readParsed);
    } else {
      const chunks = (this.heldChunks ??= []);
      if (chunks.length === 0) chunks.push(this.held);
      chunks.push(chunk);
    }
  }

  /** Reads the bytes held from the last socket read (see `onResponseData`) into parts. */
  readHeld(): void {
    const held = this.held;
    if (held === undefined) return;
    this.held = undefined;
    const chunks = this.heldChunks;
    const bytes = chunks === undefined || chunks.length === 0 ? held : Buffer.concat(chunks);
    if (chunks !== undefined) chunks.length = 0;
    if (this.closed || this.ended || this.failure !== undefined) return;
    try {
      if (this.reader.push(bytes, this.emit)) this.complete();
    } catch (error) {
      // An error event: the stream fails with it, and the upstream request stops here.
      this.fail(error as Error);
      this.controller?.abort(error as Error);
    }
  }

  /** Stops reading the upstream socket while the consumer has `queuedPartsLimit` bytes of parts to take. */
  pauseIfFull(): void {
    const controller = this.controller;
    if (controller !== undefined && this.queuedBytes >= queuedPartsLimit && !controller.paused && !this.closed && !this.ended && this.failure === undefined) controller.pause();
  }

  /**
   * The reader read the stream's end: the consumer gets the parts read and then the end, at once.
   * The body still open gets `bodyEndGraceMs` to end (the connection then goes back to the pool)
   * before the call is aborted; reading resumes for it, and what it brings is not read.
   */
  private complete(): void {
    this.ended = true;
    this.wake();
    if (this.bodyDone) return;
    this.abortLate = setTimeout(abortEndedCall, bodyEndGraceMs, this.controller);
    this.abortLate.unref();
    if (this.controller?.paused === true) this.controller.resume();
  }

  onResponseEnd(): void {
    this.bodyDone = true;
    clearTimeout(this.abortLate);
    this.readHeld();
    this.detach();
    const { errorBody, options } = this;
    if (errorBody !== undefined) {
      this.refuse(options.classifyError(this.statusCode, Buffer.concat(errorBody).toString('utf8'), this.headers ?? {}, options.provider, options.url));
      return;
    }
    if (this.closed || this.ended || this.failure !== undefined) return;
    try {
      this.reader.end();
      this.ended = true;
      this.wake();
    } catch (error) {
      this.fail(error as Error);
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    this.bodyDone = true;
    clearTimeout(this.abortLate);
    // The parts of what was read before the failure come first (a stream they complete has not failed).
    this.readHeld();
    this.detach();
    const { options } = this;
    if (!this.accepted) {
      // Before a 2xx status line (or while reading an error answer, classified by its status alone).
      this.refuse(this.errorBody === undefined ? classifyTransportError(error, options.provider, options.call.signal, this.statusCode === 0) : options.classifyError(this.statusCode, '', this.headers ?? {}, options.provider, options.url));
      return;
    }
    this.fail(classifyTransportError(error, options.provider, options.call.signal));
  }

  next(): Promise<IteratorResult<StreamPart>> {
    let part = this.take();
    if (part === undefined && this.controller?.paused === true) {
      // Reading resumes at once: what the socket already holds may become parts before this returns.
      this.controller.resume();
      this.readHeld();
      part = this.take();
    }
    if (part !== undefined) {
      if (this.queuedBytes < queuedPartsLimit && this.controller?.paused === true) this.controller.resume();
      return Promise.resolve({ value: part, done: false });
    }
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.ended || this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  private take(): StreamPart | undefined {
    const part = this.parts.shift();
    if (part !== undefined) this.queuedBytes -= partBytes(part);
    return part;
  }

  /** The consumer stops early (the client left, or it failed): the upstream request is aborted. */
  return(): Promise<IteratorResult<StreamPart>> {
    if (!this.closed) {
      this.closed = true;
      this.held = undefined;
      this.heldChunks = undefined;
      this.parts.length = 0;
      this.queuedBytes = 0;
      if (!this.ended && this.failure === undefined) this.controller?.abort(new CallAbortedReason());
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Fails the stream once: after the parts already read, the consumer gets this error. */
  private fail(error: Error): void {
    if (this.failure !== undefined || this.ended) return;
    this.failure = error;
    this.wake();
  }

  /** Tells a waiting consumer that no part will come (the end, or the failure). */
  private wake(): void {
    const waiting = this.waiting;
    if (waiting === undefined) return;
    this.waiting = undefined;
    if (this.failure !== undefined) waiting.reject(this.failure);
    else waiting.resolve({ value: undefined, done: true });
  }
}

/** The grace of a stream that ended is over and its body has not: the call stops, and its connection is closed. */
function abortEndedCall(controller: Dispatcher.DispatchController | undefined): void {
  controller?.abort(new CallAbortedReason());
}

/** Why a collected call stopped when its signal fired (classified as the client leaving). */
class CallAbortedReason extends Error {
  constructor() {
    super('the call was aborted');
    this.name = 'AbortError';
  }
}

function parseJsonObject(body: Buffer, provider: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new UpstreamError(`${provider}: answered 2xx with a body that is not JSON`, { reason: 'provider_internal', provider });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UpstreamError(`${provider}: answered 2xx with JSON that is not an object`, { reason: 'provider_internal', provider });
  }
  return parsed as Record<string, unknown>;
}
