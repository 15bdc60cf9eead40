import { eventTooLarge, maxEventBytes } from './event-size-limit.js';

/** One server-sent event: its `event:` name (when given) and its `data:` lines joined by `\n`. */
export interface SseEvent {
  event: string | undefined;
  data: string;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * An incremental parser of `text/event-stream` bytes, as the WHATWG spec defines it (LF, CRLF and CR
 * line ends; `data:` lines joined; comments and unknown fields ignored). It works on Buffers and
 * splits at line ends before decoding, so a multi-byte character cut between two network chunks is
 * never decoded half; it never copies a chunk unless a line straddles two of them, and then once.
 * It holds at most `maxEventBytes` of one event (its data lines and the line not yet ended).
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
export class SseParser {
  /** The start of a line without its end yet: one piece, or (`pendingPieces`) several, joined once the line ends. */
  private pending: Buffer | undefined;
  private pendingPieces: Buffer[] | undefined;
  private pendingBytes = 0;
  private skipNextLineFeed = false;
  private dataLines: string[] = [];
  /** The bytes of the event's `data:` lines so far: with `pendingBytes`, what the parser holds of one event. */
  private dataBytes = 0;
  private hasData = false;
  private eventName: string | undefined;

  /**
   * `provider`: the upstream whose stream this is, named in the failure of an event that grows past
   * `maxEventBytes` without its end (thrown by `push`, an `UpstreamError`).
   */
  constructor(private readonly provider?: string) {}

  /** Feeds bytes; returns the events they complete. */
  push(chunk: Buffer): SseEvent[] {
    const events: SseEvent[] = [];
    let buffer = chunk;
    if (this.pending !== undefined) {
      // A line that goes on: its pieces are kept apart, and joined (and searched) once, when it ends,
      // rather than joined and searched again at every read.
      if (chunk.indexOf(LF) === -1 && chunk.indexOf(CR) === -1) {
        this.hold(chunk);
        return events;
      }
      const pieces = this.pendingPieces;
      buffer = pieces === undefined ? Buffer.concat([this.pending, chunk]) : Buffer.concat([...pieces, chunk], this.pendingBytes + chunk.length);
      this.pending = undefined;
      this.pendingPieces = undefined;
      this.pendingBytes = 0;
    }
    let position = 0;
    if (this.skipNextLineFeed && buffer.length > 0) {
      if (buffer[0] === LF) position = 1;
      this.skipNextLineFeed = false;
    }
    let nextCarriageReturn = buffer.indexOf(CR, position);
    while (position < buffer.length) {
      let lineEnd = buffer.indexOf(LF, position);
      if (nextCarriageReturn !== -1 && nextCarriageReturn < position) nextCarriageReturn = buffer.indexOf(CR, position);
      let terminatorLength = 1;
      if (nextCarriageReturn !== -1 && (lineEnd === -1 || nextCarriageReturn < lineEnd)) {
        lineEnd = nextCarriageReturn;
        if (lineEnd + 1 < buffer.length) {
          if (buffer[lineEnd + 1] === LF) terminatorLength = 2;
        } else {
          // A CR at the very end: a LF in the next chunk belongs to this line end.
          this.skipNextLineFeed = true;
        }
      }
      if (lineEnd === -1) break;
      this.processLine(buffer, position, lineEnd, events);
      position = lineEnd + terminatorLength;
    }
    if (position < buffer.length) {
      this.pending = buffer.subarray(position);
      this.pendingBytes = this.pending.length;
      if (this.pendingBytes + this.dataBytes > maxEventBytes) throw eventTooLarge(this.provider);
    }
    return events;
  }

  /** Signals the end of the stream; an event without its closing blank line is dropped, as the spec says. */
  end(): SseEvent[] {
    this.pending = undefined;
    this.pendingPieces = undefined;
    this.pendingBytes = 0;
    this.reset();
    return [];
  }

  /** Keeps a piece of a line that has not ended, within `maxEventBytes` for the event. */
  private hold(chunk: Buffer): void {
    (this.pendingPieces ??= [this.pending!]).push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes + this.dataBytes > maxEventBytes) throw eventTooLarge(this.provider);
  }

  private processLine(buffer: Buffer, start: number, end: number, events: SseEvent[]): void {
    if (start === end) {
      if (this.hasData) events.push({ event: this.eventName, data: this.dataLines.join('\n') });
      this.reset();
      return;
    }
    if (buffer[start] === 0x3a /* ':' comment */) return;
    const colon = buffer.indexOf(0x3a, start);
    let name: string;
    let value: string;
    if (colon === -1 || colon >= end) {
      name = buffer.toString('utf8', start, end);
      value = '';
    } else {
      name = buffer.toString('utf8', start, colon);
      const valueStart = buffer[colon + 1] === 0x20 ? colon + 2 : colon + 1;
      value = buffer.toString('utf8', Math.min(valueStart, end), end);
    }
    if (name === 'data') {
      this.dataLines.push(value);
      this.hasData = true;
      this.dataBytes += end - start;
      if (this.dataBytes > maxEventBytes) throw eventTooLarge(this.provider);
    } else if (name === 'event') {
      this.eventName = value;
    }
  }

  private reset(): void {
    this.dataLines = [];
    this.dataBytes = 0;
    this.hasData = false;
    this.eventName = undefined;
  }
}
