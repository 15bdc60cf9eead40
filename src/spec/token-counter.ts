import type { Tiktoken } from 'js-tiktoken/lite';

let encoder: Promise<Tiktoken> | undefined;

/**
 * The longest run of letters, or of symbols that are neither letters, digits nor spaces, given to
 * the encoder. Each such run is one piece of cl100k_base's pre-tokenisation, and js-tiktoken's
 * merges take time quadratic in a piece's length: ~15 ms for 256 letters here, a minute for 20 000
 * — a base64 image's long runs of `A`, or a model's degenerate "aaaa…" answer, would stop the event
 * loop for minutes. Longer runs are counted as 2 tokens for every 3 characters instead (about what
 * the encoder gives random letters, as in base64: 0.64 a character; more than it gives a repeated one).
 */
const longestPiece = 64;
const longRuns = new RegExp(`\\p{L}{${longestPiece + 1},}|[^\\s\\p{L}\\p{N}]{${longestPiece + 1},}`, 'gu');

/**
 * A token counter for when no upstream count exists: `/v1/messages/count_tokens`, and streams cut
 * before their usage arrived. It loads on first use (about a second): its ranks are megabytes that a
 * relay which never counts should not pay for at start. cl100k_base rather than o200k_base for half
 * the load time: neither is every vendor's tokenizer, so these are estimates either way.
 */
export async function tokenCounter(): Promise<(text: string) => number> {
  encoder ??= Promise.all([import('js-tiktoken/lite'), import('js-tiktoken/ranks/cl100k_base')]).then(([lite, ranks]) => new lite.Tiktoken(ranks.default));
  const loaded = await encoder;
  // Special-token text such as "<|endoftext|>" is counted as plain text instead of being refused.
  const encoded = (text: string) => (text === '' ? 0 : loaded.encode(text, [], []).length);
  return (text) => {
    let tokens = 0;
    let from = 0;
    for (const run of text.matchAll(longRuns)) {
      tokens += encoded(text.slice(from, run.index)) + Math.ceil((run[0].length * 2) / 3);
      from = run.index + run[0].length;
    }
    return tokens + encoded(from === 0 ? text : text.slice(from));
  };
}
