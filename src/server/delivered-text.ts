import { SseParser } from '../sse/sse-parser.js';

/** Bytes of relayed parts kept as they came before they are reduced to the text they carry. */
export const deliveredPartsLimit = 64 * 1024;

/**
 * What a stream delivered to its client while no usage had arrived, to count a stream cut short
 * (or an upstream that reports no usage) for what was delivered.
 *
 * Parts are kept as they came — a chunk's JSON text, or the upstream's own SSE bytes, not decoded
 * — since usage nearly always arrives at the end and they are then dropped unread. Once they hold
 * `deliveredPartsLimit` bytes, they are reduced to the text they carry (content, refusals,
 * tool-call names and arguments, a few bytes per chunk): a long stream keeps its text, not its
 * whole SSE envelope.
 */
export class DeliveredText {
  private parts: Array<string | Buffer> = [];
  private bytes = 0;
  private reduced = '';
  /** Reads relayed SSE bytes; it carries an event cut between two parts over to the next. */
  private readonly parser = new SseParser();

  add(part: string | Buffer): void {
    this.parts.push(part);
    this.bytes += part.length;
    if (this.bytes >= deliveredPartsLimit) this.reduce();
  }

  /** Bytes held: parts not yet reduced, and the text of those that were. */
  get heldBytes(): number {
    return this.bytes + this.reduced.length;
  }

  /** The text delivered so far (the parts kept are reduced to it: asking twice gives the same text). */
  text(): string {
    if (this.parts.length > 0) this.reduce();
    return this.reduced;
  }

  private reduce(): void {
    this.reduced += textOf(this.parts, this.parser);
    this.parts = [];
    this.bytes = 0;
  }
}

/** Chunk JSON texts: a chunk's JSON as it is, relayed SSE bytes split into their events' data. */
function* chunkTexts(parts: ReadonlyArray<string | Buffer>, parser: SseParser): Generator<string> {
  for (const part of parts) {
    if (typeof part === 'string') yield part;
    else for (const event of parser.push(part)) yield event.data;
  }
}

/** The text relayed chat chunks carried: content, refusals and tool-call names and arguments. */
function textOf(parts: ReadonlyArray<string | Buffer>, parser: SseParser): string {
  let text = '';
  for (const part of chunkTexts(parts, parser)) {
    try {
      const chunk = JSON.parse(part) as { choices?: Array<{ delta?: { content?: unknown; refusal?: unknown; tool_calls?: Array<{ function?: { name?: unknown; arguments?: unknown } }> } }> };
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
