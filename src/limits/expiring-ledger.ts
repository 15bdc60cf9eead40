/** Names one entry of an `ExpiringLedger`, to change or remove it later. */
export type EntryHandle = number;

interface Straggler {
  handle: EntryHandle;
  amount: number;
  deadline: number;
  removed: boolean;
}

/**
 * Amounts that each stop counting at their own deadline: the entries of a sliding window (deadline
 * = reserved at + 60 s) or the holds of a concurrency counter (deadline = the reservation's expiry).
 * Exact to the millisecond, and small: a busy key's window holds one entry per request of the last
 * minute, so entries are two numbers in typed arrays (16 bytes), not objects in a map. The caller
 * keeps the handle `add` returns (the reservation does) instead of the ledger indexing entries by id.
 *
 * Deadlines almost always arrive in order (now + a fixed span), so entries live in a ring addressed
 * by sequence number: expiring walks only the front, the running total makes reading O(1), and
 * removal marks the slot. An entry whose deadline is earlier than the last one (the clock stepped
 * back) goes to a short sorted list of its own, so the ledger stays exact whatever the clock does.
 */
export class ExpiringLedger {
  private deadlines = new Float64Array(16);
  private amounts = new Float64Array(16);
  private mask = 15;
  /**
   * Sequence numbers: `first` is the oldest entry still in the ring, `next` the one `add` uses. They
   * only grow, so a handle whose entry has expired never names another entry.
   */
  private first = 0;
  private next = 0;
  private lastDeadline = Number.NEGATIVE_INFINITY;
  private stragglers: Straggler[] = [];
  private readonly stragglerByHandle = new Map<EntryHandle, Straggler>();
  private nextStragglerHandle = -1;
  private sum = 0;
  private live = 0;

  /** The sum of live amounts (call `expire` first). */
  get total(): number {
    return this.sum;
  }

  get isEmpty(): boolean {
    return this.live === 0;
  }

  /** Adds an entry; the handle changes or removes it until it expires. */
  add(amount: number, deadline: number): EntryHandle {
    this.sum += amount;
    this.live++;
    if (deadline < this.lastDeadline) return this.addStraggler(amount, deadline);
    this.lastDeadline = deadline;
    if (this.next - this.first > this.mask) this.grow();
    const slot = this.next & this.mask;
    this.deadlines[slot] = deadline;
    this.amounts[slot] = amount;
    return this.next++;
  }

  /** Drops every entry whose deadline is at or before `now`. */
  expire(now: number): void {
    while (this.first < this.next) {
      const slot = this.first & this.mask;
      if ((this.deadlines[slot] as number) > now) break;
      this.forget(this.amounts[slot] as number);
      this.first++;
    }
    if (this.stragglers.length > 0) this.expireStragglers(now);
  }

  amountOf(handle: EntryHandle): number | undefined {
    if (handle < 0) {
      const straggler = this.stragglerByHandle.get(handle);
      return straggler === undefined || straggler.removed ? undefined : straggler.amount;
    }
    if (!this.holds(handle)) return undefined;
    const amount = this.amounts[handle & this.mask] as number;
    return Number.isNaN(amount) ? undefined : amount;
  }

  setAmount(handle: EntryHandle, amount: number): void {
    const current = this.amountOf(handle);
    if (current === undefined) return;
    this.sum += amount - current;
    if (handle < 0) (this.stragglerByHandle.get(handle) as Straggler).amount = amount;
    else this.amounts[handle & this.mask] = amount;
  }

  /** Removes an entry; false when it was not there (removed before, or expired). */
  remove(handle: EntryHandle): boolean {
    const current = this.amountOf(handle);
    if (current === undefined) return false;
    this.forget(current);
    if (handle < 0) (this.stragglerByHandle.get(handle) as Straggler).removed = true;
    else this.amounts[handle & this.mask] = Number.NaN;
    return true;
  }

  /**
   * Milliseconds from `now` until at least `excess` of the total has expired, or undefined when the
   * live entries do not add up to `excess`.
   */
  timeUntilFreed(now: number, excess: number): number | undefined {
    let freed = 0;
    let sequence = this.first;
    let index = 0;
    // Both lists are in deadline order: walk them as one.
    while (sequence < this.next || index < this.stragglers.length) {
      const straggler = this.stragglers[index];
      const ringDeadline = sequence < this.next ? (this.deadlines[sequence & this.mask] as number) : Number.POSITIVE_INFINITY;
      let amount: number;
      let deadline: number;
      if (straggler !== undefined && straggler.deadline < ringDeadline) {
        index++;
        if (straggler.removed) continue;
        amount = straggler.amount;
        deadline = straggler.deadline;
      } else {
        amount = this.amounts[sequence & this.mask] as number;
        deadline = ringDeadline;
        sequence++;
        if (Number.isNaN(amount)) continue;
      }
      freed += amount;
      if (freed >= excess) return deadline - now;
    }
    return undefined;
  }

  private holds(handle: EntryHandle): boolean {
    return handle >= this.first && handle < this.next;
  }

  /** Counts an entry out of the total, unless it was removed before (NaN). */
  private forget(amount: number): void {
    if (Number.isNaN(amount)) return;
    this.sum -= amount;
    this.live--;
  }

  private grow(): void {
    const capacity = (this.mask + 1) * 2;
    const deadlines = new Float64Array(capacity);
    const amounts = new Float64Array(capacity);
    for (let sequence = this.first; sequence < this.next; sequence++) {
      deadlines[sequence & (capacity - 1)] = this.deadlines[sequence & this.mask] as number;
      amounts[sequence & (capacity - 1)] = this.amounts[sequence & this.mask] as number;
    }
    this.deadlines = deadlines;
    this.amounts = amounts;
    this.mask = capacity - 1;
  }

  private addStraggler(amount: number, deadline: number): EntryHandle {
    const straggler: Straggler = { handle: this.nextStragglerHandle--, amount, deadline, removed: false };
    let low = 0;
    let high = this.stragglers.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.stragglers[middle] as Straggler).deadline <= deadline) low = middle + 1;
      else high = middle;
    }
    this.stragglers.splice(low, 0, straggler);
    this.stragglerByHandle.set(straggler.handle, straggler);
    return straggler.handle;
  }

  private expireStragglers(now: number): void {
    let count = 0;
    for (const straggler of this.stragglers) {
      if (straggler.deadline > now) break;
      if (!straggler.removed) this.forget(straggler.amount);
      this.stragglerByHandle.delete(straggler.handle);
      count++;
    }
    if (count > 0) this.stragglers.splice(0, count);
  }
}
