import { redactSecrets } from '../spec/redact-secrets.js';
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
 * after two native byte searches.
 */
export class ErrorEventRedactor {
  private held: Buffer | undefined;

  constructor(private readonly secrets: readonly string[]) {}

  /** What to write for the next upstream read: the events it completes, error events redacted (empty when it completes none). */
  push(chunk: Buffer): Buffer {
    if (this.secrets.length === 0) return chunk;
    const buffer = this.held === undefined ? chunk : Buffer.concat([this.held, chunk]);
    const end = completeEventsEnd(buffer);
    this.held = end < buffer.length ? buffer.subarray(end) : undefined;
    if (end === 0) return nothing;
    const complete = end === buffer.length ? buffer : buffer.subarray(0, end);
    return complete.indexOf(errorMark) === -1 ? complete : redactErrorEvents(complete, this.secrets);
  }

  /** What the upstream sent after its last complete event (an event it never finished), to write as the stream ends. */
  end(): Buffer {
    const rest = this.held;
    this.held = undefined;
    if (rest === undefined) return nothing;
    return rest.indexOf(errorMark) === -1 ? rest : Buffer.from(redactSecrets(rest.toString('utf8'), this.secrets));
  }
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
