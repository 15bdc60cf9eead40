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

  /** One chunk's JSON text. */
  add(chunkJson: string): void {
    this.parts.push(chunkJson);
    this.partsLength += chunkJson.length;
    if (this.partsLength >= deliveredPartsLimit) this.reduce();
  }

  /** Text already read from what was delivered. */
  addText(text: string): void {
    if (this.parts.length > 0) this.reduce();
    this.reduced += text;
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
    for (const part of this.parts) this.reduced += chunkText(part);
    this.parts = [];
    this.partsLength = 0;
  }
}
