import { RelayError } from '../../spec/relay-error.js';
import type { StoredResponseRecord, StoredResponseStore } from '../../store/relay-store.js';

/** What is told when the store cannot record or be asked. */
export type StoredResponseFailure = (action: 'record' | 'find', error: unknown) => void;

/** OpenAI keeps a stored response 30 days: the relay remembers who got it as long. */
const keepMs = 30 * 24 * 3_600_000;
/** Expired records are deleted from the store at most this often. */
const pruneEveryMs = 600_000;
/**
 * The longest a record may take to write: a stream's last event waits for it, and a database that
 * hangs (a pool without a statement timeout) must not hold the answer for good.
 */
const recordTimeoutMs = 5_000;

/** What a request refers to of the upstream's stored state: a previous response, and items by reference. */
export interface StoredReferences {
  previousResponseId: string | undefined;
  /** Item ids the request's input names by `item_reference`, with their position in `input`. */
  items: ReadonlyArray<{ id: string; index: number }>;
}

/**
 * Who got each response an upstream stored for the relay, and each of its output items. Every
 * client key reaches the upstream through the relay's own upstream account, so without this a key
 * could continue (and so read) another key's conversation by its id, or name its items by
 * `item_reference`; and a route with deployments on several accounts could send the next turn to an
 * account that never saw the response. A passed-through answer's ids are recorded with its key and
 * provider before the answer ends; a request naming an id another key got is refused as the
 * upstream refuses an unknown one, and one naming ids this key got goes to the provider that holds
 * them. An id the relay never recorded (a response made before the relay recorded them, or made
 * outside it) goes on as it is: the upstream decides. When the store cannot be asked, a request
 * that names any id is refused with a 503 rather than sent unchecked.
 */
export class StoredResponses {
  private prunedAt: number;

  constructor(
    private readonly store: StoredResponseStore,
    private readonly onFailure: StoredResponseFailure,
    private readonly now: () => number = Date.now,
  ) {
    this.prunedAt = now();
  }

  /** Records that `principalId` got the stored ids (a response's, its items') from `provider`. Resolves once the store has them (or failed to take them). */
  async record(ids: readonly string[], principalId: string, provider: string): Promise<void> {
    if (ids.length === 0) return;
    const now = this.now();
    const expiresAt = now + keepMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.store.put(ids.map((id) => ({ id, principalId, provider, expiresAt }))),
        new Promise((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error(`the write took longer than ${recordTimeoutMs} ms`)), recordTimeoutMs);
        }),
      ]);
      if (now - this.prunedAt >= pruneEveryMs) {
        this.prunedAt = now;
        await this.store.prune(now);
      }
    } catch (error) {
      this.onFailure('record', error);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Checks what a request refers to. Returns the provider that holds it (undefined when the relay
   * has no record of any of it). Throws OpenAI's 400 `previous_response_not_found` for another
   * key's previous response, a 400 naming the `input` position for another key's item, and a 503
   * when the store cannot be asked.
   */
  async providerFor(references: StoredReferences, principalId: string): Promise<string | undefined> {
    const ids = references.items.map((item) => item.id);
    if (references.previousResponseId !== undefined) ids.push(references.previousResponseId);
    if (ids.length === 0) return undefined;
    const records = await this.find(ids);
    if (records === undefined) {
      throw new RelayError("The relay cannot check who got the stored responses this request refers to: its database does not answer. Retry shortly, or send the conversation whole in `input`.", {
        status: 503,
        type: 'server_error',
        code: 'stored_responses_unavailable',
        headers: { 'retry-after': '1' },
      });
    }
    const byId = new Map(records.map((record) => [record.id, record]));
    const previous = references.previousResponseId === undefined ? undefined : byId.get(references.previousResponseId);
    if (previous !== undefined && previous.principalId !== principalId) {
      throw new RelayError(`Previous response with id '${previous.id}' not found.`, {
        status: 400,
        type: 'invalid_request_error',
        code: 'previous_response_not_found',
        param: 'previous_response_id',
      });
    }
    let holder = previous?.provider;
    for (const item of references.items) {
      const record = byId.get(item.id);
      if (record === undefined) continue;
      if (record.principalId !== principalId) {
        throw new RelayError(`Item with id '${item.id}' not found.`, {
          status: 400,
          type: 'invalid_request_error',
          code: 'invalid_value',
          param: `input[${item.index}]`,
        });
      }
      holder ??= record.provider;
    }
    return holder;
  }

  /** The provider that holds the stored response `id`, when `principalId` got it (undefined otherwise, or when the store cannot tell). */
  async holder(id: string, principalId: string): Promise<string | undefined> {
    const record = (await this.find([id]))?.[0];
    return record?.principalId === principalId ? record.provider : undefined;
  }

  private async find(ids: readonly string[]): Promise<StoredResponseRecord[] | undefined> {
    try {
      return await this.store.find(ids, this.now());
    } catch (error) {
      this.onFailure('find', error);
      return undefined;
    }
  }
}
