import { chunkText } from '../providers/openai-compatible/chunk-text.js';

/** Characters of chunk JSON kept as it came before it is reduced to the text it carries. */
export const deliveredPartsLimit = 64 * 1024;

/**
 * What a stream delivered to its client while no usage had arrived, to count a stream cut short
 * (or an upstream that reports no usage) for what was delivered.
 *
 * A relayed upstream stream hands over the text its events carried, found while its bytes were
 * searched for usage (`addText`): a few bytes a chunk, and no copy of the events. A translated
 * stream's chunks (their JSON text) are kept as they came (`add`), since usage nearly always arrives
 * at the end and they are then dropped unread; once they come to `deliveredPartsLimit` characters
 * they are reduced to their text, so a long stream keeps its text, not its whole envelope.
 */
export class DeliveredText {
  private parts: string[] = [];
  private partsLength = 0;
  private reduced = '';
  /** Pieces added to `reduced` since it was last made one string, and how many may be before it is again. */
  private pieces = 0;
  private piecesBeforeFlattening = 8;

  /** One chunk's JSON text. */
  add(chunkJson: string): void {
    this.parts.push(chunkJson);
    this.partsLength += chunkJson.length;
    if (this.partsLength >= deliveredPartsLimit) this.reduce();
  }

  /** Text already read from what was delivered. */
  addText(text: string): void {
    if (this.parts.length > 0) this.reduce();
    this.append(text);
  }

  /** Characters held: chunks not yet reduced, and the text read so far. */
  get heldLength(): number {
    return this.partsLength + this.reduced.length;
  }

  /** The text delivered so far (asking twice gives the same text). */
  text(): string {
    if (this.parts.length > 0) this.reduce();
    return this.reduced;
  }

  private reduce(): void {
    for (const part of this.parts) this.append(chunkText(part));
    this.parts = [];
    this.partsLength = 0;
  }

  /**
   * V8 keeps the result of each `+=` as a node pointing at its two halves (~50 bytes a piece: a
   * 20-chunk stream's 75 characters took ~1 KB); reading a character of the result copies it into
   * one string in place, and the pieces go. Made one string every 8 pieces, or every 1/64 of its
   * length in pieces once longer: the pieces waiting take at most about the text's own size, and
   * the copies add up to ~16× it for pieces of a few characters (~1 MB over a 64 KB answer).
   */
  private append(text: string): void {
    this.reduced += text;
    if (++this.pieces < this.piecesBeforeFlattening) return;
    this.reduced.charCodeAt(0);
    this.pieces = 0;
    this.piecesBeforeFlattening = Math.max(8, this.reduced.length >>> 6);
  }
}
