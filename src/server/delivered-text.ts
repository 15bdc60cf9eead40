import { SseParser } from '../sse/sse-parser.js';

/** Bytes of relayed parts kept as they came before they are reduced to the text they carry. */
export const deliveredPartsLimit = 64 * 1024;

/** The first buffer's size: a short stream's events fit in it or in one doubling. */
const initialCapacity = 2048;

/**
 * What a stream delivered to its client while no usage had arrived, to count a stream cut short
 * (or an upstream that reports no usage) for what was delivered.
 *
 * Parts are kept as bytes, not decoded — the upstream's own SSE bytes, or a chunk's JSON text
 * framed as one event — since usage nearly always arrives at the end and they are then dropped
 * unread. They are copied into one buffer that grows by doubling: a part kept as it came would keep
 * its Buffer and the socket read it is a view of for the stream's whole life, two objects per read
 * that every young-generation collection of a long stream copies. Once the buffer holds
 * `deliveredPartsLimit` bytes, they are reduced to the text they carry (content, refusals,
 * tool-call names and arguments, a few bytes per chunk): a long stream keeps its text, not its
 * whole SSE envelope.
 */
export class DeliveredText {
  private bytes: Buffer | undefined;
  private used = 0;
  private reduced = '';
  /** Reads the kept bytes when they are reduced; it carries an event cut between two reductions over. */
  private parser: SseParser | undefined;

  add(part: string | Buffer): void {
    if (typeof part === 'string') {
      // A chunk's text on several lines (JSON allows it) becomes one data line each, as SSE frames it.
      const data = part.includes('\n') || part.includes('\r') ? part.replace(lineBreaks, '\ndata: ') : part;
      const at = this.reserve(Buffer.byteLength(data) + eventFrame);
      this.used = at + this.bytes!.write(`data: ${data}\n\n`, at);
    } else {
      const at = this.reserve(part.length);
      this.used = at + part.copy(this.bytes!, at);
    }
    if (this.used >= deliveredPartsLimit) this.reduce();
  }

  /** Bytes held: those not yet reduced, and the text of those that were. */
  get heldBytes(): number {
    return this.used + this.reduced.length;
  }

  /** The text delivered so far (the bytes kept are reduced to it: asking twice gives the same text). */
  text(): string {
    if (this.used > 0) this.reduce();
    return this.reduced;
  }

  /** Room for `length` more bytes; returns where they go. */
  private reserve(length: number): number {
    const { bytes, used } = this;
    if (bytes === undefined) {
      this.bytes = Buffer.allocUnsafeSlow(Math.max(initialCapacity, length));
    } else if (used + length > bytes.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(bytes.length * 2, used + length));
      bytes.copy(grown, 0, 0, used);
      this.bytes = grown;
    }
    return used;
  }

  private reduce(): void {
    // The parser may keep a view of an event cut at the end: the buffer is let go, never reused.
    const kept = this.bytes!.subarray(0, this.used);
    this.bytes = undefined;
    this.used = 0;
    this.reduced += textOf(kept, (this.parser ??= new SseParser()));
  }
}

/** `data: ` and the blank line that frame a chunk's JSON text as an event. */
const eventFrame = 8;
const lineBreaks = /\r\n|\r|\n/g;

/** The text relayed chat chunks carried: content, refusals and tool-call names and arguments. */
function textOf(bytes: Buffer, parser: SseParser): string {
  let text = '';
  for (const event of parser.push(bytes)) {
    try {
      const chunk = JSON.parse(event.data) as { choices?: Array<{ delta?: { content?: unknown; refusal?: unknown; tool_calls?: Array<{ function?: { name?: unknown; arguments?: unknown } }> } }> };
      for (const choice of chunk.choices ?? []) {
        const delta = choice.delta;
        if (typeof delta?.content === 'string') text += delta.content;
        if (typeof delta?.refusal === 'string') text += delta.refusal;
        for (const call of delta?.tool_calls ?? []) {
          if (typeof call.function?.name === 'string') text += call.function.name;
          if (typeof call.function?.arguments === 'string') text += call.function.arguments;
        }
      }
    } catch {
      // A chunk that is not JSON carried no countable text.
    }
  }
  return text;
}
