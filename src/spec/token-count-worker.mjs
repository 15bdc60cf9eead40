// @ts-check
// The token counter's thread (`token-counter.ts`): counts texts with cl100k_base off the relay's
// event loop. Plain JavaScript, so that the same file runs from the sources (tests) and from the
// bundle (`scripts/bundle.mjs` copies it next to the chunks).
import { parentPort } from 'node:worker_threads';

/**
 * The longest run of letters, or of symbols that are neither letters, digits nor spaces, given to
 * the encoder. Each such run is one piece of cl100k_base's pre-tokenisation, and js-tiktoken's
 * merges take time quadratic in a piece's length: ~15 ms for 256 letters here, a minute for 20 000
 * (a base64 image's long runs of `A`, a model's degenerate "aaaa…"). Longer runs are counted as 2
 * tokens for every 3 characters instead (about what the encoder gives random letters, as in base64:
 * 0.64 a character; more than it gives a repeated one).
 */
const longestPiece = 64;
const longRuns = new RegExp(`\\p{L}{${longestPiece + 1},}|[^\\s\\p{L}\\p{N}]{${longestPiece + 1},}`, 'gu');

const [{ Tiktoken }, { default: ranks }] = await Promise.all([import('js-tiktoken/lite'), import('js-tiktoken/ranks/cl100k_base')]);
const encoder = new Tiktoken(ranks);

/** @param {string} text */
function encoded(text) {
  // Special-token text such as "<|endoftext|>" is counted as plain text instead of being refused.
  return text === '' ? 0 : encoder.encode(text, [], []).length;
}

/** @param {string} text */
function count(text) {
  let tokens = 0;
  let from = 0;
  for (const run of text.matchAll(longRuns)) {
    const at = /** @type {number} */ (run.index);
    tokens += encoded(text.slice(from, at)) + Math.ceil((run[0].length * 2) / 3);
    from = at + run[0].length;
  }
  return tokens + encoded(from === 0 ? text : text.slice(from));
}

parentPort?.on('message', (/** @type {{ id: number; texts: string[] }} */ { id, texts }) => {
  try {
    parentPort?.postMessage({ id, counts: texts.map(count) });
  } catch (error) {
    parentPort?.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
parentPort?.postMessage({ ready: true });
