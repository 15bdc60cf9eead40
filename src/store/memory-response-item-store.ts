import type { ResponseItemRecord, ResponseItemStore, StoredResponseRecord, StoredResponseStore } from './relay-store.js';

/** Items of translated Responses API answers in a map, for one process: the same semantics as in SQL. */
export class MemoryResponseItemStore implements ResponseItemStore {
  private readonly items = new Map<string, ResponseItemRecord>();

  async put(records: readonly ResponseItemRecord[]): Promise<void> {
    for (const record of records) this.items.set(record.id, { ...record });
  }

  async find(principalId: string, ids: readonly string[], now: number): Promise<ResponseItemRecord[]> {
    const found: ResponseItemRecord[] = [];
    for (const id of ids) {
      const record = this.items.get(id);
      if (record !== undefined && record.principalId === principalId && record.expiresAt > now) found.push({ ...record });
    }
    return found;
  }

  async prune(now: number): Promise<void> {
    for (const [id, record] of this.items) if (record.expiresAt <= now) this.items.delete(id);
  }
}

/** Who got which stored response, in a map for one process: the same semantics as in SQL. */
export class MemoryStoredResponseStore implements StoredResponseStore {
  private readonly records = new Map<string, StoredResponseRecord>();

  async put(records: readonly StoredResponseRecord[]): Promise<void> {
    for (const record of records) if (!this.records.has(record.id)) this.records.set(record.id, { ...record });
  }

  async find(ids: readonly string[], now: number): Promise<StoredResponseRecord[]> {
    const found: StoredResponseRecord[] = [];
    for (const id of ids) {
      const record = this.records.get(id);
      if (record !== undefined && record.expiresAt > now) found.push({ ...record });
    }
    return found;
  }

  async prune(now: number): Promise<void> {
    for (const [id, record] of this.records) if (record.expiresAt <= now) this.records.delete(id);
  }
}
