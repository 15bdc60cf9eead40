/**
 * Remembers the thought signatures Gemini put on the function calls it answered, by the tool-call id
 * the relay gave each call, so that the next turn (which the client sends back with only the id) can
 * carry the signature again. Gemini 3 rejects a replayed function call without its signature; OpenAI's
 * format has no field for it, so the relay keeps it. Bounded: the oldest entries go first, and a
 * forgotten signature (another replica, a restart) falls back to the documented placeholder.
 * @see https://ai.google.dev/gemini-api/docs/thought-signatures
 */
export class ThoughtSignatureCache {
  private readonly signatures = new Map<string, string>();

  constructor(private readonly capacity = 2000) {}

  remember(toolCallId: string, signature: string): void {
    this.signatures.delete(toolCallId);
    this.signatures.set(toolCallId, signature);
    while (this.signatures.size > this.capacity) {
      const oldest = this.signatures.keys().next().value;
      if (oldest === undefined) break;
      this.signatures.delete(oldest);
    }
  }

  recall(toolCallId: string): string | undefined {
    return this.signatures.get(toolCallId);
  }
}
