import type { ResponsesInputItem, ResponsesOutputItem } from '../../spec/openai-responses.js';

interface Kept {
  principalId: string;
  item: ResponsesInputItem;
  bytes: number;
  expiresAt: number;
}

/**
 * The items of the relay's recent `/v1/responses` answers, by id, so that a client may send an
 * `item_reference` instead of the item (the Vercel AI SDK does for the earlier steps of a
 * conversation unless `store` is false). Kept in memory for `ttlMs`, at most `maxBytes` of them
 * (the oldest go first), and only for the key that got them. Each replica keeps its own: behind
 * several replicas, clients send whole items (`store: false`) or stick to one replica.
 */
export class AnsweredItems {
  private readonly items = new Map<string, Kept>();
  private bytes = 0;

  constructor(
    private readonly ttlMs = 3_600_000,
    private readonly maxBytes = 32 * 1024 * 1024,
    private readonly now: () => number = Date.now,
  ) {}

  /** Keeps the items of one answer, in the shape a client would send them back. */
  keep(principalId: string, output: readonly ResponsesOutputItem[]): void {
    const expiresAt = this.now() + this.ttlMs;
    for (const item of output) {
      const input: ResponsesInputItem =
        item.type === 'function_call'
          ? { type: 'function_call', call_id: item.call_id, name: item.name, arguments: item.arguments }
          : { type: 'message', role: 'assistant', content: item.content };
      // Counted as UTF-16 code units: a bound, not an exact size.
      const bytes = 2 * (item.type === 'function_call' ? item.arguments.length + item.name.length : item.content.reduce((sum, part) => sum + ('text' in part ? part.text.length : part.refusal.length), 0)) + 200;
      this.remove(item.id);
      this.items.set(item.id, { principalId, item: input, bytes, expiresAt });
      this.bytes += bytes;
    }
    this.evict();
  }

  /** The item with this id, if this key got it and it has not expired. */
  find(principalId: string, id: string): ResponsesInputItem | undefined {
    const kept = this.items.get(id);
    if (kept === undefined || kept.principalId !== principalId) return undefined;
    if (kept.expiresAt <= this.now()) {
      this.remove(id);
      return undefined;
    }
    return kept.item;
  }

  get size(): number {
    return this.items.size;
  }

  private remove(id: string): void {
    const kept = this.items.get(id);
    if (kept === undefined) return;
    this.items.delete(id);
    this.bytes -= kept.bytes;
  }

  /** Drops expired items and, past the byte bound, the oldest (a Map iterates in insertion order). */
  private evict(): void {
    const now = this.now();
    for (const [id, kept] of this.items) {
      if (kept.expiresAt > now && this.bytes <= this.maxBytes) break;
      this.remove(id);
    }
  }
}
