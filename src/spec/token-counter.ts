import type { Tiktoken } from 'js-tiktoken/lite';

let encoder: Promise<Tiktoken> | undefined;

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
  return (text) => (text === '' ? 0 : loaded.encode(text, [], []).length);
}
