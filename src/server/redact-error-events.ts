import { redactSecrets } from '../spec/redact-secrets.js';
import { eventTooLarge, maxEventBytes } from '../sse/event-size-limit.js';
import { SseParser } from '../sse/sse-parser.js';

const LF = 0x0a;
const CR = 0x0d;
const blankLine = Buffer.from('\n\n');
/** Every error event of the streams relayed as they are holds this: `event: error`, `{"error":…}`, `"type":"error"`. */
const errorMark = Buffer.from('error');
const nothing = Buffer.alloc(0);

/**
 * Keeps the relay's upstream credentials out of the error events of a stream it relays byte for
 * byte (legacy completions, the Responses API, Anthropic's Messages API): an upstream, or a
 * gateway in front of it, that quotes the request's headers in such an event would otherwise hand
 * the relay's key to the client, as it would in an error answer (see `toClientError`).
 *
 * Each read is relayed up to the end of the last event it completes; the rest waits for the next
 * read, so that no event (and no key in it) leaves in two pieces of which only the second could be
 * told apart. Only the complete events of a read that holds the bytes `error` anywhere are looked
 * at one by one, and only those that are errors are redacted; every other read leaves as it came,
 * after two native byte searches. An event whose end does not come is held as the pieces of the
 * reads that brought it, joined once it may end, and given up (`push` throws) past `maxEventBytes`.
 */
export class ErrorEventRedactor {
  /** What the reads brought after their last complete event: one piece, or (`heldPieces`) several, and their bytes. */
  private held: Buffer | undefined;
  private heldPieces: Buffer[] | undefined;
  private heldBytes = 0;

  /** `provider`: the upstream, named in the failure of an event that grows past `maxEventBytes` (thrown by `push`). */
  constructor(
    private readonly secrets: readonly string[],
    private readonly provider?: string,
  ) {}

  /** What to write for the next upstream read: the events it completes, error events redacted (empty when it completes none). */
  push(chunk: Buffer): Buffer {
    if (this.secrets.length === 0) return chunk;
    let buffer = chunk;
    if (this.held !== undefined) {
      // The bytes held complete no event: while the new ones cannot either, they are only kept, not
      // joined to them and searched again at every read; the pieces are joined once, when they may.
      const pieces = this.heldPieces;
      const last = (pieces === undefined ? this.held : pieces[pieces.length - 1]!).at(-1);
      if (!mayEndEvent(last, chunk)) {
        (this.heldPieces ??= [this.held]).push(chunk);
        this.heldBytes += chunk.length;
        if (this.heldBytes > maxEventBytes) throw eventTooLarge(this.provider);
        return nothing;
      }
      buffer = this.joinHeld(chunk);
    }
    const end = completeEventsEnd(buffer);
    if (end < buffer.length) {
      this.held = buffer.subarray(end);
      this.heldBytes = this.held.length;
      if (this.heldBytes > maxEventBytes) throw eventTooLarge(this.provider);
    }
    if (end === 0) return nothing;
    const complete = end === buffer.length ? buffer : buffer.subarray(0, end);
    return complete.indexOf(errorMark) === -1 ? complete : redactErrorEvents(complete, this.secrets);
  }

  /** What the upstream sent after its last complete event (an event it never finished), to write as the stream ends. */
  end(): Buffer {
    const rest = this.joinHeld(nothing);
    if (rest.length === 0) return nothing;
    return rest.indexOf(errorMark) === -1 ? rest : Buffer.from(redactSecrets(rest.toString('utf8'), this.secrets));
  }

  /** The bytes held followed by `chunk`, in one buffer; nothing is held after. */
  private joinHeld(chunk: Buffer): Buffer {
    const held = this.held;
    if (held === undefined) return chunk;
    const pieces = this.heldPieces;
    const joined = pieces === undefined ? (chunk.length === 0 ? held : Buffer.concat([held, chunk])) : Buffer.concat([...pieces, chunk], this.heldBytes + chunk.length);
    this.held = undefined;
    this.heldPieces = undefined;
    this.heldBytes = 0;
    return joined;
  }
}

/**
 * Whether bytes that follow `last` (the last byte held, which completes no event) may complete an
 * event: whether they hold a blank line, two line ends in a row (a CR LF pair being one), one that
 * may start with `last`. Native searches where the line ends are LF alone, as they almost always are.
 */
function mayEndEvent(last: number | undefined, chunk: Buffer): boolean {
  if (last !== CR && chunk.indexOf(CR) === -1) return (last === LF && chunk[0] === LF) || chunk.indexOf(blankLine) !== -1;
  // What came right before the byte looked at: 0 no line end, 1 a whole line end (LF, or CR LF), 2 a CR that an LF may complete.
  let state = last === LF ? 1 : last === CR ? 2 : 0;
  for (let index = 0; index < chunk.length; index++) {
    const byte = chunk[index];
    if (byte === LF) {
      if (state === 1) return true;
      state = 1;
    } else if (byte === CR) {
      if (state !== 0) return true;
      state = 2;
    } else state = 0;
  }
  return false;
}

/** Where the last event the bytes complete ends (past its blank line); 0 when they complete none. */
function completeEventsEnd(buffer: Buffer): number {
  if (buffer.indexOf(CR) === -1) {
    const at = buffer.lastIndexOf(blankLine);
    return at === -1 ? 0 : at + 2;
  }
  let end = 0;
  forEachEvent(buffer, (_start, stop) => {
    end = stop;
  });
  return end;
}

/**
 * Calls `onEvent` with the bounds of each event the bytes complete, its blank line included, for
 * any of the line ends the SSE format allows (LF, CRLF, CR). A CR that ends the bytes is taken as a
 * whole line end: an LF after it in the next read is then an empty line of its own, which changes
 * no event (the bytes themselves are relayed unchanged).
 */
function forEachEvent(buffer: Buffer, onEvent: (start: number, stop: number) => void): void {
  let eventStart = 0;
  let lineStart = 0;
  for (let at = 0; at < buffer.length; ) {
    const byte = buffer[at];
    if (byte !== LF && byte !== CR) {
      at++;
      continue;
    }
    const next = byte === CR && buffer[at + 1] === LF ? at + 2 : at + 1;
    if (at === lineStart) {
      onEvent(eventStart, next);
      eventStart = next;
    }
    lineStart = next;
    at = next;
  }
}

/** Complete events with each error event's credentials replaced by `[REDACTED]`; the same bytes when no error event held one. */
function redactErrorEvents(events: Buffer, secrets: readonly string[]): Buffer {
  const pieces: Buffer[] = [];
  let keptFrom = 0;
  forEachEvent(events, (start, stop) => {
    const event = events.subarray(start, stop);
    if (event.indexOf(errorMark) === -1 || !isErrorEvent(event)) return;
    const text = event.toString('utf8');
    const redacted = redactSecrets(text, secrets);
    if (redacted === text) return;
    pieces.push(events.subarray(keptFrom, start), Buffer.from(redacted));
    keptFrom = stop;
  });
  if (pieces.length === 0) return events;
  pieces.push(events.subarray(keptFrom));
  return Buffer.concat(pieces);
}

/**
 * Whether an event is an error: named `error` (OpenAI's Responses API, Anthropic) or
 * `response.failed`, or whose data is an error object (`{"error":…}`, as legacy completions and
 * chat streams send one; `"type":"error"`), or is not JSON at all (an upstream's plain-text
 * failure). An event of the answer whose text merely says "error" is not one.
 */
function isErrorEvent(bytes: Buffer): boolean {
  const event = new SseParser().push(bytes)[0];
  if (event === undefined) return false;
  if (event.event === 'error' || event.event === 'response.failed') return true;
  let data: unknown;
  try {
    data = JSON.parse(event.data);
  } catch {
    return true;
  }
  if (data === null || typeof data !== 'object') return false;
  const { error, type } = data as { error?: unknown; type?: unknown };
  return (error !== undefined && error !== null) || type === 'error' || type === 'response.failed';
}
