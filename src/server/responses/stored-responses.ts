import { RelayError } from '../../spec/relay-error.js';
import type { StoredResponseRecord, StoredResponseStore } from '../../store/relay-store.js';

/** What is told when the store cannot record or be asked (the request itself goes on). */
export type StoredResponseFailure = (action: 'record' | 'find', error: unknown) => void;

/** OpenAI keeps a stored response 30 days: the relay remembers who got it as long. */
const keepMs = 30 * 24 * 3_600_000;
/** Expired records are deleted from the store at most this often. */
const pruneEveryMs = 600_000;

/**
 * Who got each response an upstream stored for the relay. Every client key reaches the upstream
 * through the relay's own upstream account, so without this a key could continue (and so read)
 * another key's conversation by its id; and a route with deployments on several accounts could send
 * the next turn to an account that never saw the response. A passed-through answer's id is recorded
 * with its key and provider before the answer ends; a `previous_response_id` another key got is
 * refused as the upstream refuses an unknown one, and one this key got goes to the provider that
 * holds it. An id the relay never recorded (a response made before the relay recorded them, or made
 * outside it) goes on as it is: the upstream decides.
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

  /** Records that `principalId` got the stored response `id` from `provider`. Resolves once the store has it (or failed to take it). */
  async record(id: string, principalId: string, provider: string): Promise<void> {
    const now = this.now();
    try {
      await this.store.put({ id, principalId, provider, expiresAt: now + keepMs });
      if (now - this.prunedAt >= pruneEveryMs) {
        this.prunedAt = now;
        await this.store.prune(now);
      }
    } catch (error) {
      this.onFailure('record', error);
    }
  }

  /**
   * The provider that holds the response a request continues from (undefined when the relay has no
   * record of it). Throws OpenAI's 400 `previous_response_not_found` when another key got it.
   */
  async providerFor(id: string, principalId: string): Promise<string | undefined> {
    const record = await this.find(id);
    if (record === undefined) return undefined;
    if (record.principalId !== principalId) {
      throw new RelayError(`Previous response with id '${id}' not found.`, {
        status: 400,
        type: 'invalid_request_error',
        code: 'previous_response_not_found',
        param: 'previous_response_id',
      });
    }
    return record.provider;
  }

  /** The provider that holds the stored response `id`, when `principalId` got it (undefined otherwise, or when the store cannot tell). */
  async holder(id: string, principalId: string): Promise<string | undefined> {
    const record = await this.find(id);
    return record?.principalId === principalId ? record.provider : undefined;
  }

  private async find(id: string): Promise<StoredResponseRecord | undefined> {
    try {
      return await this.store.find(id, this.now());
    } catch (error) {
      this.onFailure('find', error);
      return undefined;
    }
  }
}
