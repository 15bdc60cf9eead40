import { eventTooLarge, maxEventBytes } from './event-size-limit.js';
import { SseParser, type SseEvent } from './sse-parser.js';

/** What a stream's body held up to its first event: the bytes read (that event's end included), and the event. */
export interface FirstEvent {
  bytes: Buffer;
  event: SseEvent;
}

/**
 * Reads an upstream's SSE body up to the end of its first event with data, which is where its
 * answer starts: comments (an upstream's keep-alives, such as OpenRouter's `: OPENROUTER
 * PROCESSING`) and events without data before it are not, and a stream is not committed to the
 * client on them. Returns the bytes read in one piece, to be relayed as they came (the comments
 * with them), or undefined when the body ends first. Holds at most `maxEventBytes` (comments
 * included); past that, or on any failure, the body is closed (its upstream call aborted) and the
 * failure thrown.
 */
export async function readFirstEvent(chunks: AsyncIterator<Buffer>, provider: string): Promise<FirstEvent | undefined> {
  const parser = new SseParser(provider);
  const pieces: Buffer[] = [];
  let bytes = 0;
  try {
    for (;;) {
      const next = await chunks.next();
      if (next.done === true) return undefined;
      pieces.push(next.value);
      bytes += next.value.length;
      const event = parser.push(next.value)[0];
      if (event !== undefined) return { bytes: pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, bytes), event };
      if (bytes > maxEventBytes) throw eventTooLarge(provider);
    }
  } catch (error) {
    await chunks.return?.();
    throw error;
  }
}
