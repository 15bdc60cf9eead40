import { SseParser, type SseEvent } from '../../sse/sse-parser.js';
import type { StreamPart } from '../provider.js';
import type { StreamReader } from '../post-upstream.js';
import { eventTooLarge, maxEventBytes } from '../../sse/event-size-limit.js';
import { chunkText } from './chunk-text.js';
import { streamCut } from '../upstream-failure.js';
import { OpenAIEventReader, readUsageChunk, streamError } from './read-openai-stream.js';

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const D = 0x64;
const dataField = Buffer.from('data:');
const dataLine = Buffer.from('\ndata:');
const errorData = Buffer.from('{"error"');
const done = Buffer.from('[DONE]');
const errorEvent = Buffer.from('event:');
const finishKey = Buffer.from('"finish_reason"');
const usageKey = Buffer.from('"usage"');
// The keys whose string values carry a delta's text, and those of the objects they sit in.
const contentKey = Buffer.from('"content"');
const refusalKey = Buffer.from('"refusal"');
const reasoningContentKey = Buffer.from('"reasoning_content"');
const reasoningKey = Buffer.from('"reasoning"');
const nameKey = Buffer.from('"name"');
const argumentsKey = Buffer.from('"arguments"');
const deltaKey = Buffer.from('"delta"');
const functionKey = Buffer.from('"function"');
const functionCallKey = Buffer.from('"function_call"');

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
 *
 * `[DONE]` is the stream's end: `push` says so, and nothing after it is read. Comments (an
 * upstream's keep-alive, such as OpenRouter's `: OPENROUTER PROCESSING`) and events without data
 * that come before the first data event are dropped: the first part is what commits the stream to
 * the client, and they are not the answer's start. After it they are relayed as they came. An event
 * whose end does not come is held as the pieces of the reads that brought it, joined once it ends,
 * and given up (the stream fails) once they pass `maxEventBytes`.
 */
export class OpenAIRawEventReader implements StreamReader {
  /** The start of an event whose end has not come: one piece, or (`pendingPieces`) several, and their bytes. */
  private pending: Buffer | undefined;
  private pendingPieces: Buffer[] | undefined;
  private pendingBytes = 0;
  private finished = false;
  /** A data event came: the stream has started, and comments are relayed from here on. */
  private started = false;
  private eventByEvent: OpenAIEventReader | undefined;

  constructor(
    private readonly provider: string,
    private readonly clientWantsUsage: boolean,
  ) {}

  push(chunk: Buffer, emit: (part: StreamPart) => void): boolean {
    if (this.eventByEvent !== undefined) return this.eventByEvent.push(chunk, emit);
    // A native search for one byte (memchr) costs less than a loop over the read. Only the new bytes
    // are searched: those held were, when they came.
    if (chunk.indexOf(CR) !== -1) {
      // Rare line ends: the event-by-event reader takes over from the first unrelayed byte.
      this.eventByEvent = new OpenAIEventReader(this.provider, this.finished);
      return this.eventByEvent.push(this.joinPending(chunk), emit);
    }
    let buffer = chunk;
    let end: number;
    if (this.pending === undefined) end = eventEnd(chunk, 0);
    else {
      // The bytes held end no event: the new ones are searched for its end (its blank line may
      // start in the last byte held), and the pieces are joined once, when it came.
      const held = this.pendingBytes;
      const last = this.pendingPieces === undefined ? this.pending : this.pendingPieces[this.pendingPieces.length - 1]!;
      if (last[last.length - 1] === LF && chunk[0] === LF) end = held - 1;
      else {
        end = eventEnd(chunk, 0);
        if (end === -1) {
          this.hold(chunk);
          return false;
        }
        end += held;
      }
      buffer = this.joinPending(chunk);
    }
    const { provider } = this;
    let start = 0;
    let usage: StreamPart['usage'];
    let text = '';
    let ended = false;
    // Events the client must not get: the usage chunk it did not ask for, `[DONE]` (the route ends
    // the stream itself), and comments before the first chunk.
    let kept: Buffer[] | undefined;
    let keepFrom = 0;
    for (; end !== -1; end = eventEnd(buffer, start)) {
      const stop = end + 2;
      const dataAt = dataStart(buffer, start, end);
      let dropped = false;
      if (dataAt === -1) dropped = !this.started;
      else if (buffer[dataAt] === OPEN_BRACE) {
        this.started = true;
        if (startsWith(buffer, errorData, dataAt)) throw streamError(eventData(buffer, start, stop), provider);
        scanEvent(buffer, dataAt, end);
        text += foundLineBreak ? chunkText(eventData(buffer, start, stop)) : foundText;
        if (!this.finished && foundFinish !== -1 && buffer[foundFinish] === QUOTE) this.finished = true;
        if (foundUsage !== -1 && buffer[foundUsage] === OPEN_BRACE) {
          const chunk = readUsageChunk(eventData(buffer, start, stop));
          usage = chunk.usage ?? usage;
          dropped = !this.clientWantsUsage && chunk.usageOnly;
        }
      } else if (startsWith(buffer, done, dataAt)) {
        this.finished = true;
        ended = true;
        dropped = true;
      } else this.started = true;
      if (startsWith(buffer, errorEvent, start)) {
        const named = parseEvent(buffer, start, stop);
        if (named?.event === 'error' && named.data.includes('"error"')) throw streamError(named.data, provider);
      }
      if (dropped) {
        (kept ??= []).push(buffer.subarray(keepFrom, start));
        keepFrom = stop;
      }
      start = stop;
      // The stream is complete: what the upstream sends after `[DONE]` is not read.
      if (ended) break;
    }
    if (!ended && start < buffer.length) {
      this.pending = buffer.subarray(start);
      this.pendingBytes = buffer.length - start;
      if (this.pendingBytes > maxEventBytes) throw eventTooLarge(provider);
    }
    if (start === 0) return ended;
    let raw: Buffer;
    if (kept === undefined) raw = buffer.subarray(0, start);
    else {
      kept.push(buffer.subarray(keepFrom, start));
      raw = Buffer.concat(kept);
    }
    if (raw.length > 0 || usage !== undefined) emit(usage === undefined ? { data: '', raw, text } : { data: '', raw, text, usage });
    return ended;
  }

  end(): void {
    if (this.eventByEvent !== undefined) this.eventByEvent.end();
    else if (!this.finished) throw streamCut(this.provider, '[DONE]');
  }

  /** Keeps a read that does not end the event held, within `maxEventBytes`. */
  private hold(chunk: Buffer): void {
    (this.pendingPieces ??= [this.pending!]).push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes > maxEventBytes) throw eventTooLarge(this.provider);
  }

  /** The bytes held followed by `chunk`, in one buffer; nothing is held after. */
  private joinPending(chunk: Buffer): Buffer {
    const pending = this.pending;
    if (pending === undefined) return chunk;
    const pieces = this.pendingPieces;
    const joined = pieces === undefined ? Buffer.concat([pending, chunk]) : Buffer.concat([...pieces, chunk], this.pendingBytes + chunk.length);
    this.pending = undefined;
    this.pendingPieces = undefined;
    this.pendingBytes = 0;
    return joined;
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
const BACKSLASH = 0x5c;

/** What `scanEvent` found, read right after the call: where the values of the event's first `"finish_reason"` and `"usage"` keys start (-1: absent), */
let foundFinish = -1;
let foundUsage = -1;
/** the text its deltas' content, refusal and reasoning (`reasoning_content`, else `reasoning`) strings and its tool calls' (and legacy function call's) names and arguments carried, */
let foundText = '';
/**
 * In the delta being read: whether it had a `"reasoning_content"` string, and where the text of its
 * `"reasoning"` string sits in `foundText` (-1: none) — a server that sends both sends the same text
 * twice, and `reasoning_content` is the one counted, whichever comes first.
 */
let deltaHasReasoningContent = false;
let deltaReasoningStart = -1;
let deltaReasoningEnd = -1;
/** and whether its data crossed a line (several `data:` lines, or a field after it): its text is then read by parsing the event. */
let foundLineBreak = false;
/** Set by `stringEnd` when the string holds an escape. */
let sawEscape = false;

/** What the objects and arrays that enclose a point of the event are: the value of `"delta"`, of `"function"`, or another. */
const OTHER = 0;
const DELTA = 1;
const FUNCTION = 2;
const enclosing = new Uint8Array(64);

/**
 * One pass over an event's data: each string is walked to its closing quote (so text inside a
 * string is never taken for a key), and only one that opens with the first byte of a key of
 * interest is compared with it. The objects met are followed, so that a delta's `"content"`,
 * `"refusal"` and `"reasoning_content"` (else `"reasoning"`) strings and a function's (a tool call's
 * `"function"`, a delta's legacy `"function_call"`) `"name"` and `"arguments"` strings are decoded into `foundText` — a few bytes a chunk, kept to count a stream cut short without keeping its events —
 * and the same keys elsewhere are not.
 */
function scanEvent(buffer: Buffer, from: number, end: number): void {
  foundFinish = -1;
  foundUsage = -1;
  foundText = '';
  foundLineBreak = false;
  deltaHasReasoningContent = false;
  deltaReasoningStart = -1;
  let depth = 0;
  // What the next `{` opens: set by a `"delta"` or `"function"` key, cleared by any other string or container.
  let opens = OTHER;
  let index = from;
  while (index < end) {
    const byte = buffer[index];
    if (byte !== QUOTE) {
      if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        if (depth < enclosing.length) enclosing[depth] = byte === OPEN_BRACE ? opens : OTHER;
        if (byte === OPEN_BRACE && opens === DELTA) {
          deltaHasReasoningContent = false;
          deltaReasoningStart = -1;
        }
        depth++;
        opens = OTHER;
      } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        depth--;
        opens = OTHER;
      } else if (byte === LF) foundLineBreak = true;
      index++;
      continue;
    }
    const close = stringEnd(buffer, index + 1, end);
    if (close === -1) return;
    const next = buffer[index + 1]!;
    const inside = depth > 0 && depth <= enclosing.length ? enclosing[depth - 1] : OTHER;
    opens = OTHER;
    let value = -1;
    let reasoning: 'reasoning_content' | 'reasoning' | undefined;
    if (next === F) {
      const finish = foundFinish === -1 ? keyValueAt(buffer, finishKey, index, close, end) : -1;
      if (finish !== -1) foundFinish = finish;
      else if (keyValueAt(buffer, functionKey, index, close, end) !== -1 || (inside === DELTA && keyValueAt(buffer, functionCallKey, index, close, end) !== -1)) opens = FUNCTION;
    } else if (next === U) {
      if (foundUsage === -1) foundUsage = keyValueAt(buffer, usageKey, index, close, end);
    } else if (next === D) {
      if (keyValueAt(buffer, deltaKey, index, close, end) !== -1) opens = DELTA;
    } else if (inside === DELTA) {
      value = keyValueAt(buffer, contentKey, index, close, end);
      if (value === -1) value = keyValueAt(buffer, refusalKey, index, close, end);
      if (value === -1) {
        value = keyValueAt(buffer, reasoningContentKey, index, close, end);
        if (value !== -1) reasoning = 'reasoning_content';
        else if ((value = keyValueAt(buffer, reasoningKey, index, close, end)) !== -1) reasoning = 'reasoning';
      }
    } else if (inside === FUNCTION) {
      value = keyValueAt(buffer, nameKey, index, close, end);
      if (value === -1) value = keyValueAt(buffer, argumentsKey, index, close, end);
    }
    if (value !== -1 && buffer[value] === QUOTE) {
      const valueClose = stringEnd(buffer, value + 1, end);
      if (valueClose === -1) return;
      const text = sawEscape ? decodeEscaped(buffer, value, valueClose) : buffer.toString('utf8', value + 1, valueClose);
      if (reasoning === 'reasoning_content') {
        // The same text already counted under `reasoning` leaves.
        if (deltaReasoningStart !== -1) foundText = foundText.slice(0, deltaReasoningStart) + foundText.slice(deltaReasoningEnd);
        deltaReasoningStart = -1;
        deltaHasReasoningContent = true;
      } else if (reasoning === 'reasoning') {
        if (deltaHasReasoningContent) {
          index = valueClose + 1;
          continue;
        }
        deltaReasoningStart = foundText.length;
        deltaReasoningEnd = deltaReasoningStart + text.length;
      }
      foundText += text;
      index = valueClose + 1;
      continue;
    }
    index = close + 1;
  }
}

/** The index of the quote that closes a string whose contents start at `from`, else -1; sets `sawEscape`. */
function stringEnd(buffer: Buffer, from: number, end: number): number {
  sawEscape = false;
  for (let index = from; index < end; index++) {
    const byte = buffer[index];
    if (byte === QUOTE) return index;
    if (byte === BACKSLASH) {
      sawEscape = true;
      index++;
    }
  }
  return -1;
}

/**
 * When the string [open, close] is `key` (quotes included) followed by a colon: where its value
 * starts (past the colon and spaces; line ends may come before the colon), else -1.
 */
function keyValueAt(buffer: Buffer, key: Buffer, open: number, close: number, end: number): number {
  if (close - open + 1 !== key.length || !startsWith(buffer, key, open)) return -1;
  let index = close + 1;
  while (index < end && (buffer[index] === 0x20 || buffer[index] === 0x09 || buffer[index] === LF)) index++;
  if (buffer[index] !== 0x3a /* : */) return -1;
  index++;
  while (index < end && (buffer[index] === 0x20 || buffer[index] === 0x09)) index++;
  return index < end ? index : -1;
}

/** A string with escapes, decoded as JSON decodes it ('' if they are not valid JSON escapes). */
function decodeEscaped(buffer: Buffer, open: number, close: number): string {
  try {
    return JSON.parse(buffer.toString('utf8', open, close + 1)) as string;
  } catch {
    return '';
  }
}
