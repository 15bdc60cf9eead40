interface LedgerEntry {
  id: string;
  amount: number;
  deadline: number;
  removed: boolean;
}

/**
 * Amounts that each stop counting at their own deadline: the entries of a sliding window (deadline
 * = reserved at + 60 s) or the holds of a concurrency counter (deadline = the reservation's expiry).
 * Entries are kept sorted by deadline, so expiring them and finding when capacity frees up walk
 * only the front; the running total makes reading the usage O(1). Removal by id is lazy (the entry
 * is marked and skipped), which keeps settle and release O(1).
 */
export class ExpiringLedger {
  private entries: LedgerEntry[] = [];
  private head = 0;
  private readonly byId = new Map<string, LedgerEntry>();
  private sum = 0;

  /** The sum of live amounts (call `expire` first). */
  get total(): number {
    return this.sum;
  }

  get isEmpty(): boolean {
    return this.byId.size === 0;
  }

  /** Adds an entry, replacing one with the same id. */
  add(id: string, amount: number, deadline: number): void {
    this.remove(id);
    const entry: LedgerEntry = { id, amount, deadline, removed: false };
    // Deadlines mostly arrive in order, so the search usually ends at the last slot.
    let low = this.head;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.entries[middle] as LedgerEntry).deadline <= deadline) low = middle + 1;
      else high = middle;
    }
    if (low === this.entries.length) this.entries.push(entry);
    else this.entries.splice(low, 0, entry);
    this.byId.set(id, entry);
    this.sum += amount;
  }

  /** Drops every entry whose deadline is at or before `now`. */
  expire(now: number): void {
    while (this.head < this.entries.length) {
      const entry = this.entries[this.head] as LedgerEntry;
      if (!entry.removed && entry.deadline > now) break;
      if (!entry.removed) this.forget(entry);
      this.head++;
    }
    this.compact();
  }

  amountOf(id: string): number | undefined {
    return this.byId.get(id)?.amount;
  }

  setAmount(id: string, amount: number): void {
    const entry = this.byId.get(id);
    if (entry === undefined) return;
    this.sum += amount - entry.amount;
    entry.amount = amount;
  }

  /** Removes an entry; false when there was none. */
  remove(id: string): boolean {
    const entry = this.byId.get(id);
    if (entry === undefined) return false;
    this.forget(entry);
    this.compact();
    return true;
  }

  /**
   * Milliseconds from `now` until at least `excess` of the total has expired, or undefined when the
   * live entries do not add up to `excess`.
   */
  timeUntilFreed(now: number, excess: number): number | undefined {
    let freed = 0;
    for (let index = this.head; index < this.entries.length; index++) {
      const entry = this.entries[index] as LedgerEntry;
      if (entry.removed) continue;
      freed += entry.amount;
      if (freed >= excess) return entry.deadline - now;
    }
    return undefined;
  }

  private forget(entry: LedgerEntry): void {
    entry.removed = true;
    this.sum -= entry.amount;
    this.byId.delete(entry.id);
  }

  /** Rebuilds the array once most of it is dead, so memory follows the live entries. */
  private compact(): void {
    const dead = this.entries.length - this.byId.size;
    if (dead < 64 || dead * 2 < this.entries.length) return;
    this.entries = this.entries.slice(this.head).filter((entry) => !entry.removed);
    this.head = 0;
  }
}
