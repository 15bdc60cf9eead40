/** The fields of one access line, in the order they are written; undefined fields are left out. */
export interface AccessLine {
  requestId: string;
  /** The ledger's id for this request, when the client chose the request id. */
  ledgerId: string | undefined;
  method: string;
  path: string;
  keyName: string | undefined;
  model: string | undefined;
  provider: string | undefined;
  status: number;
  errorCode: string | undefined;
  stream: boolean;
  attempts: number;
  promptTokens: number | undefined;
  completionTokens: number | undefined;
  durationMs: number;
  clientAborted: true | undefined;
}

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

  write(line: AccessLine): void {
    if (!this.enabled()) return;
    let text = `{"level":"info","time":"${this.isoTime()}"${this.base},"requestId":${JSON.stringify(line.requestId)}`;
    if (line.ledgerId !== undefined) text += `,"ledgerId":${JSON.stringify(line.ledgerId)}`;
    text += `,"method":${JSON.stringify(line.method)},"path":${JSON.stringify(line.path)}`;
    if (line.keyName !== undefined) text += `,"keyName":${JSON.stringify(line.keyName)}`;
    if (line.model !== undefined) text += `,"model":${JSON.stringify(line.model)}`;
    if (line.provider !== undefined) text += `,"provider":${JSON.stringify(line.provider)}`;
    text += `,"status":${number(line.status)}`;
    if (line.errorCode !== undefined) text += `,"errorCode":${JSON.stringify(line.errorCode)}`;
    text += `,"stream":${line.stream},"attempts":${number(line.attempts)}`;
    if (line.promptTokens !== undefined) text += `,"promptTokens":${number(line.promptTokens)}`;
    if (line.completionTokens !== undefined) text += `,"completionTokens":${number(line.completionTokens)}`;
    text += `,"durationMs":${number(line.durationMs)}`;
    if (line.clientAborted === true) text += ',"clientAborted":true';
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
      this.lastTime = new Date(now).toISOString();
    }
    return this.lastTime;
  }
}

/** A number as JSON (a non-finite one, which JSON cannot hold, as null). */
function number(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}
