import type { RequestEndEvent } from './relay-events.js';

/** Where lines go: pino's destination (sonic-boom on standard output) or any writable. */
export interface LineSink {
  write(text: string): unknown;
}

/**
 * The one line written for every request, in the same JSON shape as the relay's pino lines
 * (`{"level":"info","time":…,"service":"relay",…,"msg":"request"}`), built directly from the
 * relay's own fields instead of through pino's generic serializer: it is the one log line on the
 * hot path, and pino's object walk, timestamp and per-line write showed in the profile. No field
 * can hold a secret (names, ids, counts, timings), so no redaction is needed.
 *
 * Lines of one turn of the event loop leave together in one write at the end of that turn; `flush`
 * writes what is waiting (the server calls it when it closes).
 */
export class AccessLog {
  private pending = '';
  private scheduled = false;
  private lastTimeMs = -1;
  private lastTime = '';

  constructor(
    private readonly sink: LineSink,
    private readonly enabled: () => boolean,
    /** Base fields of every line, as JSON members with a leading comma (`,"service":"relay"`). */
    private readonly base = ',"service":"relay"',
  ) {}

  /**
   * Writes the line of a request from its end event, in this order (undefined fields left out):
   * requestId, ledgerId (when the client chose the request id), method, path, keyName, model,
   * provider, status, errorCode, stream, attempts, promptTokens, completionTokens, durationMs (two
   * decimals), clientAborted (only when true).
   */
  write(end: RequestEndEvent, method: string, path: string, ledgerId: string | undefined): void {
    if (!this.enabled()) return;
    let text = `{"level":"info","time":"${this.isoTime()}"${this.base},"requestId":${JSON.stringify(end.requestId)}`;
    if (ledgerId !== undefined) text += `,"ledgerId":${JSON.stringify(ledgerId)}`;
    text += `,"method":${quoted(method)},"path":${quoted(path)}`;
    if (end.principalName !== undefined) text += `,"keyName":${quoted(end.principalName)}`;
    if (end.model !== undefined) text += `,"model":${quoted(end.model)}`;
    if (end.provider !== undefined) text += `,"provider":${quoted(end.provider)}`;
    text += `,"status":${number(end.status)}`;
    if (end.errorCode !== undefined) text += `,"errorCode":${quoted(end.errorCode)}`;
    text += `,"stream":${end.stream},"attempts":${number(end.attempts)}`;
    if (end.usage !== undefined) text += `,"promptTokens":${number(end.usage.prompt_tokens)},"completionTokens":${number(end.usage.completion_tokens)}`;
    text += `,"durationMs":${number(Math.round(end.durationMs * 100) / 100)}`;
    if (end.clientAborted) text += ',"clientAborted":true';
    this.pending += `${text},"msg":"request"}\n`;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushScheduled);
    }
  }

  /** Writes the lines waiting for the end of this turn now. */
  flush(): void {
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.sink.write(text);
  }

  private readonly flushScheduled = (): void => {
    this.scheduled = false;
    this.flush();
  };

  /** The ISO time of now, formatted once per millisecond however many lines share it. */
  private isoTime(): string {
    const now = Date.now();
    if (now !== this.lastTimeMs) {
      this.lastTimeMs = now;
      this.lastTime = isoTimeOf(now);
    }
    return this.lastTime;
  }
}

let minuteOfPrefix = Number.NaN;
let minutePrefix = '';
const twoDigits = Array.from({ length: 60 }, (_, value) => String(value).padStart(2, '0'));
const threeDigits = Array.from({ length: 1000 }, (_, value) => String(value).padStart(3, '0'));

/**
 * `new Date(ms).toISOString()`, with the part up to the minute (`2026-11-26T18:07:`) formatted once
 * per minute and the seconds and milliseconds from tables: ~45 ns against ~450 ns for a date
 * formatted whole, which a line paid whenever the millisecond had changed (at low request rates,
 * every line). JavaScript time has no leap seconds: every minute is 60 000 ms from the epoch.
 */
export function isoTimeOf(ms: number): string {
  const minute = Math.floor(ms / 60_000);
  if (minute !== minuteOfPrefix) {
    minuteOfPrefix = minute;
    minutePrefix = new Date(minute * 60_000).toISOString().slice(0, 17);
  }
  const inMinute = ms - minute * 60_000;
  const seconds = Math.floor(inMinute / 1000);
  return `${minutePrefix}${twoDigits[seconds]!}.${threeDigits[inMinute - seconds * 1000]!}Z`;
}

/**
 * Values that repeat from line to line (methods, routes, key, model and provider names, error
 * codes) as JSON strings, encoded once each rather than on every line. Bounded: a client that sends
 * many model names costs a clear now and then, never unbounded memory.
 */
const quotedValues = new Map<string, string>();

function quoted(value: string): string {
  let json = quotedValues.get(value);
  if (json === undefined) {
    json = JSON.stringify(value);
    if (quotedValues.size >= 1_000) quotedValues.clear();
    quotedValues.set(value, json);
  }
  return json;
}

/** A number as JSON (a non-finite one, which JSON cannot hold, as null). */
function number(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}
