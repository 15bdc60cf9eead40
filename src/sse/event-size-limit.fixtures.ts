import { maxEventBytes } from './event-size-limit.js';

/**
 * Feeds a reader 1 MB pieces of one event that never ends, up to twice `maxEventBytes`: the failure
 * it threw, and the bytes it had taken without throwing (for a reader bounded by `maxEventBytes`,
 * no more than that).
 */
export function pushPastEventLimit(push: (piece: Buffer) => void): { failure: unknown; pushed: number } {
  const piece = Buffer.alloc(1024 * 1024, 'a');
  let pushed = 0;
  try {
    for (; pushed <= 2 * maxEventBytes; pushed += piece.length) push(piece);
  } catch (failure) {
    return { failure, pushed };
  }
  return { failure: undefined, pushed };
}
