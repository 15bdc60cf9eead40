import type { ResponsesInputItem, ResponsesOutputItem } from '../../spec/openai-responses.js';
import type { ResponseItemStore } from '../../store/relay-store.js';

interface Kept {
  principalId: string;
  item: ResponsesInputItem;
  bytes: number;
  expiresAt: number;
}

/** What is told when the store cannot keep or find items (the answer itself goes on). */
export type ItemStoreFailure = (action: 'keep' | 'find', error: unknown) => void;

/** Expired items are deleted from the store at most this often. */
const pruneEveryMs = 600_000;

/** An output item in the shape a client sends it back. */
function asInput(item: ResponsesOutputItem): ResponsesInputItem {
  switch (item.type) {
    case 'function_call':
      return { type: 'function_call', call_id: item.call_id, name: item.name, arguments: item.arguments };
    case 'custom_tool_call':
      return { type: 'custom_tool_call', call_id: item.call_id, name: item.name, input: item.input };
    case 'reasoning':
      return { type: 'reasoning', summary: item.summary };
    default:
      return { type: 'message', role: 'assistant', content: item.content };
  }
}

/**
 * The items of the relay's recent translated `/v1/responses` answers, by id, so that a client may
 * send an `item_reference` instead of the item (the Vercel AI SDK does for the earlier steps of a
 * conversation unless `store` is false). Kept for `ttlMs`, only for the key that got them: in
 * memory (at most `maxBytes`, the oldest going first) and, when a store is given, in the store, so
 * that every replica sharing it resolves them. An answer's items are written to the store before
 * its last byte goes out, so a client's next request finds them wherever it lands.
 */
export class AnsweredItems {
  private readonly items = new Map<string, Kept>();
  private bytes = 0;
  private prunedAt: number;

  constructor(
    private readonly store: ResponseItemStore | undefined,
    private readonly onStoreFailure: ItemStoreFailure = () => {},
    private readonly ttlMs = 3_600_000,
    private readonly maxBytes = 32 * 1024 * 1024,
    private readonly now: () => number = Date.now,
  ) {
    this.prunedAt = now();
  }

  /** Keeps the items of one answer. Resolves once the store has them (or failed to take them). */
  async keep(principalId: string, output: readonly ResponsesOutputItem[]): Promise<void> {
    if (output.length === 0) return;
    const now = this.now();
    const expiresAt = now + this.ttlMs;
    for (const item of output) this.remember(item.id, principalId, asInput(item), expiresAt);
    this.evict(now);
    if (this.store === undefined) return;
    try {
      await this.store.put(output.map((item) => ({ id: item.id, principalId, item: JSON.stringify(asInput(item)), expiresAt })));
      if (now - this.prunedAt >= pruneEveryMs) {
        this.prunedAt = now;
        await this.store.prune(now);
      }
    } catch (error) {
      this.onStoreFailure('keep', error);
    }
  }

  /** The items with these ids that this key got and that have not expired: from memory, else from the store. */
  async find(principalId: string, ids: readonly string[]): Promise<Map<string, ResponsesInputItem>> {
    const found = new Map<string, ResponsesInputItem>();
    const missing: string[] = [];
    const now = this.now();
    for (const id of ids) {
      const kept = this.items.get(id);
      if (kept !== undefined && kept.principalId === principalId && kept.expiresAt > now) found.set(id, kept.item);
      else missing.push(id);
    }
    if (missing.length === 0 || this.store === undefined) return found;
    try {
      for (const record of await this.store.find(principalId, missing, now)) {
        const item = JSON.parse(record.item) as ResponsesInputItem;
        found.set(record.id, item);
        this.remember(record.id, principalId, item, record.expiresAt);
      }
    } catch (error) {
      this.onStoreFailure('find', error);
    }
    return found;
  }

  /** Items held in memory. */
  get size(): number {
    return this.items.size;
  }

  private remember(id: string, principalId: string, item: ResponsesInputItem, expiresAt: number): void {
    // Counted as UTF-16 code units of the item's text and arguments, plus a fixed overhead: a bound, not an exact size.
    const text = item.type === 'message' ? JSON.stringify(item.content ?? '') : item.type === 'reasoning' ? JSON.stringify(item.summary ?? '') : `${item.name ?? ''}${item.arguments ?? ''}${item.input ?? ''}`;
    const bytes = 2 * text.length + 200;
    this.remove(id);
    this.items.set(id, { principalId, item, bytes, expiresAt });
    this.bytes += bytes;
  }

  private remove(id: string): void {
    const kept = this.items.get(id);
    if (kept === undefined) return;
    this.items.delete(id);
    this.bytes -= kept.bytes;
  }

  /** Drops expired items and, past the byte bound, the oldest (a Map iterates in insertion order). */
  private evict(now: number): void {
    for (const [id, kept] of this.items) {
      if (kept.expiresAt > now && this.bytes <= this.maxBytes) break;
      this.remove(id);
    }
  }
}
