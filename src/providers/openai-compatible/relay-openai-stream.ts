import { SseParser, type SseEvent } from '../../sse/sse-parser.js';
import type { StreamPart } from '../provider.js';
import type { StreamReader } from '../post-upstream.js';
import { OpenAIEventReader, readUsageChunk, streamCut, streamError } from './read-openai-stream.js';

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const OPEN_BRACE = 0x7b;
const dataField = Buffer.from('data:');
const dataLine = Buffer.from('\ndata:');
const errorData = Buffer.from('{"error"');
const done = Buffer.from('[DONE]');
const errorEvent = Buffer.from('event:');
const finishKey = Buffer.from('"finish_reason"');
const usageKey = Buffer.from('"usage"');

/**
 * An OpenAI-compatible chat stream relayed to an OpenAI client as the upstream's own bytes: each
 * upstream read leaves as one part holding the complete events it finished (`raw`), searched as
 * bytes instead of decoded and re-encoded event by event. Only what the relay must act on is parsed:
 * the event that carries usage (billed; dropped when the client did not ask for it, since the relay
 * asks for usage itself), an error event (the stream fails with it), and the end (`[DONE]` or a
 * finish reason; a stream that ends without either was cut; `[DONE]` itself is written by the route).
 * Events a read leaves unfinished wait for the next read, so no event reaches the client in two
 * halves it could not tell apart.
 *
 * Line ends other than `\n` (CRLF or CR, which the SSE format allows) hand the rest of the stream
 * to the event-by-event reader, whose parts the route relays as well.
 */
export class OpenAIRawEventReader implements StreamReader {
  private pending: Buffer | undefined;
  private finished = false;
  private eventByEvent: OpenAIEventReader | undefined;

  constructor(
    private readonly provider: string,
    private readonly clientWantsUsage: boolean,
  ) {}

  push(chunk: Buffer, emit: (part: StreamPart) => void): void {
    if (this.eventByEvent !== undefined) {
      this.eventByEvent.push(chunk, emit);
      return;
    }
    const buffer = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    // A native search for one byte (memchr) costs less than a loop over the read.
    if (buffer.indexOf(CR) !== -1) {
      // Rare line ends: the event-by-event reader takes over from the first unrelayed byte.
      this.eventByEvent = new OpenAIEventReader(this.provider, this.finished);
      this.eventByEvent.push(buffer, emit);
      return;
    }
    const { provider } = this;
    let start = 0;
    let usage: StreamPart['usage'];
    // Events the client must not get: the usage chunk it did not ask for, and `[DONE]` (the route ends the stream itself).
    let kept: Buffer[] | undefined;
    let keepFrom = 0;
    for (let end = eventEnd(buffer, start); end !== -1; end = eventEnd(buffer, start)) {
      const stop = end + 2;
      const dataAt = dataStart(buffer, start, end);
      let dropped = false;
      if (dataAt !== -1 && buffer[dataAt] === OPEN_BRACE) {
        if (startsWith(buffer, errorData, dataAt)) throw streamError(eventData(buffer, start, stop), provider);
        findKeys(buffer, dataAt, end);
        if (!this.finished && foundFinish !== -1 && valueStartsWith(buffer, foundFinish + finishKey.length, end, QUOTE)) this.finished = true;
        if (foundUsage !== -1 && valueStartsWith(buffer, foundUsage + usageKey.length, end, OPEN_BRACE)) {
          const chunk = readUsageChunk(eventData(buffer, start, stop));
          usage = chunk.usage ?? usage;
          dropped = !this.clientWantsUsage && chunk.usageOnly;
        }
      } else if (dataAt !== -1 && startsWith(buffer, done, dataAt)) {
        this.finished = true;
        dropped = true;
      }
      if (startsWith(buffer, errorEvent, start)) {
        const named = parseEvent(buffer, start, stop);
        if (named?.event === 'error' && named.data.includes('"error"')) throw streamError(named.data, provider);
      }
      if (dropped) {
        (kept ??= []).push(buffer.subarray(keepFrom, start));
        keepFrom = stop;
      }
      start = stop;
    }
    this.pending = start < buffer.length ? buffer.subarray(start) : undefined;
    if (start === 0) return;
    let raw: Buffer;
    if (kept === undefined) raw = buffer.subarray(0, start);
    else {
      kept.push(buffer.subarray(keepFrom, start));
      raw = Buffer.concat(kept);
    }
    emit(usage === undefined ? { data: '', raw } : { data: '', raw, usage });
  }

  end(): void {
    if (this.eventByEvent !== undefined) this.eventByEvent.end();
    else if (!this.finished) throw streamCut(this.provider);
  }
}

/** Where the blank line that ends the next event starts (its first `\n`), else -1. */
function eventEnd(buffer: Buffer, from: number): number {
  for (let at = buffer.indexOf(LF, from); at !== -1 && at + 1 < buffer.length; at = buffer.indexOf(LF, at + 1)) {
    if (buffer[at + 1] === LF) return at;
  }
  return -1;
}

/** Where the value of an event's first `data:` line starts, else -1. */
function dataStart(buffer: Buffer, start: number, end: number): number {
  let at = start;
  if (!startsWith(buffer, dataField, start)) {
    const line = indexIn(buffer, dataLine, start, end);
    if (line === -1) return -1;
    at = line + 1;
  }
  return buffer[at + 5] === 0x20 ? at + 6 : at + 5;
}

// The searches for several bytes below are plain loops, not Buffer#indexOf or #compare: an event is
// a few hundred bytes, and at that size the native call costs more than the search (measured: ~2×
// for a 7-byte key in a 190-byte event). A search for one byte is native (memchr): ~6× faster.

function startsWith(buffer: Buffer, prefix: Buffer, at: number): boolean {
  if (at + prefix.length > buffer.length) return false;
  for (let index = 0; index < prefix.length; index++) if (buffer[at + index] !== prefix[index]) return false;
  return true;
}

/** The first index of `needle` that lies wholly within [from, end), else -1. */
function indexIn(buffer: Buffer, needle: Buffer, from: number, end: number): number {
  const first = needle[0];
  const last = end - needle.length;
  search: for (let index = from; index <= last; index++) {
    if (buffer[index] !== first) continue;
    for (let offset = 1; offset < needle.length; offset++) if (buffer[index + offset] !== needle[offset]) continue search;
    return index;
  }
  return -1;
}

/** One event, parsed by the generic parser (its `data:` lines joined, its name). */
function parseEvent(buffer: Buffer, start: number, stop: number): SseEvent | undefined {
  return new SseParser().push(buffer.subarray(start, stop))[0];
}

/** The data of one event. */
function eventData(buffer: Buffer, start: number, stop: number): string {
  return parseEvent(buffer, start, stop)?.data ?? '';
}

const F = 0x66;
const U = 0x75;
/** Where `findKeys` found the event's first `"finish_reason"` and `"usage"` (-1: absent); read right after the call. */
let foundFinish = -1;
let foundUsage = -1;

/**
 * Finds both keys in one pass over the event's bytes (it searched once per key): every `"` is
 * looked at, and only one followed by `f` or `u` is compared with a key.
 */
function findKeys(buffer: Buffer, from: number, end: number): void {
  foundFinish = -1;
  foundUsage = -1;
  const last = end - usageKey.length;
  for (let index = from; index <= last; index++) {
    if (buffer[index] !== QUOTE) continue;
    const next = buffer[index + 1];
    if (next === F) {
      if (foundFinish === -1 && index + finishKey.length <= end && startsWith(buffer, finishKey, index)) {
        foundFinish = index;
        if (foundUsage !== -1) return;
      }
    } else if (next === U && foundUsage === -1 && startsWith(buffer, usageKey, index)) {
      foundUsage = index;
      if (foundFinish !== -1) return;
    }
  }
}

/** Whether the bytes after a key (`:` and spaces, which may include line ends before the `:`) open a value that starts with `first`. */
function valueStartsWith(buffer: Buffer, afterKey: number, end: number, first: number): boolean {
  let index = afterKey;
  while (index < end && (buffer[index] === 0x20 || buffer[index] === LF || buffer[index] === 0x09)) index++;
  if (buffer[index] !== 0x3a /* : */) return false;
  index++;
  while (index < end && (buffer[index] === 0x20 || buffer[index] === 0x09)) index++;
  return index < end && buffer[index] === first;
}
